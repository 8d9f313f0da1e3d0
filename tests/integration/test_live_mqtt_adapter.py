"""The MQTT adapter against a real Mosquitto, without the graph:

- when it acknowledges messages, seen from the broker's debug log: only once the
  values are committed to history, and without waiting for another message to come
  (the history writer queues acknowledgements, paho's thread and the adapter's tick
  send them);
- bindings changed while running apply to the next message on their topic (the
  adapter remembers each topic's bindings and must forget them on a change);
- flat JSON values (read by a dictionary lookup) are refused per binding."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
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

TOPIC = "acks/m1"
KEY = ("https://acme.example/m1", "https://acme.example/temperature")
PRESSURE = (KEY[0], "https://acme.example/pressure")
# Long enough that "not acknowledged before the commit" is seen, not guessed.
COMMIT_DELAY = 0.6


def binding(name: str, key: tuple[str, str], source: MqttSource) -> Binding:
    return Binding(f"https://acme.example/b/{name}", key, source, str(XSD.decimal))


@dataclass
class Harness:
    """An adapter over a real broker, with its own history and a publisher."""

    adapter: MqttAdapter
    ingest: Ingest
    history: SqliteHistory
    publisher: mqtt.Client

    def value(self, key: tuple[str, str]) -> object:
        sample = self.ingest.cache.get(key)
        return None if sample is None else sample.value

    def publish(self, body: dict[str, object]) -> None:
        self.publisher.publish(TOPIC, json.dumps(body), qos=1).wait_for_publish(5)

    async def first_value(self, body: dict[str, object]) -> None:
        """Publish ``body`` until its value lands: the subscription may be on its way."""
        await wait_for(lambda: self.adapter.status().connected, what="connected")
        deadline = time.monotonic() + 10
        while self.value(KEY) is None:
            assert time.monotonic() < deadline, "no value"
            self.publish(body)
            await asyncio.sleep(0.1)


@asynccontextmanager
async def harness(
    tmp_path: Path,
    broker: Mosquitto,
    bindings: Sequence[Binding],
    client_id: str,
    *,
    commit_delay: float = 0.01,
) -> AsyncIterator[Harness]:
    history = SqliteHistory(tmp_path / "history.db", retention=None, max_delay=commit_delay)
    ingest = Ingest(LiveCache(), history)
    adapter = MqttAdapter(broker.url, ingest, client_id=client_id)
    await adapter.update(bindings)
    await adapter.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{client_id}-publisher")
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    try:
        yield Harness(adapter, ingest, history, publisher)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        await adapter.stop()
        await history.close()


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


async def test_a_message_is_acknowledged_after_its_commit_with_no_message_after_it(
    tmp_path: Path, verbose_broker: Mosquitto
) -> None:
    client_id = "graphtwin-acks"
    source = MqttSource(verbose_broker.url, TOPIC, "json", "value", "ts")

    def pubacks() -> int:
        return broker_log(verbose_broker).count(f"Received PUBACK from {client_id}")

    async with harness(
        tmp_path, verbose_broker, [binding("t", KEY, source)], client_id, commit_delay=COMMIT_DELAY
    ) as h:
        await wait_for(lambda: h.adapter.status().connected, what="connected")
        await wait_for(
            lambda: f"Sending SUBACK to {client_id}" in broker_log(verbose_broker),
            what="subscribed",
        )
        h.publish({"value": 21.5, "ts": datetime.now(UTC).isoformat()})

        await wait_for(lambda: h.value(KEY) is not None, what="the value in the cache")
        assert h.history.stats()["written"] == 0
        assert pubacks() == 0  # in the cache, not yet durable: no PUBACK

        await wait_for(lambda: h.history.stats()["written"] == 1, what="the commit")
        committed = time.monotonic()
        await wait_for(lambda: pubacks() == 1, timeout=5.0, what="the PUBACK")
        assert time.monotonic() - committed < 2.0


async def test_bindings_changed_while_running_apply_to_the_next_message(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    temperature = binding("t", KEY, MqttSource(mosquitto.url, TOPIC, "json", "temperature", "ts"))
    # A filter matching the same topic: the message comes by the exact subscription
    # (or both); either way each of its bindings reads it once.
    pressure = binding("p", PRESSURE, MqttSource(mosquitto.url, "acks/+", "json", "pressure", "ts"))
    async with harness(tmp_path, mosquitto, [temperature], "graphtwin-rebind") as h:
        sent = 0

        async def send() -> int:
            nonlocal sent
            sent += 1
            before = h.adapter.received
            h.publish({"temperature": sent, "pressure": 100 + sent, "ts": utc_now()})
            await wait_for(lambda: h.adapter.received > before, what=f"message {sent}")
            await h.history.flush()
            return sent

        await h.first_value({"temperature": 0, "ts": "2026-01-01T00:00:00Z"})
        n = await send()
        assert (h.value(KEY), h.value(PRESSURE)) == (n, None)

        await h.adapter.update([temperature, pressure])
        n = await send()
        assert (h.value(KEY), h.value(PRESSURE)) == (n, 100 + n)

        await h.adapter.update([pressure])  # temperature unbound: its value stays as it was
        n = await send()
        assert (h.value(KEY), h.value(PRESSURE)) == (n - 1, 100 + n)


async def test_flat_json_values_that_cannot_be_read_are_refused_per_binding(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Values at a top-level key are read by a dictionary lookup; whatever that lookup
    cannot take (a missing key, an object, a bad timestamp, a wrong type) is refused
    and counted against its binding, and the other bindings of the message still read."""
    bindings = [
        binding("t", KEY, MqttSource(mosquitto.url, TOPIC, "json", "temperature", "ts")),
        binding("p", PRESSURE, MqttSource(mosquitto.url, TOPIC, "json", "$.pressure", "ts")),
    ]
    now = utc_now()
    async with harness(tmp_path, mosquitto, bindings, "graphtwin-flat") as h:
        await h.first_value({"temperature": 20.5, "pressure": 1.5, "ts": now})
        refused = h.ingest.refused
        before = dict(refused)
        for bad, t_refused, p_refused in (
            ({"pressure": 2.0, "ts": now}, 1, 0),  # no temperature
            ({"temperature": {"v": 1}, "pressure": 2.0, "ts": now}, 1, 0),  # not a scalar
            ({"temperature": "hot", "pressure": 2.0, "ts": now}, 1, 0),  # not a number
            ({"temperature": 1.0, "pressure": 2.0, "ts": "yesterday"}, 1, 1),  # bad time
            ({"temperature": 1.0, "pressure": 2.0}, 1, 1),  # no time
        ):
            total = sum(before.values()) + t_refused + p_refused
            h.publish(bad)
            await wait_for(lambda n=total: sum(refused.values()) >= n, what=f"{bad}")
            await h.history.flush()  # the message is through; nothing more will be counted
            for name, expected in (("t", t_refused), ("p", p_refused)):
                iri = f"https://acme.example/b/{name}"
                assert refused[iri] - before.get(iri, 0) == expected, (bad, name)
            before = dict(refused)
        assert h.value(KEY) == 20.5  # never replaced by anything refused
        assert h.value(PRESSURE) == 2.0  # read from the messages whose own value was fine


def utc_now() -> str:
    return datetime.now(UTC).isoformat()
