"""Sparkplug B topic names: ``spBv1.0/{group}/{kind}/{edge_node}[/{device}]``.

Topics arrive from a broker that anyone on the plant network can publish to, so
parsing is strict: every malformed topic is a ``BadInput``, never an IndexError
deep inside the session code. ``STATE`` uses the Sparkplug 3.0 form
``spBv1.0/STATE/{host_id}``; the 2.2 form ``STATE/{host_id}`` is outside the
``spBv1.0`` namespace and is not parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from graphtwin.errors import BadInput

NAMESPACE = "spBv1.0"

# Characters the spec forbids in group, edge node and device ids: they are MQTT
# level separators and wildcards, so an id containing one cannot round-trip.
_RESERVED = frozenset("/+#")


class MessageType(StrEnum):
    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    NDATA = "NDATA"
    DDATA = "DDATA"
    NCMD = "NCMD"
    DCMD = "DCMD"
    STATE = "STATE"

    @property
    def is_device(self) -> bool:
        """Device-level messages are the ones whose topic carries a device id."""
        return self in _DEVICE_TYPES


_DEVICE_TYPES = frozenset(
    {MessageType.DBIRTH, MessageType.DDEATH, MessageType.DDATA, MessageType.DCMD}
)


def _check_id(what: str, value: str) -> None:
    if not value:
        raise BadInput(f"Sparkplug topic: empty {what}")
    if _RESERVED.intersection(value):
        raise BadInput(f"Sparkplug topic: {what} {value!r} contains one of '/', '+', '#'")


@dataclass(frozen=True)
class SparkplugTopic:
    """One parsed topic. For ``STATE``, ``group`` is ``""`` and ``edge_node`` is the host id.

    Construction validates, so a ``SparkplugTopic`` always formats to a topic that
    ``parse_topic`` accepts again.
    """

    group: str
    kind: MessageType
    edge_node: str
    device: str | None = None

    def __post_init__(self) -> None:
        if self.kind is MessageType.STATE:
            if self.group or self.device is not None:
                raise BadInput("Sparkplug topic: STATE has only a host id")
            _check_id("host id", self.edge_node)
            return
        _check_id("group id", self.group)
        _check_id("edge node id", self.edge_node)
        if self.kind.is_device:
            if self.device is None:
                raise BadInput(f"Sparkplug topic: {self.kind} needs a device id")
            _check_id("device id", self.device)
        elif self.device is not None:
            raise BadInput(f"Sparkplug topic: {self.kind} takes no device id")

    @classmethod
    def state(cls, host_id: str) -> SparkplugTopic:
        return cls("", MessageType.STATE, host_id)

    @property
    def host_id(self) -> str:
        """The host application id of a ``STATE`` topic."""
        if self.kind is not MessageType.STATE:
            raise ValueError(f"{self.kind} topic has no host id")
        return self.edge_node

    @property
    def node(self) -> tuple[str, str]:
        """``(group, edge_node)``: the key that sequence numbers and bdSeq belong to."""
        return (self.group, self.edge_node)

    def __str__(self) -> str:
        if self.kind is MessageType.STATE:
            return f"{NAMESPACE}/STATE/{self.edge_node}"
        base = f"{NAMESPACE}/{self.group}/{self.kind}/{self.edge_node}"
        return base if self.device is None else f"{base}/{self.device}"


def parse_topic(topic: str) -> SparkplugTopic:
    """Parse an MQTT topic name; raise ``BadInput`` for anything not Sparkplug B."""
    parts = topic.split("/")
    if parts[0] != NAMESPACE:
        raise BadInput(f"not a Sparkplug B topic (namespace is not {NAMESPACE}): {topic!r}")
    if len(parts) == 3 and parts[1] == MessageType.STATE:
        return SparkplugTopic.state(parts[2])
    if len(parts) not in (4, 5):
        raise BadInput(f"Sparkplug topic has {len(parts)} levels, expected 4 or 5: {topic!r}")
    try:
        kind = MessageType(parts[2])
    except ValueError:
        raise BadInput(f"unknown Sparkplug message type {parts[2]!r} in {topic!r}") from None
    if kind is MessageType.STATE:
        raise BadInput(f"STATE topic must be {NAMESPACE}/STATE/<host_id>: {topic!r}")
    device = parts[4] if len(parts) == 5 else None
    return SparkplugTopic(parts[1], kind, parts[3], device)


def _check_filter_level(what: str, value: str, *, allow_hash: bool = False) -> None:
    if value == "+" or (allow_hash and value == "#"):
        return
    _check_id(what, value)


def topic_filter(
    group: str = "+",
    kind: MessageType | str = "+",
    edge_node: str = "+",
    device: str | None = "#",
) -> str:
    """An MQTT subscription filter over Sparkplug topics; ``+`` matches any one id.

    ``device="#"`` (the default) matches node-level *and* device-level topics,
    since an MQTT ``#`` also matches its parent level; ``device=None`` matches
    node-level topics only. ``topic_filter()`` is every edge node message of
    every group (``spBv1.0/+/+/+/#``), which excludes ``STATE``.
    """
    _check_filter_level("group id", group)
    if kind != "+":
        try:
            kind = MessageType(kind)
        except ValueError:
            raise BadInput(f"unknown Sparkplug message type {kind!r}") from None
        if kind is MessageType.STATE:
            raise BadInput("use state_filter() for STATE topics")
    _check_filter_level("edge node id", edge_node)
    base = f"{NAMESPACE}/{group}/{kind}/{edge_node}"
    if device is None:
        return base
    _check_filter_level("device id", device, allow_hash=True)
    return f"{base}/{device}"


def state_filter(host_id: str = "+") -> str:
    """Subscription filter for host application ``STATE`` messages."""
    _check_filter_level("host id", host_id)
    return f"{NAMESPACE}/STATE/{host_id}"
