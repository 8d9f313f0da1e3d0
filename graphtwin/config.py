"""Configuration from ``GRAPHTWIN_*`` environment variables (flags override them).

Every setting is documented in the README's configuration table; keep both in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# The repository root when running from a checkout; ontologies/ and shapes/ live there.
_PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_NAMESPACES = ("https://acme.example/",)
DEFAULT_VIEW_CACHE_SIZE = 10_000


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".graphtwin")
    host: str = "127.0.0.1"
    port: int = 8000
    # Production engine; when unset, graphtwin starts the embedded ArcadeDB.
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    arcadedb_heap: str = "1g"
    ontology_dir: Path = _PROJECT_ROOT / "ontologies"
    shapes_dir: Path = _PROJECT_ROOT / "shapes"
    # IRIs a write may create; anything else is rejected before it reaches SHACL.
    namespaces: tuple[str, ...] = DEFAULT_NAMESPACES
    dev: bool = True
    max_upload_bytes: int = 50 * 1024 * 1024
    max_query_depth: int = 12
    max_query_aliases: int = 50
    max_query_tokens: int = 4000
    log_level: str = "INFO"
    # Live data: the default broker of bindings that name none, the client id that
    # keeps graphtwin's persistent MQTT session, optional MQTT 5 shared
    # subscription group, graph flush interval, history retention.
    mqtt_url: str | None = "mqtt://127.0.0.1:1883"
    mqtt_client_id: str = "graphtwin"
    mqtt_share_group: str | None = None
    flush_interval: float = 1.0
    history_retention_days: float | None = 90.0
    # Where binding credentials (gtb:credential) are looked up; default in data_dir.
    credentials_file: Path | None = None
    live: bool = True
    # Port of the demo OPC UA server that serve --demo starts (0: any free port).
    demo_opcua_port: int = 4840
    # When set, serve --demo binds to this OPC UA server (e.g. the compose service)
    # instead of starting its own.
    demo_opcua_endpoint: str | None = None
    # Worker processes for simulation replications (0: one per CPU core).
    sim_workers: int = 0
    # Resource views kept across requests (0: none). Unset: 10,000 on the embedded
    # engine, whose only writer is this process; none on Neo4j, which others may
    # write behind graphtwin's back (a cached view would not see their changes).
    view_cache_size: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return not self.neo4j_uri

    @property
    def view_cache_views(self) -> int:
        if self.view_cache_size is not None:
            return max(0, self.view_cache_size)
        return DEFAULT_VIEW_CACHE_SIZE if self.embedded else 0

    def with_overrides(self, **changes: Any) -> Settings:
        """Flags win over the environment: only values that were given are applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_PARSERS: dict[str, tuple[str, Any]] = {
    "DATA_DIR": ("data_dir", Path),
    "HOST": ("host", str),
    "PORT": ("port", int),
    "NEO4J_URI": ("neo4j_uri", str),
    "NEO4J_USER": ("neo4j_user", str),
    "NEO4J_PASSWORD": ("neo4j_password", str),
    "NEO4J_DATABASE": ("neo4j_database", str),
    "ARCADEDB_HEAP": ("arcadedb_heap", str),
    "ONTOLOGY_DIR": ("ontology_dir", Path),
    "SHAPES_DIR": ("shapes_dir", Path),
    "NAMESPACES": ("namespaces", _csv),
    "DEV": ("dev", _bool),
    "MAX_UPLOAD_BYTES": ("max_upload_bytes", int),
    "MAX_QUERY_DEPTH": ("max_query_depth", int),
    "MAX_QUERY_ALIASES": ("max_query_aliases", int),
    "MAX_QUERY_TOKENS": ("max_query_tokens", int),
    "LOG_LEVEL": ("log_level", str),
    "MQTT_URL": ("mqtt_url", str),
    "MQTT_CLIENT_ID": ("mqtt_client_id", str),
    "MQTT_SHARE_GROUP": ("mqtt_share_group", str),
    "FLUSH_INTERVAL": ("flush_interval", float),
    "HISTORY_RETENTION_DAYS": ("history_retention_days", float),
    "CREDENTIALS_FILE": ("credentials_file", Path),
    "LIVE": ("live", _bool),
    "DEMO_OPCUA_PORT": ("demo_opcua_port", int),
    "DEMO_OPCUA_ENDPOINT": ("demo_opcua_endpoint", str),
    "SIM_WORKERS": ("sim_workers", int),
    "VIEW_CACHE_SIZE": ("view_cache_size", int),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``GRAPHTWIN_*`` variables.

    :raises ValueError: a variable holds a value of the wrong kind (say, a port
        that is not a number); the message names the variable.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for suffix, (name, parse) in _PARSERS.items():
        raw = env.get(f"GRAPHTWIN_{suffix}")
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            raise ValueError(f"GRAPHTWIN_{suffix}={raw!r}: {exc}") from exc
    return Settings(**values)
