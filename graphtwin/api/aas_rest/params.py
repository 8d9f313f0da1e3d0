"""Query parameters shared by the routes: ``level``, ``extent``, booleans, ``limit``.

Every value is checked: an unknown ``level`` or a ``limit`` below 1 is a 400 with
the error result, never silently ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from graphtwin.errors import BadInput

E = TypeVar("E", bound=enum.Enum)


class Level(enum.Enum):
    """How deep a resource is serialized (Part 2 §11.3)."""

    DEEP = "deep"
    CORE = "core"


class Extent(enum.Enum):
    """Whether Blob values are serialized; the specification's default is without."""

    WITH_BLOB_VALUE = "withBlobValue"
    WITHOUT_BLOB_VALUE = "withoutBlobValue"


@dataclass(frozen=True)
class Modifiers:
    level: Level = Level.DEEP
    extent: Extent = Extent.WITHOUT_BLOB_VALUE

    @property
    def deep(self) -> bool:
        return self.level is Level.DEEP

    @property
    def with_blobs(self) -> bool:
        return self.extent is Extent.WITH_BLOB_VALUE


def _enum(kind: type[E], query: Mapping[str, str], name: str, default: E) -> E:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise BadInput(f"{name} must be one of {allowed}, not {raw[:40]!r}") from None


def modifiers(query: Mapping[str, str]) -> Modifiers:
    """``level`` and ``extent`` from the query string.

    :raises BadInput: either has a value outside its enumeration.
    """
    return Modifiers(
        level=_enum(Level, query, "level", Level.DEEP),
        extent=_enum(Extent, query, "extent", Extent.WITHOUT_BLOB_VALUE),
    )


def boolean(query: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean query parameter; case-insensitive (clients send ``True``).

    :raises BadInput: neither true nor false.
    """
    raw = query.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise BadInput(f"{name} must be true or false, not {raw[:40]!r}")
    return lowered == "true"


def limit(query: Mapping[str, str]) -> int | None:
    """The page size, or None for everything.

    :raises BadInput: not an integer >= 1.
    """
    raw = query.get("limit")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"limit must be an integer, not {raw[:40]!r}") from None
    if value < 1:
        raise BadInput(f"limit must be at least 1, not {value}")
    return value
