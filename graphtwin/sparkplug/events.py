"""What the host session tells the runtime: value updates, staleness, actions.

Plain frozen dataclasses so the runtime can ``match`` on them and tests can compare
them. A metric is identified everywhere by ``MetricKey`` = (group, edge node,
device or None for node-level metrics, metric name), the same key bindings use.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtwin.sparkplug.datatypes import Scalar
from graphtwin.sparkplug.topic import MessageType, SparkplugTopic


@dataclass(frozen=True, order=True)
class MetricKey:
    group: str
    edge_node: str
    device: str | None
    name: str


@dataclass(frozen=True)
class MetricUpdate:
    """A new value (or an explicit null) for one metric, from a birth or DATA message."""

    group: str
    edge_node: str
    device: str | None
    name: str
    value: Scalar
    timestamp_ms: int | None
    is_null: bool = False
    datatype: int | None = None
    # Store-and-forward data: a past value, not the current one.
    is_historical: bool = False

    @property
    def key(self) -> MetricKey:
        return MetricKey(self.group, self.edge_node, self.device, self.name)


@dataclass(frozen=True)
class MetricsStale:
    """These metrics' last values are no longer backed by a live session."""

    group: str
    edge_node: str
    device: str | None
    names: tuple[str, ...]
    reason: str = ""

    @property
    def keys(self) -> tuple[MetricKey, ...]:
        return tuple(MetricKey(self.group, self.edge_node, self.device, n) for n in self.names)


@dataclass(frozen=True)
class StatusChange:
    """An edge node (``device=None``) or a device went online or offline."""

    group: str
    edge_node: str
    device: str | None
    online: bool
    reason: str = ""


@dataclass(frozen=True)
class RequestRebirth:
    """Action: publish ``encode_ncmd_rebirth()`` to ``self.topic`` (QoS 0)."""

    group: str
    edge_node: str
    reason: str

    @property
    def topic(self) -> str:
        return str(SparkplugTopic(self.group, MessageType.NCMD, self.edge_node))


@dataclass(frozen=True)
class Malformed:
    """A message, or one metric of it, that could not be used; counted in the stats."""

    topic: str
    reason: str


Event = MetricUpdate | MetricsStale | StatusChange | RequestRebirth | Malformed
