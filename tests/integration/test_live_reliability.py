"""Reliability of live data against real peers the tests start and break themselves.

- graphtwin as a child process is killed with SIGKILL while a publisher streams QoS 1
  sequence numbers through a real Mosquitto; after a restart on the same data
  directory every number is in history exactly once (persistent session, PUBACK
  only once durable, history drops the redelivered duplicates).
- Mosquitto restarts mid-stream (with and without its persisted sessions): the
  adapter reconnects and subscribes again by itself; meanwhile values are stale.
- The asyncua demo server stops and a new one starts on the same port: the
  subscription recovers within 5 s; meanwhile values are stale.
- Sparkplug B: a sequence gap makes graphtwin ask the edge node for a rebirth and
  values continue; the node's NDEATH (the broker-sent will) marks its values stale.

Everything listens on loopback only and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from rdflib import Graph

from graphtwin.api.context import Services
from graphtwin.bootstrap import build_live
from graphtwin.config import Settings
from graphtwin.demo.opcua_server import DemoOpcUaServer, demo_machines
from graphtwin.demo.sparkplug_publisher import DemoSparkplugEdgeNode
from graphtwin.live.runtime import LiveRuntime
from graphtwin.semantics.vocab import GT
from graphtwin.values import Quality, Sample, utcnow
from tests.support.graphtwin_process import GraphtwinProcess
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

SITE = "https://acme.example/sites/rel"
STATION = f"{SITE}/lines/l1/st1"
MACHINE = f"{STATION}/press-1"
TEMP = (MACHINE, str(GT.temperature))
COUNT = (MACHINE, str(GT.totalCount))

PREFIXES = """
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix gtb: <https://w3id.org/graphtwin/binding#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# A press with gt:idealCycleTime, so the demo OPC UA server simulates it too.
PLANT = f"""{PREFIXES}
<{SITE}> a gt:Site ; rdfs:label "Reliability" .
<{SITE}/lines/l1> a gt:Line ; rdfs:label "L1" ; gt:partOf <{SITE}> .
<{STATION}> a gt:Station ; rdfs:label "OP10" ; gt:partOf <{SITE}/lines/l1> .
<{MACHINE}> a gt:Press ; rdfs:label "Press 1" ; gt:partOf <{STATION}> ;
    gt:idealCycleTime 12.0 ; gt:ratedPower 40.0 ; gt:temperature 30.0 .
"""

SEQUENCE_TOPIC = "rel/l1/press-1/count"


def mqtt_count_binding(broker: str) -> str:
    return f"""{PREFIXES}
<{MACHINE}/bindings/count> a gtb:MqttBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:totalCount ;
    gtb:broker "{broker}"^^xsd:anyURI ;
    gtb:topic "{SEQUENCE_TOPIC}" ; gtb:payloadFormat "json" ;
    gtb:valuePath "value" ; gtb:timestampPath "ts" .
"""


def opcua_temperature_binding(endpoint: str, node_id: str) -> str:
    return f"""{PREFIXES}
<{MACHINE}/bindings/temperature> a gtb:OpcUaBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:temperature ;
    gtb:endpoint "{endpoint}"^^xsd:anyURI ;
    gtb:nodeId "{node_id}" ; gtb:samplingInterval 100.0 .
"""


def sparkplug_temperature_binding(broker: str, group: str, node: str, device: str) -> str:
    return f"""{PREFIXES}
<{MACHINE}/bindings/temperature> a gtb:SparkplugBinding ;
    gtb:asset <{MACHINE}> ; gtb:property gt:temperature ;
    gtb:broker "{broker}"^^xsd:anyURI ;
    gtb:groupId "{group}" ; gtb:edgeNode "{node}" ; gtb:device "{device}" ;
    gtb:metric "temperature" .
"""


def payload(n: int, base: datetime) -> bytes:
    """Sequence number ``n`` with its own source time (n ms after ``base``)."""
    return json.dumps({"value": n, "ts": (base + timedelta(milliseconds=n)).isoformat()}).encode()


