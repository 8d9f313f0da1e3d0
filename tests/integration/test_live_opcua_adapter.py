"""The OPC UA adapter's lifecycle against a real asyncua demo server on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rdflib import Graph

from graphtwin.demo.opcua_server import DemoOpcUaServer, demo_machines
from graphtwin.history.sqlite import SqliteHistory
from graphtwin.live.bindings import Binding, OpcUaSource
from graphtwin.live.cache import LiveCache
from graphtwin.live.ingest import Ingest
from graphtwin.live.opcua import OpcUaAdapter
from graphtwin.semantics.vocab import GT
from tests.support.mosquitto import free_port
from tests.support.plants import one_press_plant, press_of

SITE = "https://acme.example/sites/life"
PRESS = press_of(SITE)
PLANT = one_press_plant(SITE, "Life")
KEY = (PRESS, str(GT.temperature))
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"


@pytest.fixture
async def server() -> AsyncIterator[DemoOpcUaServer]:
    demo = DemoOpcUaServer(
        demo_machines(Graph().parse(data=PLANT, format="turtle")), port=free_port(), tick=0.2
    )
    await demo.start()
    yield demo
    await demo.stop()


@pytest.fixture
async def history(tmp_path: Path) -> AsyncIterator[SqliteHistory]:
    store = SqliteHistory(tmp_path / "history.sqlite3", retention=None)
    yield store
    await store.close()


def temperature(server: DemoOpcUaServer) -> Binding:
    machine = demo_machines(Graph().parse(data=PLANT, format="turtle"))[0].key
    source = OpcUaSource(server.endpoint, server.node_id(machine, "temperature"), 100.0)
    return Binding(iri=f"{PRESS}/bindings/temperature", key=KEY, source=source, datatype=XSD_DOUBLE)


async def test_stopping_the_adapter_as_its_first_value_arrives_does_not_hang(
    server: DemoOpcUaServer, history: SqliteHistory
) -> None:
    # The first value arrives while the session sets up its subscription; a stop
    # right then used to be lost about every other time (Python 3.11's wait_for
    # dropped the cancellation), leaving stop() waiting on a session that ran on.
    binding = temperature(server)
    for attempt in range(8):
        cache = LiveCache()
        cache.attach(asyncio.get_running_loop())
        adapter = OpcUaAdapter(binding.source.group, Ingest(cache, history))  # type: ignore[union-attr]
        await adapter.update([binding])
        await adapter.start()
        session = adapter._task
        assert session is not None
        deadline = time.monotonic() + 15
        while cache.get(KEY) is None:
            assert time.monotonic() < deadline, f"attempt {attempt}: no value from the server"
            await asyncio.sleep(0.001)
        # stop() from another task, as the runtime's callers do: the cancellation then
        # lands one loop iteration later, inside the session's first watch.
        stopping = asyncio.create_task(adapter.stop())
        done, _ = await asyncio.wait([stopping], timeout=5)
        if not done:
            session.cancel()  # once more, so the fixtures' teardown can run
            pytest.fail(f"attempt {attempt}: stop() did not return within 5 s")
        assert not adapter.connected


async def test_an_adapter_started_again_after_stop_reconnects(
    server: DemoOpcUaServer, history: SqliteHistory
) -> None:
    binding = temperature(server)
    cache = LiveCache()
    cache.attach(asyncio.get_running_loop())
    adapter = OpcUaAdapter(binding.source.group, Ingest(cache, history))  # type: ignore[union-attr]
    await adapter.update([binding])
    for _ in range(2):
        await adapter.start()
        async with asyncio.timeout(15):
            while not adapter.connected or adapter.status().counters["monitored"] != 1:
                await asyncio.sleep(0.02)
        await adapter.stop()
    assert adapter.connects == 2
