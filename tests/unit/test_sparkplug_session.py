"""The Sparkplug host session state machine, driven by encoded messages and a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import pytest

from graphtwin.sparkplug.datatypes import DataType
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
    REBIRTH,
    MetricSpec,
    decode_payload,
    encode_dbirth,
    encode_ddata,
    encode_ddeath,
    encode_nbirth,
    encode_ncmd_rebirth,
    encode_ndata,
    encode_ndeath,
)
from graphtwin.sparkplug.session import SparkplugHost
from graphtwin.sparkplug.topic import MessageType, SparkplugTopic

G, E, D = "acme", "line-1", "press-1"
NODE_METRICS = [MetricSpec("uptime", DataType.Int64, 10, alias=1)]
DEVICE_METRICS = [
    MetricSpec("temperature", DataType.Double, 20.5, alias=10),
    MetricSpec("offset", DataType.Int16, -40, alias=11),
    MetricSpec("state", DataType.String, "idle", alias=12),
]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def host(clock: Clock) -> SparkplugHost:
    return SparkplugHost(now=clock, reorder_timeout=2.0)


def send(
    host: SparkplugHost, kind: MessageType, data: bytes, device: str | None = None
) -> list[Event]:
    topic = SparkplugTopic(G, kind, E, device if kind.is_device else None)
    # Through the raw entry point, so topic parsing and decoding are exercised too.
    return host.handle_raw(str(topic), data)


def nbirth(host: SparkplugHost, *, bd_seq: int = 1, seq: int = 0) -> list[Event]:
    return send(host, MessageType.NBIRTH, encode_nbirth(NODE_METRICS, bd_seq=bd_seq, seq=seq))


def dbirth(host: SparkplugHost, seq: int, device: str = D) -> list[Event]:
    return send(host, MessageType.DBIRTH, encode_dbirth(DEVICE_METRICS, seq=seq), device)


def ddata(
    host: SparkplugHost,
    seq: int,
    temperature: float = 21.0,
    device: str = D,
    extra: Sequence[MetricSpec] = (),
) -> list[Event]:
    metrics = [MetricSpec("temperature", DataType.Double, temperature, alias=10), *extra]
    payload = encode_ddata(metrics, seq=seq, timestamp_ms=5, alias_only=True)
    return send(host, MessageType.DDATA, payload, device)


def born(host: SparkplugHost) -> None:
    nbirth(host)
    dbirth(host, seq=1)


def updates(events: Sequence[Event]) -> dict[tuple[str | None, str], object]:
    return {(e.device, e.name): e.value for e in events if isinstance(e, MetricUpdate)}


T = TypeVar("T")


def of_type(events: Sequence[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def test_nbirth_brings_node_online_with_its_values(host: SparkplugHost) -> None:
    events = nbirth(host, bd_seq=3)
    assert events[0] == StatusChange(G, E, None, online=True, reason="NBIRTH")
    assert updates(events) == {(None, BD_SEQ): 3, (None, REBIRTH): False, (None, "uptime"): 10}
    update = of_type(events, MetricUpdate)[-1]
    assert update.key == MetricKey(G, E, None, "uptime")
    assert update.datatype == DataType.Int64
    assert update.timestamp_ms is not None
    assert host.is_online(G, E)
    assert host.metric_names(G, E) == [BD_SEQ, REBIRTH, "uptime"]


def test_dbirth_brings_device_online(host: SparkplugHost) -> None:
    nbirth(host)
    events = dbirth(host, seq=1)
    assert events[0] == StatusChange(G, E, D, online=True, reason="DBIRTH")
    assert updates(events) == {(D, "temperature"): 20.5, (D, "offset"): -40, (D, "state"): "idle"}
    assert host.is_online(G, E, D)
    assert MetricKey(G, E, D, "temperature") in host.known_metrics()


def test_ddata_by_alias_resolves_names_and_birth_datatypes(host: SparkplugHost) -> None:
    born(host)
    events = ddata(host, seq=2, extra=[MetricSpec("offset", DataType.Int16, -7, alias=11)])
    assert updates(events) == {(D, "temperature"): 21.0, (D, "offset"): -7}
    offset = of_type(events, MetricUpdate)[1]
    assert offset.datatype == DataType.Int16
    assert offset.timestamp_ms == 5
    assert offset.key == MetricKey(G, E, D, "offset")


def test_ndata_by_name_and_null(host: SparkplugHost) -> None:
    nbirth(host)
    payload = encode_ndata([MetricSpec("uptime", DataType.Int64, None)], seq=1)
    [update] = send(host, MessageType.NDATA, payload)
    assert isinstance(update, MetricUpdate)
    assert (update.name, update.value, update.is_null) == ("uptime", None, True)


def test_unknown_alias_is_malformed_and_asks_for_rebirth_once(host: SparkplugHost) -> None:
    born(host)
    events = ddata(host, seq=2, extra=[MetricSpec("ghost", DataType.Double, 1.0, alias=99)])
    assert updates(events) == {(D, "temperature"): 21.0}
    [malformed] = of_type(events, Malformed)
    assert "unknown metric alias 99" in malformed.reason
    assert of_type(events, RequestRebirth) == [
        RequestRebirth(G, E, "DDATA with unknown metric(s) alias 99")
    ]
    assert of_type(events, RequestRebirth)[0].topic == "spBv1.0/acme/NCMD/line-1"
    again = ddata(host, seq=3, extra=[MetricSpec("ghost", DataType.Double, 1.0, alias=99)])
    assert of_type(again, Malformed)
    assert not of_type(again, RequestRebirth)
    assert host.stats.malformed == 2


def test_seq_wraps_from_255_to_0(host: SparkplugHost) -> None:
    born(host)
    seen = []
    for n in range(2, 300):
        events = ddata(host, seq=n % 256, temperature=float(n))
        assert not of_type(events, RequestRebirth)
        seen.append(updates(events)[(D, "temperature")])
    assert seen == [float(n) for n in range(2, 300)]
    assert host.stats.gaps == 0


def test_gap_filled_within_timeout_releases_held_messages_in_order(
    host: SparkplugHost, clock: Clock
) -> None:
    born(host)
    assert ddata(host, seq=3, temperature=3.0) == []
    clock.advance(1.0)
    assert ddata(host, seq=4, temperature=4.0) == []
    clock.advance(0.9)
    events = ddata(host, seq=2, temperature=2.0)
    assert [e.value for e in of_type(events, MetricUpdate)] == [2.0, 3.0, 4.0]
    assert host.stats.gaps == 1
    assert host.stats.reordered == 2
    clock.advance(5.0)
    assert host.tick() == []
    assert updates(ddata(host, seq=5, temperature=5.0)) == {(D, "temperature"): 5.0}


def test_gap_filled_across_the_wrap(host: SparkplugHost) -> None:
    nbirth(host, seq=254)
    assert dbirth(host, seq=255)
    assert ddata(host, seq=1, temperature=1.0) == []
    events = ddata(host, seq=0, temperature=0.0)
    assert [e.value for e in of_type(events, MetricUpdate)] == [0.0, 1.0]


def test_gap_timeout_requests_rebirth_once_and_marks_values_stale(
    host: SparkplugHost, clock: Clock
) -> None:
    born(host)
    assert ddata(host, seq=3) == []
    clock.advance(1.9)
    assert host.tick() == []
    clock.advance(0.2)
    events = host.tick()
    assert events == [
        MetricsStale(G, E, None, (BD_SEQ, REBIRTH, "uptime"), "seq 2 missing for 2.0s"),
        MetricsStale(G, E, D, ("temperature", "offset", "state"), "seq 2 missing for 2.0s"),
        RequestRebirth(G, E, "seq 2 missing for 2.0s"),
    ]
    assert host.is_stale(G, E) and host.is_stale(G, E, D)
    assert host.tick() == []
    # The late message and anything after it are dropped until the NBIRTH ...
    assert ddata(host, seq=2) == []
    clock.advance(1.0)
    assert ddata(host, seq=4) == []
    # ... but if no NBIRTH comes within another timeout, ask again (once).
    clock.advance(1.5)
    assert ddata(host, seq=5) == [RequestRebirth(G, E, "waiting for NBIRTH after seq loss")]
    assert ddata(host, seq=6) == []
    assert host.stats.rebirth_requests == 2
    # The rebirth restores everything.
    rebirth = nbirth(host)
    assert not host.is_stale(G, E)
    assert StatusChange(G, E, D, online=False, reason="new NBIRTH") in rebirth
    assert not of_type(rebirth, MetricsStale)  # already reported stale
    dbirth(host, seq=1)
    assert updates(ddata(host, seq=2, temperature=30.0)) == {(D, "temperature"): 30.0}


def test_gap_timeout_is_also_noticed_on_the_next_message(host: SparkplugHost, clock: Clock) -> None:
    born(host)
    ddata(host, seq=3)
    clock.advance(2.5)
    events = ddata(host, seq=4)
    assert len(of_type(events, RequestRebirth)) == 1
    assert not of_type(events, MetricUpdate)


def test_seq_seen_twice_in_a_gap_loses_sequence_immediately(host: SparkplugHost) -> None:
    born(host)
    assert ddata(host, seq=5) == []
    events = ddata(host, seq=5)
    assert of_type(events, RequestRebirth)
    assert host.stats.sequence_losses == 1


def test_missing_seq_is_malformed(host: SparkplugHost) -> None:
    nbirth(host)
    events = send(host, MessageType.NDATA, encode_ndeath(1))  # a payload without seq
    assert [type(e) for e in events] == [Malformed]


def test_ndeath_with_matching_bd_seq_takes_node_and_devices_offline(
    host: SparkplugHost,
) -> None:
    nbirth(host, bd_seq=4)
    dbirth(host, seq=1)
    events = send(host, MessageType.NDEATH, encode_ndeath(4))
    assert events == [
        StatusChange(G, E, D, online=False, reason="NDEATH"),
        MetricsStale(G, E, D, ("temperature", "offset", "state"), "NDEATH"),
        StatusChange(G, E, None, online=False, reason="NDEATH"),
        MetricsStale(G, E, None, (BD_SEQ, REBIRTH, "uptime"), "NDEATH"),
    ]
    assert not host.is_online(G, E)
    assert not host.is_online(G, E, D)
    assert host.known_metrics() == []
    # A second death changes nothing.
    assert send(host, MessageType.NDEATH, encode_ndeath(4)) == []


def test_ndeath_with_other_bd_seq_is_a_stale_will_and_ignored(host: SparkplugHost) -> None:
    nbirth(host, bd_seq=5)
    dbirth(host, seq=1)
    assert send(host, MessageType.NDEATH, encode_ndeath(4)) == []
    assert host.is_online(G, E) and host.is_online(G, E, D)
    assert host.stats.stale_deaths_ignored == 1


def test_ddeath_takes_the_device_offline(host: SparkplugHost) -> None:
    born(host)
    events = send(host, MessageType.DDEATH, encode_ddeath(seq=2), D)
    assert events == [
        StatusChange(G, E, D, online=False, reason="DDEATH"),
        MetricsStale(G, E, D, ("temperature", "offset", "state"), "DDEATH"),
    ]
    assert host.is_online(G, E) and not host.is_online(G, E, D)
    # Data for the dead device cannot be interpreted: ask for a rebirth.
    assert ddata(host, seq=3) == [RequestRebirth(G, E, f"DDATA before DBIRTH: {_ddata_topic()}")]


def _ddata_topic() -> SparkplugTopic:
    return SparkplugTopic(G, MessageType.DDATA, E, D)


def test_data_before_birth_is_ignored_and_asks_for_rebirth(
    host: SparkplugHost, clock: Clock
) -> None:
    assert ddata(host, seq=7) == [RequestRebirth(G, E, "DDATA before NBIRTH")]
    assert ddata(host, seq=8) == []  # one request outstanding
    assert dbirth(host, seq=9) == []
    clock.advance(2.0)
    payload = encode_ndata(NODE_METRICS, seq=10)
    assert send(host, MessageType.NDATA, payload) == [RequestRebirth(G, E, "NDATA before NBIRTH")]
    assert not host.is_online(G, E)
    assert host.known_metrics() == []


def test_commands_and_state_are_ignored(host: SparkplugHost) -> None:
    born(host)
    assert send(host, MessageType.NCMD, encode_ncmd_rebirth()) == []
    assert host.handle_raw("spBv1.0/STATE/scada", b"") == []


def test_bad_topic_or_payload_becomes_malformed(host: SparkplugHost) -> None:
    [event] = host.handle_raw("spBv1.0/acme/NOPE/line-1", b"")
    assert isinstance(event, Malformed) and "NOPE" in event.reason
    [event] = host.handle_raw("spBv1.0/acme/NDATA/line-1", b"\xff")
    assert isinstance(event, Malformed) and "protobuf" in event.reason
    assert host.stats.malformed == 2


def test_oversized_payload_becomes_malformed(clock: Clock) -> None:
    host = SparkplugHost(now=clock, max_payload_bytes=64)
    payload = encode_nbirth([MetricSpec("s", DataType.String, "x" * 100)], bd_seq=0)
    [event] = send(host, MessageType.NBIRTH, payload)
    assert isinstance(event, Malformed) and "exceeds" in event.reason


def test_unsupported_metric_is_known_but_yields_no_values(host: SparkplugHost) -> None:
    from graphtwin.sparkplug import sparkplug_b_pb2 as pb

    message = pb.Payload(seq=0, timestamp=1)
    message.metrics.add(name=BD_SEQ, datatype=DataType.UInt64, long_value=0)
    message.metrics.add(
        name="table", alias=5, datatype=DataType.DataSet
    ).dataset_value.SetInParent()
    events = host.handle_raw("spBv1.0/acme/NBIRTH/line-1", message.SerializeToString())
    assert updates(events) == {(None, BD_SEQ): 0}
    data = pb.Payload(seq=1, timestamp=2)
    data.metrics.add(alias=5).dataset_value.SetInParent()
    assert host.handle_raw("spBv1.0/acme/NDATA/line-1", data.SerializeToString()) == []
    assert host.stats.malformed == 0


def test_nodes_are_independent(host: SparkplugHost, clock: Clock) -> None:
    born(host)
    other = SparkplugTopic(G, MessageType.NBIRTH, "line-2")
    host.handle(other, decode_payload(encode_nbirth([], bd_seq=9)))
    ddata(host, seq=4)  # gap on line-1 only
    clock.advance(3)
    events = host.tick()
    assert {e.edge_node for e in of_type(events, RequestRebirth)} == {E}
    assert host.is_online(G, "line-2") and not host.is_stale(G, "line-2")