def publisher(port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


# --------------------------------------------------------------------------- kill -9

SEQUENCE_LENGTH = 3000
KILL_AFTER = 1000
REPLAY = 200  # numbers sent again after the kill
RATE = 500.0  # messages per second: 6 s of publishing
CLIENT_ID = "graphtwin-reliability"

SOURCES = "{ sources { kind connected counters } }"
IMPORT = """
mutation($doc: String!) {
  importRdf(document: $doc) {
    __typename
    ... on UserError { message code }
  }
}
"""
HISTORY = """
query($a: String!, $from: DateTime!, $to: DateTime!, $limit: Int!) {
  history(asset: $a, property: "gt:totalCount", from: $from, to: $to, limit: $limit) {
    points { v quality }
  }
}
"""


class SequencePublisher(threading.Thread):
    """Publishes ``first..count-1`` with QoS 1 at a steady rate, then waits for the
    broker's PUBACKs; ``reached`` is set once ``mark`` numbers are out."""

    def __init__(self, port: int, base: datetime, first: int, count: int, mark: int) -> None:
        super().__init__(name="sequence-publisher", daemon=True)
        self.client = publisher(port, "rel-sequence-publisher")
        self.base = base
        self.first = first
        self.count = count
        self.mark = mark
        self.reached = threading.Event()
        self.stopping = threading.Event()
        self.sent = 0
        self.unacknowledged: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            infos = []
            next_at = time.monotonic()
            for n in range(self.first, self.count):
                if self.stopping.is_set():
                    return
                infos.append((n, self.client.publish(SEQUENCE_TOPIC, payload(n, self.base), 1)))
                self.sent = n + 1
                if self.sent >= self.mark:
                    self.reached.set()
                next_at += 1.0 / RATE
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            deadline = time.monotonic() + 10.0
            for _, info in infos:
                info.wait_for_publish(max(deadline - time.monotonic(), 0.01))
            self.unacknowledged = [n for n, info in infos if not info.is_published()]
        except Exception as exc:  # noqa: BLE001 - the test reports it
            self.error = exc
        finally:
            self.reached.set()

    def close(self) -> None:
        self.stopping.set()
        self.join(15)
        close(self.client)


async def history_values(server: GraphtwinProcess, base: datetime) -> list[object]:
    data = await server.gql(
        HISTORY,
        a=MACHINE,
        **{
            "from": (base - timedelta(seconds=1)).isoformat(),
            "to": (base + timedelta(milliseconds=SEQUENCE_LENGTH, seconds=1)).isoformat(),
            "limit": SEQUENCE_LENGTH + 100,
        },
    )
    return [p["v"] for p in data["history"]["points"]]


def stored_until(database: Path, when: datetime) -> int:
    """How many points the history file holds that were received up to ``when``."""
    micros = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM points WHERE server_t <= ?", (micros,))
    return int(count[0])


async def wait_connected(server: GraphtwinProcess, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        sources = (await server.gql(SOURCES))["sources"]
        if sources and all(s["connected"] for s in sources):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"sources not connected within {timeout}s: {sources}")
        await asyncio.sleep(0.1)


async def test_kill_9_mid_stream_keeps_every_qos1_number_exactly_once(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    started = time.monotonic()
    server = GraphtwinProcess(
        tmp_path / "data",
        tmp_path / "graphtwin.log",
        {
            "GRAPHTWIN_MQTT_URL": mosquitto.url,
            "GRAPHTWIN_MQTT_CLIENT_ID": CLIENT_ID,
            "GRAPHTWIN_FLUSH_INTERVAL": "0.2",
            "GRAPHTWIN_ARCADEDB_HEAP": "512m",
            "GRAPHTWIN_DEV": "false",
            "GRAPHTWIN_LOG_LEVEL": "INFO",
        },
    )
    # Source times a few minutes back: well inside history retention, unique per number.
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    stream: SequencePublisher | None = None
    try:
        async with asyncio.timeout(85):
            server.start()
            await server.wait_ready()
            outcome = await server.gql(IMPORT, doc=PLANT + mqtt_count_binding(mosquitto.url))
            assert outcome["importRdf"]["__typename"] == "WriteSummary", outcome
            await wait_connected(server)

            # Number 0 (always the same source time) until it is stored: from then on
            # graphtwin's persistent session is subscribed and the broker queues for it.
            probe = publisher(mosquitto.port, "rel-probe")
            try:
                deadline = time.monotonic() + 10.0
                while not await history_values(server, base):
                    assert time.monotonic() < deadline, "number 0 never reached history"
                    probe.publish(SEQUENCE_TOPIC, payload(0, base), qos=1)
                    await asyncio.sleep(0.2)
            finally:
                close(probe)

            stream = SequencePublisher(mosquitto.port, base, 1, SEQUENCE_LENGTH, KILL_AFTER)
            stream.start()
            assert await asyncio.to_thread(stream.reached.wait, 20.0)
            engine_pids = server.kill()
            killed_at, killed_time = stream.sent, utcnow()
            assert engine_pids, "the embedded graph engine was not a child of the server"
            # The embedded ArcadeDB must not outlive the server (PR_SET_PDEATHSIG), or
            # the restart below would find its data directory locked.
            await wait_for(
                lambda: not any(server.engine_alive(pid) for pid in engine_pids),
                timeout=20.0,
                what="the embedded graph engine to die with the killed server",
            )

            # A publisher that lost its own session sends again what it is unsure of,
            # here numbers graphtwin had stored already: history must drop them.
            replay = publisher(mosquitto.port, "rel-replay")
            try:
                again = range(killed_at - REPLAY, killed_at)
                infos = [replay.publish(SEQUENCE_TOPIC, payload(n, base), qos=1) for n in again]

                def acknowledged() -> bool:
                    for info in infos:
                        info.wait_for_publish(5)
                    return all(info.is_published() for info in infos)

                assert await asyncio.to_thread(acknowledged), "the broker did not take the replay"
            finally:
                close(replay)

            server.start()
            await server.wait_ready()
            await wait_connected(server)
            await asyncio.to_thread(stream.join, 30.0)
            assert not stream.is_alive(), "the publisher did not finish"
            assert stream.error is None, stream.error
            assert stream.unacknowledged == [], "the broker did not take every number"

            deadline = time.monotonic() + 30.0
            values = await history_values(server, base)
            while len(values) < SEQUENCE_LENGTH and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                values = await history_values(server, base)
            missing = sorted(set(range(SEQUENCE_LENGTH)) - set(values))
            assert not missing, f"{len(missing)} numbers lost (first {missing[:20]})"
            # In source time order, each number once: nothing lost, nothing doubled.
            assert values == list(range(SEQUENCE_LENGTH))

            # Deliveries to the restarted server that added no point were duplicates:
            # the replayed numbers, and any the broker redelivered (stored, not acked).
            sources = (await server.gql(SOURCES))["sources"]
            received = sources[0]["counters"]["received"]
            stored_before = stored_until(server.data_dir / "history.sqlite3", killed_time)
            dropped = received - (SEQUENCE_LENGTH - stored_before)
            assert dropped >= 1, (received, stored_before)
            log.info(
                "kill -9 after %d numbers sent, %d stored; after the restart %d delivered, "
                "%d duplicates dropped; all %d in history %.1fs after the test started",
                killed_at,
                stored_before,
                received,
                dropped,
                SEQUENCE_LENGTH,
                time.monotonic() - started,
            )
    except BaseException:
        log.error("graphtwin log:\n%s", server.log_tail())
        raise
    finally:
        if stream is not None:
            await asyncio.to_thread(stream.close)
        await asyncio.to_thread(server.stop)


# --------------------------------------------------------------------------- in-process


@asynccontextmanager
async def live_runtime(
    services: Services, settings: Settings, *documents: str
) -> AsyncIterator[LiveRuntime]:
    """The live runtime as bootstrap builds it, over the plant and ``documents``."""
    for document in (PLANT, *documents):
        await services.twins.import_graph(Graph().parse(data=document, format="turtle"))
    built = build_live(settings.with_overrides(flush_interval=0.1), services)
    assert built.live is not None and built.history is not None
    await built.live.start()
    try:
        yield built.live
    finally:
        await built.live.stop()
        await built.history.close()


def quality(live: LiveRuntime, key: tuple[str, str]) -> Quality | None:
    sample = live.value(key)
    return None if sample is None else sample.quality


def fresh(live: LiveRuntime, key: tuple[str, str], since: datetime) -> Sample | None:
    """The current sample of ``key`` if it is GOOD and was received after ``since``."""
    sample = live.value(key)
    if sample is not None and sample.quality is Quality.GOOD and sample.server_time > since:
        return sample
    return None


@pytest.mark.parametrize("session_kept", [True, False], ids=["session-kept", "session-lost"])
async def test_mosquitto_restart_reconnects_and_resubscribes(
    services: Services, mosquitto: Mosquitto, test_settings: Settings, session_kept: bool
) -> None:
    """With ``session_kept`` Mosquitto restarts with its persisted sessions; without, it
    forgets them, so values flow again only if graphtwin subscribes again itself."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    settings = test_settings.with_overrides(mqtt_client_id=f"gt-rel-{session_kept}")
    async with live_runtime(services, settings, mqtt_count_binding(mosquitto.url)) as live:
        await wait_for(lambda: all(s.connected for s in live.status()), what="connected")
        pub = publisher(mosquitto.port, "rel-pub-1")
        try:
            pub.publish(SEQUENCE_TOPIC, payload(1, base), qos=1).wait_for_publish(5)
            await wait_for(lambda: quality(live, COUNT) is Quality.GOOD, what="first value")
        finally:
            close(pub)
        assert live.value(COUNT).value == 1  # type: ignore[union-attr]
        await live.history.flush()  # stored, so acknowledged (or redelivered later)

        await asyncio.to_thread(mosquitto.stop)
        await wait_for(
            lambda: quality(live, COUNT) is Quality.STALE and not live.status()[0].connected,
            what="stale while the broker is down",
        )
        assert live.value(COUNT).value == 1  # type: ignore[union-attr]
        if not session_kept:
            (mosquitto.directory / "mosquitto.db").unlink(missing_ok=True)
        restarted = utcnow()
        await asyncio.to_thread(mosquitto.start)
        await wait_for(
            lambda: live.status()[0].connected and live.status()[0].counters["connects"] >= 2,
            timeout=15.0,
            what="reconnected",
        )

        def new_number() -> Sample | None:
            # Number 1 may come again: its PUBACK may not have reached the old broker.
            sample = fresh(live, COUNT, restarted)
            return sample if sample is not None and sample.value != 1 else None

        # New numbers until one arrives: the subscription may still be on its way.
        pub = publisher(mosquitto.port, "rel-pub-2")
        try:
            n = 2
            deadline = time.monotonic() + 10.0
            while new_number() is None:
                assert time.monotonic() < deadline, "no value after the broker restart"
                pub.publish(SEQUENCE_TOPIC, payload(n, base), qos=1)
                n += 1
                await asyncio.sleep(0.1)
        finally:
            close(pub)
        sample = new_number()
        assert sample is not None and isinstance(sample.value, int) and 2 <= sample.value < n


async def test_opcua_server_restart_recovers_within_5s(
    services: Services, test_settings: Settings
) -> None:
    machines = demo_machines(Graph().parse(data=PLANT, format="turtle"))
    assert [m.iri for m in machines] == [MACHINE]
    port = free_port()
    server = DemoOpcUaServer(machines, port=port, tick=0.2)
    await server.start()
    replacement: DemoOpcUaServer | None = None
    node_id = f"nsu=urn:graphtwin:demo:opcua;s={machines[0].key}.temperature"
    try:
        binding = opcua_temperature_binding(server.endpoint, node_id)
        async with live_runtime(services, test_settings, binding) as live:
            await wait_for(lambda: quality(live, TEMP) is Quality.GOOD, what="first value")
            before = live.value(TEMP)
            assert before is not None
            await wait_for(lambda: fresh(live, TEMP, before.server_time), what="updates")

            await server.stop()
            await wait_for(lambda: quality(live, TEMP) is Quality.STALE, what="stale")
            assert not live.status()[0].connected
            await asyncio.sleep(1.0)  # down for a while: the adapter backs off meanwhile
            assert quality(live, TEMP) is Quality.STALE

            replacement = DemoOpcUaServer(machines, port=port, tick=0.2)
            await replacement.start()
            restarted = utcnow()
            clock = time.monotonic()
            await wait_for(lambda: fresh(live, TEMP, restarted), timeout=5.0, what="recovery")
            recovered = time.monotonic() - clock
            first = fresh(live, TEMP, restarted)
            assert first is not None
            # And it keeps updating: the subscription is back, not just the first read.
            await wait_for(
                lambda: fresh(live, TEMP, first.server_time), timeout=3.0, what="updates"
            )
            assert live.status()[0].counters["connects"] >= 2
            log.info("OPC UA recovered %.2fs after the server came back", recovered)
    finally:
        await server.stop()
        if replacement is not None:
            await replacement.stop()


async def test_sparkplug_gap_requests_rebirth_and_ndeath_marks_stale(
    services: Services, mosquitto: Mosquitto, test_settings: Settings
) -> None:
    group, node, device = "rel-group", "rel-node", "press-1"
    binding = sparkplug_temperature_binding(mosquitto.url, group, node, device)
    settings = test_settings.with_overrides(mqtt_client_id="gt-rel-sparkplug")
    async with live_runtime(services, settings, binding) as live:
        await wait_for(lambda: all(s.connected for s in live.status()), what="connected")
        edge = DemoSparkplugEdgeNode(
            "127.0.0.1", mosquitto.port, [device], group=group, edge_node=node, interval=0.1
        )
        try:
            await asyncio.to_thread(edge.start)
            await wait_for(lambda: quality(live, TEMP) is Quality.GOOD, what="first value")

            births = edge.births
            requests = live.status()[0].counters.get("sparkplug_RequestRebirth", 0)
            edge.skip_seq()
            # The held message expires after the 2 s reorder window: rebirth asked for.
            await wait_for(lambda: edge.births > births, timeout=10.0, what="rebirth")
            counters = live.status()[0].counters
            assert counters.get("sparkplug_RequestRebirth", 0) > requests, counters
            reborn = utcnow()
            await wait_for(lambda: fresh(live, TEMP, reborn), what="values after the rebirth")

            await asyncio.to_thread(edge.stop, False)  # the broker publishes the NDEATH will
            await wait_for(lambda: quality(live, TEMP) is Quality.STALE, what="stale on NDEATH")
            assert live.value(TEMP).value is not None  # type: ignore[union-attr]
        finally:
            await asyncio.to_thread(edge.stop)
