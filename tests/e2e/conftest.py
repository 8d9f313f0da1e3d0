"""End-to-end fixtures: the real app over HTTP, on the session's real graph engine.

Services are built the way ``graphtwin.bootstrap`` builds them, over the store of
the session engine (``graph_engine`` in tests/conftest.py), and the Starlette app
is driven in-process through ``httpx.ASGITransport``. No mocks.

- ``demo_twin`` (module scope): the ACME demo plant, imported once per module.
  Tests using it must not change the graph.
- ``lab_twin`` (per test): a small plant (``LAB_PLANT``), re-imported for every
  test, for mutations.
- ``shared_lab_twin`` (module scope): the small plant once per module, for tests
  whose writes must all be refused (they prove it by comparing ``graph_state``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from rdflib import Graph

from graphtwin.api.app import AppState, create_app
from graphtwin.api.context import Services
from graphtwin.bootstrap import build_services, load_demo
from graphtwin.config import Settings, load_settings
from graphtwin.demo.plant import build_demo_plant
from graphtwin.graph.engine import GraphEngine
from graphtwin.graph.port import GraphStore

ACME = "https://acme.example/"
GT = "https://w3id.org/graphtwin/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# --- the demo plant (graphtwin/demo/plant.py) ------------------------------------
STUTTGART = f"{ACME}sites/stuttgart"
GREENVILLE = f"{ACME}sites/greenville"
BODY_SHOP = f"{STUTTGART}/areas/body-shop"
PRESS_LINE = f"{STUTTGART}/lines/press-1"
PRESS_OP10 = f"{PRESS_LINE}/stations/op10"
PRESS_OP20 = f"{PRESS_LINE}/stations/op20"
PRESS_OP30 = f"{PRESS_LINE}/stations/op30"
PRESS_1A = f"{PRESS_OP10}/press-1a"
CNC_1A = f"{STUTTGART}/lines/cnc-1/stations/op10/cnc-1a"

# --- a small plant for mutations ----------------------------------------------------
LAB = f"{ACME}sites/lab"
LAB_LINE = f"{LAB}/lines/l1"
LAB_OP10 = f"{LAB_LINE}/stations/op10"
LAB_OP20 = f"{LAB_LINE}/stations/op20"
LAB_B10 = f"{LAB_LINE}/buffers/b10"
LAB_PRESS = f"{LAB_OP10}/press-1"
LAB_MOTOR = f"{LAB_PRESS}/motor"
LAB_ROBOT = f"{LAB_OP20}/robot-1"

LAB_PLANT = f"""
@prefix gt: <{GT}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <{XSD}> .

<{LAB}> a gt:Site ; rdfs:label "Lab" ; gt:siteCode "LAB" .
<{LAB_LINE}> a gt:Line ; rdfs:label "Line 1" ; gt:partOf <{LAB}> .
<{LAB_OP10}> a gt:Station ; rdfs:label "OP10" ; gt:partOf <{LAB_LINE}> ; gt:feeds <{LAB_B10}> .
<{LAB_B10}> a gt:Buffer ; rdfs:label "B10" ; gt:capacity 4 ; gt:partOf <{LAB_LINE}> ;
    gt:feeds <{LAB_OP20}> .
<{LAB_OP20}> a gt:Station ; rdfs:label "OP20" ; gt:partOf <{LAB_LINE}> .
<{LAB_PRESS}> a gt:Press ; rdfs:label "Press 1" ; gt:partOf <{LAB_OP10}> ;
    gt:manufacturer "Krautmann Pressen" ; gt:idealCycleTime 5.0 ;
    gt:totalCount 100 ; gt:goodCount 95 .
<{LAB_MOTOR}> a gt:Motor ; rdfs:label "Motor" ; gt:partOf <{LAB_PRESS}> .
<{LAB_ROBOT}> a gt:IndustrialRobot ; rdfs:label "Robot 1" ; gt:partOf <{LAB_OP20}> .
"""


@functools.cache
def demo_graph() -> Graph:
    """The demo plant as rdflib builds it (the source of truth for expected values)."""
    return build_demo_plant()


@dataclass
class Twin:
    """A running app and what it runs on."""

    client: httpx.AsyncClient
    services: Services
    store: GraphStore
    settings: Settings

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.client.post("/graphql", json=body)

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """``data`` of a query that must succeed without GraphQL errors."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert "errors" not in payload, payload["errors"]
        data: dict[str, Any] = payload["data"]
        return data

    async def mutate(
        self, mutation: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The single top-level field of a mutation's ``data``."""
        data = await self.query(mutation, variables)
        (result,) = data.values()
        assert isinstance(result, dict)
        return result


async def wipe(store: GraphStore) -> None:
    await store.write([("MATCH (n) DETACH DELETE n", {})])


async def graph_state(store: GraphStore) -> list[str]:
    """Every node (labels, properties) and relationship, canonically: equal lists
    mean an identical stored graph (prefix nodes included)."""
    nodes = await store.read("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    rels = await store.read(
        "MATCH (a)-[r]->(b) RETURN a.iri AS a, type(r) AS t, b.iri AS b, properties(r) AS props"
    )
    rows = [
        json.dumps(
            {"labels": sorted(r["labels"]), "props": r["props"]}, sort_keys=True, default=str
        )
        for r in nodes
    ]
    rows += [json.dumps(r, sort_keys=True, default=str) for r in rels]
    return sorted(rows)


@asynccontextmanager
async def serve(
    engine: GraphEngine,
    settings: Settings,
    *,
    app_settings: Settings | None = None,
    ready: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[Twin]:
    """The app over services built as bootstrap builds them, on the session engine.

    ``app_settings`` (default ``settings``) configures the HTTP edge separately
    from the services, so each limit can be tested on its own.
    """
    services = build_services(settings, engine.store)
    await services.twins.repository.load_prefixes()
    state = AppState(services=services, ready=ready or engine.ready)
    app = create_app(app_settings or settings, state)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Twin(client=client, services=services, store=engine.store, settings=settings)
    finally:
        if services.sim is not None:
            await services.sim.close()


@pytest.fixture(scope="session")
def e2e_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="module")
async def demo_twin(graph_engine: GraphEngine, e2e_settings: Settings) -> AsyncIterator[Twin]:
    """The demo plant, imported once for the module; tests must not change it."""
    await wipe(graph_engine.store)
    async with serve(graph_engine, e2e_settings) as twin:
        assert await load_demo(twin.services.twins)
        yield twin


@pytest.fixture
async def lab_twin(graph_engine: GraphEngine, e2e_settings: Settings) -> AsyncIterator[Twin]:
    """A fresh small plant (``LAB_PLANT``) for every test."""
    await wipe(graph_engine.store)
    async with serve(graph_engine, e2e_settings) as twin:
        await twin.services.twins.import_document(LAB_PLANT, "turtle")
        yield twin


@pytest.fixture(scope="module")
async def shared_lab_twin(graph_engine: GraphEngine, e2e_settings: Settings) -> AsyncIterator[Twin]:
    """The small plant, imported once for the module; tests must not change it."""
    await wipe(graph_engine.store)
    async with serve(graph_engine, e2e_settings) as twin:
        await twin.services.twins.import_document(LAB_PLANT, "turtle")
        yield twin
