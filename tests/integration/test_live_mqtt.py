"""MQTT bindings end to end: a real Mosquitto, the live runtime, cache, history, graph."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from rdflib import Graph

from graphtwin.api.context import Services
from graphtwin.bootstrap import build_live
from graphtwin.config import Settings
from graphtwin.errors import BadInput
from graphtwin.semantics.vocab import GT
from graphtwin.values import Quality
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import wait_for

SITE = "https://acme.example/sites/t"
MACHINE = f"{SITE}/lines/l1/st1/m1"
TEMP = str(GT.temperature)
COUNT = str(GT.totalCount)

PLANT = f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{SITE}> a gt:Site ; rdfs:label "T" .
<{SITE}/lines/l1> a gt:Line ; rdfs:label "L1" ; gt:partOf <{SITE}> .
<{SITE}/lines/l1/st1> a gt:Station ; rdfs:label "OP10" ; gt:partOf <{SITE}/lines/l1> .
<{MACHINE}> a gt:Press ; rdfs:label "Press" ; gt:partOf <{SITE}/lines/l1/st1> ;
    gt:temperature 20.50 .
"""


def bindings(broker: str) -> str:
    return f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix gtb: <https://w3id.org/graphtwin/binding#> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{SITE}/bindings/m1-temp> a gtb:MqttBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:temperature ;
    gtb:broker "{broker}"^^xsd:anyURI ;
    gtb:topic "t/l1/m1/temp" ; gtb:payloadFormat "json" ;
    gtb:valuePath "data.t" ; gtb:timestampPath "ts" ;
    gtb:sourceUnit unit:DEG_F .
<{SITE}/bindings/m1-count> a gtb:MqttBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:totalCount ;
    gtb:broker "{broker}"^^xsd:anyURI ;
    gtb:topic "t/+/m1/count" ; gtb:payloadFormat "number" ;
    gtb:writable true ; gtb:commandTopic "t/l1/m1/count/set" .
