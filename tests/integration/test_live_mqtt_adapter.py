"""The MQTT adapter against a real Mosquitto, without the graph:

- when it acknowledges messages, seen from the broker's debug log: only once the
  values are committed to history, and without waiting for another message to come
  (the history writer queues acknowledgements, paho's thread and the adapter's tick
  send them);
- bindings changed while running apply to the next message on their topic (the
  adapter remembers each topic's bindings and must forget them on a change)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from rdflib import XSD

from graphtwin.history.sqlite import SqliteHistory
from graphtwin.live.bindings import Binding, MqttSource
from graphtwin.live.cache import LiveCache
from graphtwin.live.ingest import Ingest
from graphtwin.live.mqtt import MqttAdapter
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import wait_for

CLIENT_ID = "graphtwin-acks"
TOPIC = "acks/m1"
KEY = ("https://acme.example/m1", "https://acme.example/temperature")
# Long enough that "not acknowledged before the commit" is seen, not guessed.
COMMIT_DELAY = 0.6


@pytest.fixture
def verbose_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.config.write_text(broker.config.read_text() + "log_type all\n")
    broker.start()
    yield broker
    broker.stop()


def broker_log(broker: Mosquitto) -> str:
    log = broker.directory / "mosquitto.log"
    return log.read_text(errors="replace") if log.exists() else ""


def pubacks(broker: Mosquitto) -> int:
    return broker_log(broker).count(f"Received PUBACK from {CLIENT_ID}")


async def test_a_message_is_acknowledged_after_its_commit_with_no_message_after_it(
    tmp_path: Path, verbose_broker: Mosquitto
) -> None:
    history = SqliteHistory(tmp_path / "history.db", retention=None, max_delay=COMMIT_DELAY)
    ingest = Ingest(LiveCache(), history)
    adapter = MqttAdapter(verbose_broker.url, ingest, client_id=CLIENT_ID)
    source = MqttSource(verbose_broker.url, TOPIC, "json", "value", "ts")
    await adapter.update([Binding("https://acme.example/b/1", KEY, source, str(XSD.decimal))])
    await adapter.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="acks-publisher")
    try:
        await wait_for(lambda: adapter.status().connected, what="connected")
        await wait_for(
            lambda: f"Sending SUBACK to {CLIENT_ID}" in broker_log(verbose_broker),
            what="subscribed",
        )
        publisher.connect("127.0.0.1", verbose_broker.port)
        publisher.loop_start()
        body = {"value": 21.5, "ts": datetime.now(UTC).isoformat()}
        publisher.publish(TOPIC, json.dumps(body), qos=1).wait_for_publish(5)

        await wait_for(lambda: ingest.cache.get(KEY) is not None, what="the value in the cache")
        assert history.stats()["written"] == 0
        assert pubacks(verbose_broker) == 0  # in the cache, not yet durable: no PUBACK

        await wait_for(lambda: history.stats()["written"] == 1, what="the commit")
        committed = time.monotonic()
        await wait_for(lambda: pubacks(verbose_broker) == 1, timeout=5.0, what="the PUBACK")
        assert time.monotonic() - committed < 2.0
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        await adapter.stop()
        await history.close()


async def test_bindings_changed_while_running_apply_to_the_next_message(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    pressure_key = (KEY[0], "https://acme.example/pressure")
    temperature = Binding(
        "https://acme.example/b/t",
        KEY,
        MqttSource(mosquitto.url, TOPIC, "json", "temperature", "ts"),
        str(XSD.decimal),
    )
    pressure = Binding(
        "https://acme.example/b/p",
        pressure_key,
        MqttSource(mosquitto.url, "acks/+", "json", "pressure", "ts"),
        str(XSD.decimal),
    )
    history = SqliteHistory(tmp_path / "history.db", retention=None, max_delay=0.01)
    ingest = Ingest(LiveCache(), history)
    adapter = MqttAdapter(mosquitto.url, ingest, client_id="graphtwin-rebind")
    await adapter.update([temperature])
    await adapter.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rebind-publisher")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    sent = 0

    async def send() -> int:
        nonlocal sent
        sent += 1
        body = {"temperature": sent, "pressure": 100 + sent, "ts": datetime.now(UTC).isoformat()}
        before = adapter.received
        publisher.publish(TOPIC, json.dumps(body), qos=1).wait_for_publish(5)
        await wait_for(lambda: adapter.received > before, what=f"message {sent}")
        await history.flush()
        return sent

    def value(key: tuple[str, str]) -> object:
        sample = ingest.cache.get(key)
        return None if sample is None else sample.value

    try:
        await wait_for(lambda: adapter.status().connected, what="connected")
        # The subscription may still be on its way: send until the first one lands.
        deadline = time.monotonic() + 10
        while value(KEY) is None:
            assert time.monotonic() < deadline, "no value"
            publisher.publish(TOPIC, json.dumps({"temperature": 0, "ts": "2026-01-01T00:00:00Z"}))
            await asyncio.sleep(0.1)

        n = await send()
        assert (value(KEY), value(pressure_key)) == (n, None)

        # A filter matching the same topic: the message comes by the exact subscription
        # (or both); either way each of its bindings reads it once.
        await adapter.update([temperature, pressure])
        n = await send()
        assert (value(KEY), value(pressure_key)) == (n, 100 + n)

        await adapter.update([pressure])  # temperature unbound: its value stays as it was
        n = await send()
        assert (value(KEY), value(pressure_key)) == (n - 1, 100 + n)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        await adapter.stop()
        await history.close()


async def test_flat_json_values_that_cannot_be_read_are_refused_per_binding(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Values at a top-level key are read by a dictionary lookup; whatever that lookup
    cannot take (a missing key, an object, a bad timestamp, a wrong type) is refused
    and counted against its binding, and the other bindings of the message still read."""
    pressure_key = (KEY[0], "https://acme.example/pressure")
    bindings = [
        Binding(f"https://acme.example/b/{name}", key, source, str(XSD.decimal))
        for name, key, source in (
            ("t", KEY, MqttSource(mosquitto.url, TOPIC, "json", "temperature", "ts")),
            ("p", pressure_key, MqttSource(mosquitto.url, TOPIC, "json", "$.pressure", "ts")),
        )
    ]
    history = SqliteHistory(tmp_path / "history.db", retention=None, max_delay=0.01)
    ingest = Ingest(LiveCache(), history)
    adapter = MqttAdapter(mosquitto.url, ingest, client_id="graphtwin-flat")
    await adapter.update(bindings)
    await adapter.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flat-publisher")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    now = datetime.now(UTC).isoformat()

    def value(key: tuple[str, str]) -> object:
        sample = ingest.cache.get(key)
        return None if sample is None else sample.value

    try:
        await wait_for(lambda: adapter.status().connected, what="connected")
        deadline = time.monotonic() + 10
        while value(KEY) is None:
            assert time.monotonic() < deadline, "no value"
            good = {"temperature": 20.5, "pressure": 1.5, "ts": now}
            publisher.publish(TOPIC, json.dumps(good), qos=1).wait_for_publish(5)
            await asyncio.sleep(0.1)
        refused_before = dict(ingest.refused)
        for bad, t_refused, p_refused in (
            ({"pressure": 2.0, "ts": now}, 1, 0),  # no temperature
            ({"temperature": {"v": 1}, "pressure": 2.0, "ts": now}, 1, 0),  # not a scalar
            ({"temperature": "hot", "pressure": 2.0, "ts": now}, 1, 0),  # not a number
            ({"temperature": 1.0, "pressure": 2.0, "ts": "yesterday"}, 1, 1),  # bad time
            ({"temperature": 1.0, "pressure": 2.0}, 1, 1),  # no time
        ):
            total = sum(refused_before.values()) + t_refused + p_refused
            publisher.publish(TOPIC, json.dumps(bad), qos=1).wait_for_publish(5)
            await wait_for(lambda n=total: sum(ingest.refused.values()) >= n, what=f"{bad}")
            await history.flush()  # the message is through; nothing more will be counted
            for name, expected in (("t", t_refused), ("p", p_refused)):
                iri = f"https://acme.example/b/{name}"
                assert ingest.refused[iri] - refused_before.get(iri, 0) == expected, (bad, name)
            refused_before = dict(ingest.refused)
        assert value(KEY) == 20.5  # never replaced by anything refused
        assert value(pressure_key) == 2.0  # read from the messages whose own value was fine
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        await adapter.stop()
        await history.close()
