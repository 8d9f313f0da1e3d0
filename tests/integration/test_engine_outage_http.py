"""The engine dies under a running API: readiness says so, requests get a retryable
error, the supervisor brings the engine back, and committed writes are still there."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from graphtwin.api.app import AppState, create_app
from graphtwin.bootstrap import build_services
from graphtwin.config import load_settings
from graphtwin.graph.engine import GraphEngine

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        bool(os.environ.get("GRAPHTWIN_NEO4J_URI")), reason="kills the embedded engine"
    ),
]

SITE = "https://acme.example/sites/lab"
PLANT = f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{SITE}> a gt:Site ; rdfs:label "Lab" .
<{SITE}/line-1> a gt:Line ; rdfs:label "Line 1" ; gt:partOf <{SITE}> .
"""
ASSET = f'{{ asset(iri: "{SITE}/line-1") {{ label }} }}'
CREATE = (
    f'mutation {{ createAsset(iri: "{SITE}/line-2", type: "gt:Line", label: "Line 2", '
    f'partOf: "{SITE}") {{ __typename ... on UserError {{ code }} '
    "... on UnavailableError { retryable } } }"
)


@dataclass
class Served:
    engine: GraphEngine
    client: httpx.AsyncClient


@asynccontextmanager
async def serve(data_dir: Path, *, supervise: bool) -> AsyncIterator[Served]:
    settings = load_settings().with_overrides(data_dir=data_dir)
    engine = GraphEngine.from_settings(settings, watch_interval=0.5 if supervise else None)
    await engine.start()
    services = build_services(settings, engine.store)
    await services.twins.repository.load_prefixes()
    await services.twins.import_document(PLANT, "turtle")
    app = create_app(settings, AppState(services=services, ready=engine.ready))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Served(engine, client)
    services.twins.validator.close()
    await engine.stop()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with serve(tmp_path, supervise=True) as running:
        yield running


@pytest.fixture
async def unsupervised(tmp_path: Path) -> AsyncIterator[Served]:
    async with serve(tmp_path, supervise=False) as running:
        yield running


async def test_engine_killed_then_restarted_keeps_committed_writes(served: Served) -> None:
    embedded = served.engine.embedded
    assert embedded is not None and embedded.pid is not None
    os.kill(embedded.pid, signal.SIGKILL)
    await asyncio.to_thread(_wait_for_exit, embedded.pid)

    ready = await served.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "graph": False}

    query = (await served.client.post("/graphql", json={"query": ASSET})).json()
    if query.get("errors"):  # the supervisor may already have restarted it
        assert query["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert "bolt" not in query["errors"][0]["message"].lower()

    deadline = time.monotonic() + 90
    while (await served.client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "the supervisor did not restart the engine"
        await asyncio.sleep(0.5)

    query = (await served.client.post("/graphql", json={"query": ASSET})).json()
    assert query == {"data": {"asset": {"label": "Line 1"}}}
    created = (await served.client.post("/graphql", json={"query": CREATE})).json()
    assert created["data"]["createAsset"]["__typename"] == "WriteSummary"


async def test_a_write_while_the_engine_is_down_is_a_retryable_typed_error(
    unsupervised: Served,
) -> None:
    # No supervisor here, so the outage lasts while we look at it.
    embedded = unsupervised.engine.embedded
    assert embedded is not None
    embedded.kill()

    created = (await unsupervised.client.post("/graphql", json={"query": CREATE})).json()
    assert created["data"]["createAsset"] == {
        "__typename": "UnavailableError",
        "code": "SOURCE_UNAVAILABLE",
        "retryable": True,
    }
    assert (await unsupervised.client.get("/readyz")).status_code == 503


def _wait_for_exit(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
