"""The demo publishers against a real Mosquitto, read back with the Sparkplug decoder
and host session: births, alias-only data, rebirth on NCMD, sequence-gap recovery,
NDEATH on graceful stop and as the broker-sent will."""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from graphtwin.demo.mqtt_publisher import SIGNALS, DemoJsonPublisher, MachineSignals, Sample
from graphtwin.demo.sparkplug_publisher import DemoSparkplugEdgeNode
from graphtwin.sparkplug.events import (
    Event,
    MetricKey,
    MetricUpdate,
    RequestRebirth,
    StatusChange,
)
from graphtwin.sparkplug.payload import BD_SEQ, DecodedPayload, decode_payload, encode_ncmd_rebirth
from graphtwin.sparkplug.session import SparkplugHost
from graphtwin.sparkplug.topic import MessageType, SparkplugTopic, parse_topic, topic_filter
from tests.support.mosquitto import Mosquitto

GROUP, NODE = "acme-demo", "line-1"
MACHINES = ["press-1", "mill-2"]
WAIT = 5.0
T = TypeVar("T")


class Subscriber:
    """A plain paho client collecting every message of a filter, subscribed before use."""

    def __init__(self, port: int, topic_filter: str) -> None:
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-subscriber")
        self.client.on_message = lambda c, u, msg: self.inbox.put((msg.topic, bytes(msg.payload)))
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(WAIT), "no SUBACK"

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._subscribed.set()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=0).wait_for_publish(WAIT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class HostHarness(Subscriber):
    """Feeds everything under ``spBv1.0/`` to a SparkplugHost, keeping raw and decoded logs."""

    def __init__(self, port: int) -> None:
        super().__init__(port, topic_filter(GROUP))
        self.host = SparkplugHost(reorder_timeout=0.3)
        self.events: list[Event] = []
        self.raw: list[tuple[SparkplugTopic, DecodedPayload]] = []
        # Act like a host application runtime: publish the NCMDs the session asks for.
        self.answer_rebirths = False

    def pump(self, seconds: float) -> None:
        try:
            topic, data = self.inbox.get(timeout=seconds)
        except queue.Empty:
            new = self.host.tick()
        else:
            self.raw.append((parse_topic(topic), decode_payload(data)))
            new = self.host.handle_raw(topic, data)
        self.events += new
        for event in new:
            if self.answer_rebirths and isinstance(event, RequestRebirth):
                self.publish(event.topic, encode_ncmd_rebirth())

    def wait_until(self, condition: Callable[[], T | None], timeout: float = WAIT) -> T:
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s; events: {self.events}")
            self.pump(min(remaining, 0.05))
        return result

    def messages(self, kind: MessageType) -> list[tuple[SparkplugTopic, DecodedPayload]]:
        return [(t, p) for t, p in self.raw if t.kind is kind]

    def updates(self, device: str | None, name: str) -> list[MetricUpdate]:
        key = MetricKey(GROUP, NODE, device, name)
        return [e for e in self.events if isinstance(e, MetricUpdate) and e.key == key]


@pytest.fixture
def harness(mosquitto: Mosquitto) -> Iterator[HostHarness]:
    harness = HostHarness(mosquitto.port)
    yield harness
    harness.close()


def _node(port: int, bd_seq: int) -> DemoSparkplugEdgeNode:
    return DemoSparkplugEdgeNode(
        "127.0.0.1", port, MACHINES, group=GROUP, edge_node=NODE, interval=0.05, bd_seq=bd_seq
    )


def test_births_data_rebirth_gap_and_graceful_death(
    mosquitto: Mosquitto, harness: HostHarness
) -> None:
    node = _node(mosquitto.port, bd_seq=5)
    node.start()
    try:
        # Births, then alias-only DDATA resolved to names by the session.
        harness.wait_until(
            lambda: all(len(harness.updates(m, "count/total")) >= 3 for m in MACHINES)
        )
        [(_, nbirth)] = harness.messages(MessageType.NBIRTH)
        assert nbirth.seq == 0
        bd_seq = nbirth.metric(BD_SEQ)
        assert bd_seq is not None and bd_seq.value == 5
        assert {t.device for t, _ in harness.messages(MessageType.DBIRTH)} == set(MACHINES)
        for topic, payload in harness.messages(MessageType.DDATA):
            assert topic.device in MACHINES
            assert all(m.name is None and m.alias is not None for m in payload.metrics)
        assert harness.host.is_online(GROUP, NODE, "press-1")
        assert set(harness.host.metric_names(GROUP, NODE, "mill-2")) == set(SIGNALS)
        temperature = harness.updates("press-1", "temperature")[-1]
        assert isinstance(temperature.value, float) and 20 < temperature.value < 100
        counts = [u.value for u in harness.updates("mill-2", "count/total")]
        assert all(isinstance(c, int) for c in counts)
        assert counts == sorted(c for c in counts if isinstance(c, int))
        assert isinstance(harness.updates("press-1", "state")[0].value, str)
        assert harness.host.stats.malformed == 0

        # A rebirth on request: same bdSeq, seq restarting at 0.
        harness.publish(f"spBv1.0/{GROUP}/NCMD/{NODE}", encode_ncmd_rebirth())
        harness.wait_until(lambda: len(harness.messages(MessageType.NBIRTH)) == 2)
        _, rebirth = harness.messages(MessageType.NBIRTH)[1]
        assert rebirth.seq == 0
        rebirth_bd_seq = rebirth.metric(BD_SEQ)
        assert rebirth_bd_seq is not None and rebirth_bd_seq.value == 5
        harness.wait_until(lambda: harness.host.is_online(GROUP, NODE, "mill-2"))

        # A sequence gap: the session asks for a rebirth, the node answers it.
        node.skip_seq()
        request = harness.wait_until(
            lambda: next((e for e in harness.events if isinstance(e, RequestRebirth)), None)
        )
        assert request.topic == f"spBv1.0/{GROUP}/NCMD/{NODE}"
        harness.publish(request.topic, encode_ncmd_rebirth())
        harness.wait_until(lambda: len(harness.messages(MessageType.NBIRTH)) == 3)
        before = len(harness.updates("press-1", "temperature"))
        harness.wait_until(lambda: len(harness.updates("press-1", "temperature")) > before + 2)
        assert not harness.host.is_stale(GROUP, NODE, "press-1")
    finally:
        node.stop(graceful=True)

    harness.wait_until(lambda: harness.messages(MessageType.NDEATH))
    [(_, ndeath)] = harness.messages(MessageType.NDEATH)
    assert ndeath.seq is None
    assert [(m.name, m.value) for m in ndeath.metrics] == [(BD_SEQ, 5)]
    assert StatusChange(GROUP, NODE, None, online=False, reason="NDEATH") in harness.events
    assert not harness.host.is_online(GROUP, NODE)
    assert node.bd_seq == 6  # the next session


def test_ungraceful_disconnect_publishes_the_ndeath_will(
    mosquitto: Mosquitto, harness: HostHarness
) -> None:
    node = _node(mosquitto.port, bd_seq=7)
    node.start()
    harness.wait_until(lambda: harness.host.is_online(GROUP, NODE, "mill-2"))
    started = time.monotonic()
    node.stop(graceful=False)
    harness.wait_until(lambda: harness.messages(MessageType.NDEATH))
    assert time.monotonic() - started < 3.0
    [(_, ndeath)] = harness.messages(MessageType.NDEATH)
    assert [(m.name, m.value) for m in ndeath.metrics] == [(BD_SEQ, 7)]
    assert not harness.host.is_online(GROUP, NODE)
    assert not harness.host.is_online(GROUP, NODE, "press-1")


def test_reconnect_after_broker_restart_is_a_new_session(
    mosquitto: Mosquitto, harness: HostHarness
) -> None:
    harness.answer_rebirths = True
    node = _node(mosquitto.port, bd_seq=1)
    node.start()
    try:
        harness.wait_until(lambda: harness.host.is_online(GROUP, NODE, "mill-2"))
        mosquitto.restart()
        # paho reconnects both clients; whichever is first, the host ends up with
        # the new session (directly, or via a rebirth it asks for).
        harness.wait_until(
            lambda: any(
                (bd := p.metric(BD_SEQ)) is not None and bd.value == 2
                for _, p in harness.messages(MessageType.NBIRTH)
            ),
            timeout=8.0,
        )
        harness.wait_until(lambda: harness.host.is_online(GROUP, NODE, "mill-2"))
        before = len(harness.updates("mill-2", "temperature"))
        harness.wait_until(lambda: len(harness.updates("mill-2", "temperature")) > before)
    finally:
        node.stop()


def test_json_publisher(mosquitto: Mosquitto) -> None:
    subscriber = Subscriber(mosquitto.port, "acme/#")
    publisher = DemoJsonPublisher(
        "127.0.0.1", mosquitto.port, [("plant-a", "line-1", "press-1")], interval=0.05
    )
    publisher.start()
    try:
        seen: dict[str, dict[str, object]] = {}
        deadline = time.monotonic() + WAIT
        while len(seen) < len(SIGNALS) and time.monotonic() < deadline:
            try:
                topic, data = subscriber.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            seen[topic] = json.loads(data)
    finally:
        publisher.stop()
        subscriber.close()
    assert set(seen) == set(publisher.topics())
    assert "acme/plant-a/line-1/press-1/temperature" in seen
    for body in seen.values():
        assert set(body) == {"value", "ts"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(body["ts"]))
    assert isinstance(seen["acme/plant-a/line-1/press-1/state"]["value"], str)


def test_machine_signals_are_deterministic_per_seed_and_machine() -> None:
    def series(machine: str, seed: int) -> list[Sample]:
        signals = MachineSignals(machine, seed)
        return [signals.step() for _ in range(50)]

    assert series("press-1", 1) == series("press-1", 1)
    assert series("press-1", 1) != series("press-1", 2)
    assert series("press-1", 1) != series("mill-2", 1)
    counts = [s.count_total for s in series("press-1", 3)]
    assert counts == sorted(counts)