"""


@pytest.fixture
async def live_services(
    services: Services, mosquitto: Mosquitto, tmp_path: object, test_settings: Settings
) -> AsyncIterator[Services]:
    await services.twins.import_graph(Graph().parse(data=PLANT, format="turtle"))
    await services.twins.import_graph(Graph().parse(data=bindings(mosquitto.url), format="turtle"))
    settings = test_settings.with_overrides(flush_interval=0.1, mqtt_client_id="gt-test")
    built = build_live(settings, services)
    assert built.live is not None and built.history is not None
    await built.live.start()
    yield built
    await built.live.stop()
    await built.history.close()


def publisher(broker: Mosquitto) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-pub")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


async def connected(services: Services) -> None:
    assert services.live is not None
    await wait_for(lambda: all(s.connected for s in services.live.status()), what="connected")


async def test_json_value_reaches_cache_history_and_graph(
    live_services: Services, mosquitto: Mosquitto
) -> None:
    live = live_services.live
    assert live is not None and live_services.history is not None
    await connected(live_services)
    pub = publisher(mosquitto)
    stamp = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    payload = json.dumps({"data": {"t": 212.0}, "ts": stamp.isoformat()})
    pub.publish("t/l1/m1/temp", payload, qos=1).wait_for_publish(5)

    await wait_for(lambda: live.value((MACHINE, TEMP)) is not None, what="cached value")
    sample = live.value((MACHINE, TEMP))
    assert sample is not None
    assert sample.value == pytest.approx(100.0)  # 212 °F in °C
    assert sample.source_time == stamp
    assert sample.quality is Quality.GOOD

    await live_services.history.flush()
    points = await live_services.history.points(
        (MACHINE, TEMP), stamp - timedelta(seconds=1), stamp + timedelta(seconds=1), 10
    )
    assert [p.value for p in points] == [pytest.approx(100.0)]

    await live.flush()
    view = (await live_services.twins.queries.views([MACHINE]))[0]
    assert view is not None
    assert view.values[TEMP][0].native == pytest.approx(100.0)
    pub.loop_stop()
    pub.disconnect()


async def test_topic_filter_and_plain_number(live_services: Services, mosquitto: Mosquitto) -> None:
    live = live_services.live
    assert live is not None
    await connected(live_services)
    pub = publisher(mosquitto)
    pub.publish("t/line-9/m1/count", b"42", qos=1).wait_for_publish(5)
    await wait_for(lambda: live.value((MACHINE, COUNT)) is not None)
    assert live.value((MACHINE, COUNT)).value == 42  # type: ignore[union-attr]
    pub.loop_stop()
    pub.disconnect()


async def test_malformed_payloads_are_counted_and_change_nothing(
    live_services: Services, mosquitto: Mosquitto
) -> None:
    live = live_services.live
    assert live is not None
    await connected(live_services)
    pub = publisher(mosquitto)
    good = json.dumps({"data": {"t": 32.0}, "ts": "2026-11-22T10:00:00Z"})
    pub.publish("t/l1/m1/temp", good, qos=1).wait_for_publish(5)
    await wait_for(lambda: live.value((MACHINE, TEMP)) is not None)
    for bad in (
        b"{not json",
        b'{"data": {"t": "hot"}}',
        b'{"data": {}}',
        b"x" * 300_000,
        json.dumps({"data": {"t": 1.0}, "ts": "yesterday"}).encode(),
    ):
        pub.publish("t/l1/m1/temp", bad, qos=1).wait_for_publish(5)
    pub.publish("t/l1/m1/count", b"12.5", qos=1).wait_for_publish(5)  # not an integer
    binding = f"{SITE}/bindings/m1-temp"
    await wait_for(lambda: live.ingest.refused[binding] >= 5, what="refusals counted")
    await wait_for(lambda: live.ingest.refused[f"{SITE}/bindings/m1-count"] >= 1)
    assert live.value((MACHINE, TEMP)).value == pytest.approx(0.0)  # type: ignore[union-attr]
    assert live.value((MACHINE, COUNT)) is None
    pub.loop_stop()
    pub.disconnect()


async def test_write_value_publishes_to_the_command_topic(
    live_services: Services, mosquitto: Mosquitto
) -> None:
    live = live_services.live
    assert live is not None
    await connected(live_services)
    got: list[bytes] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-cmd")
    sub.on_message = lambda _c, _u, m: got.append(m.payload)
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("t/l1/m1/count/set", qos=1)
    sub.loop_start()
    await wait_for(sub.is_connected)
    await asyncio.sleep(0.2)
    await live.write_value((MACHINE, COUNT), 7)
    await wait_for(lambda: got, what="command message")
    assert json.loads(got[0])["value"] == 7
    with pytest.raises(BadInput):
        await live.write_value((MACHINE, COUNT), "seven")
    sub.loop_stop()
    sub.disconnect()


async def test_binding_for_unknown_unit_conversion_is_refused(live_services: Services) -> None:
    bad = f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix gtb: <https://w3id.org/graphtwin/binding#> .
@prefix unit: <http://qudt.org/vocab/unit/> .
<{SITE}/bindings/m1-vib> a gtb:MqttBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:vibrationVelocity ;
    gtb:topic "t/l1/m1/vib" ; gtb:sourceUnit unit:DEG_C .
"""
    with pytest.raises(BadInput, match="cannot be converted"):
        await live_services.twins.import_graph(Graph().parse(data=bad, format="turtle"))
    assert (await live_services.twins.queries.views([f"{SITE}/bindings/m1-vib"]))[0] is None


async def test_second_binding_for_the_same_property_is_refused(live_services: Services) -> None:
    dup = f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix gtb: <https://w3id.org/graphtwin/binding#> .
<{SITE}/bindings/m1-temp-2> a gtb:MqttBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:temperature ;
    gtb:broker "mqtt://127.0.0.1:1" ; gtb:topic "t/other" .
"""
    with pytest.raises(BadInput, match="both feed"):
        await live_services.twins.import_graph(Graph().parse(data=dup, format="turtle"))


async def test_flush_writes_each_property_once_per_interval(
    live_services: Services, mosquitto: Mosquitto
) -> None:
    live = live_services.live
    assert live is not None
    await connected(live_services)
    await live.flush()
    pub = publisher(mosquitto)
    for n in range(50):
        pub.publish("t/l1/m1/count", str(n).encode(), qos=1)
    await wait_for(lambda: (s := live.value((MACHINE, COUNT))) is not None and s.value == 49)
    # The flush loop runs every 0.1 s here: 50 messages became a handful of writes
    # of the latest value, never one per message.
    await live.flush()
    assert live.flushed_values < 50
    view = (await live_services.twins.queries.views([MACHINE]))[0]
    assert view is not None and view.values[COUNT][0].native == 49
    pub.loop_stop()
    pub.disconnect()
