"""The host-application side of Sparkplug B sessions, as a pure state machine.

``SparkplugHost`` is fed decoded messages and returns events (values, staleness,
online/offline) and actions (rebirth requests) for the runtime to carry out. It
does no I/O and reads time only through the injected monotonic ``now``, so every
rule below is testable without a broker or sleeping. It is not thread-safe: one
consumer feeds it.

Rules, per edge node ``(group, edge_node)``:

* NBIRTH opens a session: its metrics define the node's name/alias/datatype map,
  its ``bdSeq`` identifies the MQTT session, its ``seq`` (normally 0) restarts the
  sequence. Device births of an earlier session are forgotten; the devices
  re-announce themselves with DBIRTH.
* Every other message of the node (DBIRTH, NDATA, DDATA, DDEATH) carries ``seq``
  0..255, incrementing across node *and* devices and wrapping 255 -> 0. A message
  ahead of the expected seq is held; if the missing ones arrive within
  ``reorder_timeout`` the held messages are released in order, otherwise they are
  dropped, the node's values are marked stale and a rebirth is requested. Until
  the next NBIRTH, the node's messages are ignored.
* NDEATH counts only when its ``bdSeq`` matches the NBIRTH's (an NDEATH with an
  older bdSeq is the delayed will of a previous connection).
* A message that cannot be interpreted in the current session (data before a
  birth, an unknown alias or device) asks for a rebirth, since that is how a host
  re-learns an edge node's metrics. Rebirth requests are rate-limited to one per
  node per ``rebirth_retry`` seconds until an NBIRTH arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from graphtwin.errors import BadInput
from graphtwin.sparkplug.datatypes import coerce
from graphtwin.sparkplug.events import (
    Event,
    Malformed,
    MetricKey,
    MetricsStale,
    MetricUpdate,
    RequestRebirth,
    StatusChange,
)
from graphtwin.sparkplug.payload import (
    BD_SEQ,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DecodedPayload,
    MetricValue,
    decode_payload,
)
from graphtwin.sparkplug.topic import MessageType, SparkplugTopic, parse_topic

log = logging.getLogger(__name__)

SEQ_MODULO = 256
DEFAULT_REORDER_TIMEOUT = 2.0

# Messages that do not belong to an edge node's session (commands go *to* nodes,
# STATE is another host's) are accepted and ignored.
_IGNORED = frozenset({MessageType.NCMD, MessageType.DCMD, MessageType.STATE})


@dataclass(frozen=True)
class _MetricDef:
    name: str
    datatype: int | None
    supported: bool


@dataclass
class _Birth:
    """What one birth certificate (NBIRTH or DBIRTH) declared, and its liveness."""

    by_name: dict[str, _MetricDef] = field(default_factory=dict)
    by_alias: dict[int, _MetricDef] = field(default_factory=dict)
    online: bool = False
    stale: bool = False

    @classmethod
    def from_metrics(cls, metrics: Iterable[MetricValue]) -> _Birth:
        birth = cls(online=True)
        for metric in metrics:
            if metric.name is None:
                continue
            definition = _MetricDef(metric.name, metric.datatype, metric.supported)
            birth.by_name[metric.name] = definition
            if metric.alias is not None:
                birth.by_alias[metric.alias] = definition
        return birth

    def value_names(self) -> tuple[str, ...]:
        return tuple(name for name, d in self.by_name.items() if d.supported)


@dataclass
class _Node:
    born: bool = False
    bd_seq: int | None = None
    metrics: _Birth = field(default_factory=_Birth)
    devices: dict[str, _Birth] = field(default_factory=dict)
    expected_seq: int = 0
    held: dict[int, tuple[SparkplugTopic, DecodedPayload]] = field(default_factory=dict)
    gap_since: float | None = None
    # Sequence lost: ignore the node's messages until its next NBIRTH.
    awaiting_birth: bool = False
    rebirth_requested_at: float | None = None


@dataclass
class HostStats:
    messages: int = 0
    malformed: int = 0
    gaps: int = 0
    reordered: int = 0
    sequence_losses: int = 0
    rebirth_requests: int = 0
    stale_deaths_ignored: int = 0


class SparkplugHost:
    """Sparkplug B host-application session state for any number of edge nodes."""

    def __init__(
        self,
        *,
        now: Callable[[], float] = time.monotonic,
        reorder_timeout: float = DEFAULT_REORDER_TIMEOUT,
        rebirth_retry: float | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self._now = now
        self.reorder_timeout = reorder_timeout
        self.rebirth_retry = reorder_timeout if rebirth_retry is None else rebirth_retry
        self.max_payload_bytes = max_payload_bytes
        self.stats = HostStats()
        self._nodes: dict[tuple[str, str], _Node] = {}

    # --- queries -----------------------------------------------------------------

    def is_online(self, group: str, edge_node: str, device: str | None = None) -> bool:
        node = self._nodes.get((group, edge_node))
        if node is None or not node.born:
            return False
        birth = node.metrics if device is None else node.devices.get(device)
        return birth is not None and birth.online

    def is_stale(self, group: str, edge_node: str, device: str | None = None) -> bool:
        """True when the node/device was born but its values are no longer live."""
        node = self._nodes.get((group, edge_node))
        if node is None:
            return False
        birth = node.metrics if device is None else node.devices.get(device)
        return birth is not None and birth.stale

    def metric_names(self, group: str, edge_node: str, device: str | None = None) -> list[str]:
        """Metrics declared by the current birth of the node (``device=None``) or device."""
        node = self._nodes.get((group, edge_node))
        if node is None or not node.born:
            return []
        birth = node.metrics if device is None else node.devices.get(device)
        return [] if birth is None else list(birth.value_names())

    def known_metrics(self) -> list[MetricKey]:
        """Every metric of every currently born node and device, sorted."""
        keys: list[MetricKey] = []
        for (group, edge_node), node in self._nodes.items():
            if not node.born:
                continue
            keys.extend(MetricKey(group, edge_node, None, n) for n in node.metrics.value_names())
            for device, birth in node.devices.items():
                keys.extend(MetricKey(group, edge_node, device, n) for n in birth.value_names())
        return sorted(keys, key=lambda k: (k.group, k.edge_node, k.device or "", k.name))

    # --- input -------------------------------------------------------------------

    def handle_raw(self, topic: str, data: bytes) -> list[Event]:
        """Parse and decode an MQTT message, then ``handle`` it; bad input becomes ``Malformed``."""
        try:
            parsed = parse_topic(topic)
            payload = decode_payload(data, max_bytes=self.max_payload_bytes)
        except BadInput as exc:
            self.stats.messages += 1
            return [*self.tick(), self._malformed(topic, exc.message)]
        return self.handle(parsed, payload)

    def handle(self, topic: SparkplugTopic, payload: DecodedPayload) -> list[Event]:
        """Feed one decoded message; returns the resulting events and actions, in order."""
        self.stats.messages += 1
        events = self.tick()
        if topic.kind in _IGNORED:
            return events
        node = self._nodes.setdefault(topic.node, _Node())
        if topic.kind is MessageType.NBIRTH:
            events += self._nbirth(node, topic, payload)
        elif topic.kind is MessageType.NDEATH:
            events += self._ndeath(node, topic, payload)
        else:
            events += self._sequenced(node, topic, payload)
        return events

    def tick(self) -> list[Event]:
        """Expire reorder windows; call periodically (and ``handle`` calls it too)."""
        now = self._now()
        events: list[Event] = []
        for (group, edge_node), node in self._nodes.items():
            if node.gap_since is not None and now - node.gap_since >= self.reorder_timeout:
                missing = node.expected_seq
                events += self._lose_sequence(
                    node, group, edge_node, f"seq {missing} missing for {self.reorder_timeout}s"
                )
        return events

    # --- node lifecycle ----------------------------------------------------------

    def _nbirth(self, node: _Node, topic: SparkplugTopic, payload: DecodedPayload) -> list[Event]:
        group, edge_node = topic.node
        events: list[Event] = []
        for device in list(node.devices):
            events += self._device_offline(node, group, edge_node, device, "new NBIRTH")
        node.devices.clear()
        bd_seq = payload.metric(BD_SEQ)
        node.bd_seq = bd_seq.value if bd_seq is not None and type(bd_seq.value) is int else None
        if node.bd_seq is None:
            log.warning("NBIRTH of %s/%s has no integer bdSeq metric", group, edge_node)
        seq = payload.seq if payload.seq is not None else 0
        node.born = True
        node.metrics = _Birth.from_metrics(payload.metrics)
        node.expected_seq = (seq + 1) % SEQ_MODULO
        node.held.clear()
        node.gap_since = None
        node.awaiting_birth = False
        node.rebirth_requested_at = None
        events.append(StatusChange(group, edge_node, None, online=True, reason="NBIRTH"))
        events += self._birth_values(topic, payload)
        return events

    def _ndeath(self, node: _Node, topic: SparkplugTopic, payload: DecodedPayload) -> list[Event]:
        group, edge_node = topic.node
        metric = payload.metric(BD_SEQ)
        bd_seq = metric.value if metric is not None else None
        if not node.born:
            log.debug("NDEATH of %s/%s, which is not online: ignored", group, edge_node)
            return []
        if node.bd_seq is not None and bd_seq != node.bd_seq:
            # The will of an earlier connection, delivered after the new NBIRTH.
            self.stats.stale_deaths_ignored += 1
            log.info(
                "NDEATH of %s/%s with bdSeq %r, current session is %r: ignored",
                group,
                edge_node,
                bd_seq,
                node.bd_seq,
            )
            return []
        events: list[Event] = []
        for device in list(node.devices):
            events += self._device_offline(node, group, edge_node, device, "NDEATH")
        node.devices.clear()
        events.append(StatusChange(group, edge_node, None, online=False, reason="NDEATH"))
        events += self._mark_stale(node.metrics, group, edge_node, None, "NDEATH")
        node.metrics.online = False
        node.born = False
        node.held.clear()
        node.gap_since = None
        node.awaiting_birth = False
        node.rebirth_requested_at = None
        return events

    # --- sequencing --------------------------------------------------------------

    def _sequenced(
        self, node: _Node, topic: SparkplugTopic, payload: DecodedPayload
    ) -> list[Event]:
        group, edge_node = topic.node
        if not node.born:
            log.debug("%s before NBIRTH: ignored", topic)
            return self._request_rebirth(node, group, edge_node, f"{topic.kind} before NBIRTH")
        if node.awaiting_birth:
            return self._request_rebirth(
                node, group, edge_node, "waiting for NBIRTH after seq loss"
            )
        seq = payload.seq
        if seq is None or not 0 <= seq < SEQ_MODULO:
            return [self._malformed(str(topic), f"missing or invalid seq {seq!r}")]
        if seq != node.expected_seq:
            return self._hold(node, topic, payload, seq)
        events = self._apply(node, topic, payload)
        node.expected_seq = (seq + 1) % SEQ_MODULO
        while node.expected_seq in node.held:
            held_topic, held_payload = node.held.pop(node.expected_seq)
            self.stats.reordered += 1
            events += self._apply(node, held_topic, held_payload)
            node.expected_seq = (node.expected_seq + 1) % SEQ_MODULO
        # Anything still held waits behind a new gap; its window starts now.
        node.gap_since = self._now() if node.held else None
        return events

    def _hold(
        self, node: _Node, topic: SparkplugTopic, payload: DecodedPayload, seq: int
    ) -> list[Event]:
        group, edge_node = topic.node
        if seq in node.held:
            # The seq space wrapped while waiting (or a duplicate): order is unrecoverable.
            return self._lose_sequence(node, group, edge_node, f"seq {seq} seen twice in a gap")
        if node.gap_since is None:
            node.gap_since = self._now()
            self.stats.gaps += 1
            log.info(
                "%s/%s: expected seq %d, got %d; holding", group, edge_node, node.expected_seq, seq
            )
        node.held[seq] = (topic, payload)
        return []

    def _lose_sequence(self, node: _Node, group: str, edge_node: str, reason: str) -> list[Event]:
        log.warning("%s/%s: sequence lost (%s); requesting rebirth", group, edge_node, reason)
        self.stats.sequence_losses += 1
        node.held.clear()
        node.gap_since = None
        node.awaiting_birth = True
        events = self._mark_stale(node.metrics, group, edge_node, None, reason)
        for device, birth in node.devices.items():
            events += self._mark_stale(birth, group, edge_node, device, reason)
        # A new loss is a new reason to ask, even if an earlier request is pending.
        node.rebirth_requested_at = None
        return events + self._request_rebirth(node, group, edge_node, reason)

    def _request_rebirth(self, node: _Node, group: str, edge_node: str, reason: str) -> list[Event]:
        now = self._now()
        pending = node.rebirth_requested_at
        if pending is not None and now - pending < self.rebirth_retry:
            return []
        node.rebirth_requested_at = now
        self.stats.rebirth_requests += 1
        return [RequestRebirth(group, edge_node, reason)]

    # --- in-sequence messages ----------------------------------------------------

    def _apply(self, node: _Node, topic: SparkplugTopic, payload: DecodedPayload) -> list[Event]:
        group, edge_node = topic.node
        if topic.kind is MessageType.DBIRTH:
            assert topic.device is not None  # SparkplugTopic guarantees it for D* kinds
            node.devices[topic.device] = _Birth.from_metrics(payload.metrics)
            return [
                StatusChange(group, edge_node, topic.device, online=True, reason="DBIRTH"),
                *self._birth_values(topic, payload),
            ]
        if topic.kind is MessageType.DDEATH:
            assert topic.device is not None
            events = self._device_offline(node, group, edge_node, topic.device, "DDEATH")
            node.devices.pop(topic.device, None)
            return events
        if topic.kind is MessageType.NDATA:
            return self._data(node, node.metrics, topic, payload)
        # DDATA
        birth = node.devices.get(topic.device or "")
        if birth is None or not birth.online:
            return self._request_rebirth(node, group, edge_node, f"DDATA before DBIRTH: {topic}")
        return self._data(node, birth, topic, payload)

    def _birth_values(self, topic: SparkplugTopic, payload: DecodedPayload) -> list[Event]:
        group, edge_node = topic.node
        return [
            MetricUpdate(
                group,
                edge_node,
                topic.device,
                metric.name,
                metric.value,
                metric.timestamp_ms if metric.timestamp_ms is not None else payload.timestamp_ms,
                is_null=metric.is_null,
                datatype=metric.datatype,
                is_historical=metric.is_historical,
            )
            for metric in payload.metrics
            if metric.name is not None and metric.supported
        ]

    def _data(
        self, node: _Node, birth: _Birth, topic: SparkplugTopic, payload: DecodedPayload
    ) -> list[Event]:
        group, edge_node = topic.node
        events: list[Event] = []
        unknown: list[str] = []
        for metric in payload.metrics:
            if metric.alias is not None:
                definition = birth.by_alias.get(metric.alias)
                label = f"alias {metric.alias}"
            elif metric.name is not None:
                definition = birth.by_name.get(metric.name)
                label = f"name {metric.name!r}"
            else:
                events.append(self._malformed(str(topic), "metric without name or alias"))
                continue
            if definition is None:
                unknown.append(label)
                events.append(self._malformed(str(topic), f"unknown metric {label}"))
                continue
            if not (definition.supported and metric.supported):
                continue
            value = metric.value
            if metric.datatype is None and not metric.is_null:
                try:
                    value = coerce(value, definition.datatype)
                except BadInput as exc:
                    events.append(self._malformed(str(topic), f"{definition.name}: {exc.message}"))
                    continue
            timestamp = metric.timestamp_ms
            events.append(
                MetricUpdate(
                    group,
                    edge_node,
                    topic.device,
                    definition.name,
                    value,
                    timestamp if timestamp is not None else payload.timestamp_ms,
                    is_null=metric.is_null,
                    datatype=metric.datatype
                    if metric.datatype is not None
                    else definition.datatype,
                    is_historical=metric.is_historical,
                )
            )
        if unknown:
            reason = f"{topic.kind} with unknown metric(s) {', '.join(unknown)}"
            events += self._request_rebirth(node, group, edge_node, reason)
        return events

    # --- helpers -----------------------------------------------------------------

    def _device_offline(
        self, node: _Node, group: str, edge_node: str, device: str, reason: str
    ) -> list[Event]:
        birth = node.devices.get(device)
        if birth is None or not birth.online:
            return []
        stale = self._mark_stale(birth, group, edge_node, device, reason)
        birth.online = False
        return [StatusChange(group, edge_node, device, online=False, reason=reason), *stale]

    def _mark_stale(
        self, birth: _Birth, group: str, edge_node: str, device: str | None, reason: str
    ) -> list[Event]:
        if birth.stale or not birth.online:
            return []
        birth.stale = True
        names = birth.value_names()
        return [MetricsStale(group, edge_node, device, names, reason)] if names else []

    def _malformed(self, topic: str, reason: str) -> Malformed:
        self.stats.malformed += 1
        log.warning("Sparkplug: %s: %s", topic, reason)
        return Malformed(topic, reason)
