"""Secrets for sources, kept out of the graph.

A binding names a credential (``gtb:credential "line1-plc"``); the entry lives in
a JSON file next to the data (``<data dir>/credentials.json`` unless
``GRAPHTWIN_CREDENTIALS_FILE`` says otherwise), readable by the server only::

    {
      "line1-plc": {
        "username": "graphtwin", "password": "...",
        "certificate": "/etc/graphtwin/client-cert.der",
        "private_key": "/etc/graphtwin/client-key.pem",
        "server_certificate": "/etc/graphtwin/plc1-cert.der"
      },
      "plant-broker": {"username": "graphtwin", "password": "..."}
    }

``server_certificate`` is the OPC UA server certificate to trust; without it, a
secured OPC UA connection is refused rather than trusting whatever the server
presents. ``trust_any_server`` true turns that check off explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from graphtwin.errors import BadInput


@dataclass(frozen=True)
class Credential:
    name: str
    username: str | None = None
    password: str | None = None
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None
    trust_any_server: bool = False


class CredentialStore:
    def __init__(self, entries: dict[str, Credential] | None = None) -> None:
        self.entries = dict(entries or {})

    @classmethod
    def load(cls, path: Path | None) -> CredentialStore:
        """:raises BadInput: the file exists but is not a JSON object of entries."""
        if path is None or not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"credentials file {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise BadInput(f"credentials file {path}: expected a JSON object of named entries")
        entries = {}
        for name, entry in raw.items():
            if not isinstance(entry, dict):
                raise BadInput(f"credentials file {path}: entry {name!r} is not an object")

            def _path(key: str, entry: dict[str, object] = entry) -> Path | None:
                value = entry.get(key)
                return Path(str(value)) if value else None

            entries[name] = Credential(
                name=name,
                username=_opt(entry.get("username")),
                password=_opt(entry.get("password")),
                certificate=_path("certificate"),
                private_key=_path("private_key"),
                server_certificate=_path("server_certificate"),
                trust_any_server=bool(entry.get("trust_any_server", False)),
            )
        return cls(entries)

    def get(self, name: str | None) -> Credential | None:
        """:raises BadInput: a binding names a credential that is not in the file."""
        if name is None:
            return None
        found = self.entries.get(name)
        if found is None:
            raise BadInput(f"credential {name!r} is not in the credentials file")
        return found


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
