"""Live values: what a bound property carries besides its number.

Every value that reaches graphtwin from a field source (OPC UA, MQTT, Sparkplug B)
becomes a :class:`Sample`: the value itself, the time the source says it was
measured, the time graphtwin received it, and an OPC UA style quality. The live
cache, the history store and the GraphQL API all speak in samples, so this module
sits at the bottom of the layers with no dependencies of its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

# A bound property is addressed by the asset's IRI and the property's IRI.
PropertyKey = tuple[str, str]

Scalar = float | int | bool | str


class Quality(enum.Enum):
    """Quality of a live value, after OPC UA's status code classes.

    ``STALE`` is graphtwin's own: the last good value is kept, but its source is
    gone (connection lost, Sparkplug NDEATH) or silent for longer than the
    binding's expected update period.
    """

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"
    STALE = "stale"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Sample:
    """One accepted value of one bound property."""

    key: PropertyKey
    value: Scalar | None
    source_time: datetime
    server_time: datetime
    quality: Quality = Quality.GOOD

    @property
    def asset(self) -> str:
        return self.key[0]

    @property
    def property(self) -> str:
        return self.key[1]

    def with_quality(self, quality: Quality, server_time: datetime | None = None) -> Sample:
        """The same value under another quality (for example marked stale)."""
        return Sample(self.key, self.value, self.source_time, server_time or utcnow(), quality)
