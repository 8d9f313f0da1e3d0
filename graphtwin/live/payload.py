"""Decoding MQTT payloads: JSON with a value path, or plain text.

``decode`` returns the raw value and the source time the payload carries (None
when it carries none). Anything malformed raises :class:`PayloadRefused` with a
short reason the runtime logs and counts against the binding.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from graphtwin.live.bindings import MqttSource

MAX_PAYLOAD_BYTES = 256 * 1024


class PayloadRefused(ValueError):
    pass


# Bindings are few and their paths fixed; messages are many: split each path once.
@lru_cache(maxsize=4096)
def _path(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.removeprefix("$").removeprefix(".").split(".") if p)


def select(document: Any, path: str) -> Any:
    """The value at a dotted path (``data.temp``, ``readings.0.v``)."""
    steps = _path(path)
    if len(steps) == 1 and type(document) is dict and steps[0] in document:
        return document[steps[0]]  # the usual layout: a key of a flat object
    node = document
    for step in steps:
        if isinstance(node, dict):
            if step not in node:
                raise PayloadRefused(f"no {step!r} at {path!r}")
            node = node[step]
        elif isinstance(node, list) and step.lstrip("-").isdigit():
            index = int(step)
            if not -len(node) <= index < len(node):
                raise PayloadRefused(f"index {index} out of range at {path!r}")
            node = node[index]
        else:
            raise PayloadRefused(f"cannot step into {type(node).__name__} at {path!r}")
    return node


def parse_time(raw: Any) -> datetime:
    """ISO 8601 text or epoch milliseconds (numbers) as an aware UTC datetime."""
    if isinstance(raw, bool):
        raise PayloadRefused("timestamp is a boolean")
    if isinstance(raw, (int, float)):
        try:
            return datetime.fromtimestamp(raw / 1000.0, UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadRefused(f"timestamp out of range: {raw}") from None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise PayloadRefused(f"not an ISO 8601 timestamp: {raw[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    raise PayloadRefused(f"timestamp is a {type(raw).__name__}")


def parse_json(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRefused(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadRefused(f"invalid JSON: {exc}") from None


def top_level_key(path: str) -> str | None:
    """The key when ``path`` names a key of the top-level object (the common layout),
    else None."""
    steps = _path(path)
    return steps[0] if len(steps) == 1 else None


def json_time(document: Any, path: str, times: dict[str, datetime] | None = None) -> datetime:
    """The timestamp at ``path``; ``times`` keeps those already parsed, by path."""
    stamp = times.get(path) if times is not None else None
    if stamp is None:
        stamp = parse_time(select(document, path))
        if times is not None:
            times[path] = stamp
    return stamp


def decode(
    payload: bytes,
    source: MqttSource,
    document: Any = None,
    times: dict[str, datetime] | None = None,
) -> tuple[Any, datetime | None]:
    """(raw value, source time or None) for one message on a binding.

    ``document`` is the already parsed JSON and ``times`` the timestamps already
    parsed from it, by path, when several bindings share a topic (one JSON object
    per machine carries many values and one timestamp).
    """
    if source.payload_format == "json":
        if document is None:
            document = parse_json(payload)
        value = select(document, source.value_path or "value")
        path = source.timestamp_path
        stamp = json_time(document, path, times) if path else None
        if isinstance(value, (dict, list)):
            raise PayloadRefused(f"value at {source.value_path!r} is not a scalar")
        return value, stamp
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRefused(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadRefused("payload is not UTF-8 text") from None
    if source.payload_format == "number":
        try:
            return (int(text) if text.lstrip("+-").isdigit() else float(text)), None
        except ValueError:
            raise PayloadRefused(f"not a number: {text[:40]!r}") from None
    return text, None
