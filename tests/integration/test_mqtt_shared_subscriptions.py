"""MQTT 5 shared subscriptions: two graphtwin instances split one plant's messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from graphtwin.history.sqlite import SqliteHistory
from graphtwin.live.bindings import Binding, MqttSource
from graphtwin.live.cache import LiveCache
from graphtwin.live.ingest import Ingest
from graphtwin.live.mqtt import MqttAdapter
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import wait_for

KEY = ("https://acme.example/sites/s/m", "https://w3id.org/graphtwin/core#totalCount")
INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


@pytest.fixture
def histories(tmp_path: Path) -> Iterator[list[SqliteHistory]]:
    stores = [SqliteHistory(tmp_path / f"h{i}.sqlite3", retention=None) for i in range(2)]
    yield stores


async def test_two_instances_in_one_share_group_split_the_messages(
    mosquitto: Mosquitto, histories: list[SqliteHistory]
) -> None:
    source = MqttSource(mosquitto.url, "plant/+/count", "json", "value", "ts")
    binding = Binding("https://acme.example/b/count", KEY, source, datatype=INTEGER)
    adapters = []
    for index, history in enumerate(histories):
        adapter = MqttAdapter(
            mosquitto.url,
            Ingest(LiveCache(), history),
            client_id=f"graphtwin-{index}",
            share_group="graphtwin",
        )
        await adapter.update([binding])
        await adapter.start()
        adapters.append(adapter)
    try:
        await wait_for(lambda: all(a.connected for a in adapters), what="both connected")
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="shared-pub")
        publisher.connect("127.0.0.1", mosquitto.port)
        publisher.loop_start()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        total = 200
        for n in range(total):
            stamp = (start + timedelta(seconds=n)).isoformat()
            publisher.publish(f"plant/m{n % 5}/count", f'{{"value": {n}, "ts": "{stamp}"}}', qos=1)
        await wait_for(
            lambda: sum(a.ingest.accepted for a in adapters) >= total, what="every message"
        )
        counts = [a.ingest.accepted for a in adapters]
        assert sum(counts) == total
        assert all(count > 0 for count in counts), counts
        publisher.loop_stop()
        publisher.disconnect()
    finally:
        for adapter in adapters:
            await adapter.stop()
        for history in histories:
            await history.close()
