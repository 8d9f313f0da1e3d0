"""Graph fixtures: one engine for the whole session, a wiped store per test.

The engine is the embedded ArcadeDB in a temporary directory, or Neo4j 5 when
``GRAPHTWIN_NEO4J_URI`` is set (with GRAPHTWIN_NEO4J_USER / _PASSWORD / _DATABASE).
Tests that use these fixtures are marked ``integration`` automatically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from graphtwin.api.context import Services
from graphtwin.bootstrap import build_services
from graphtwin.config import Settings, load_settings
from graphtwin.graph.bolt_store import BoltGraphStore
from graphtwin.graph.engine import GraphEngine
from tests.support.mosquitto import Mosquitto

_GRAPH_FIXTURES = frozenset({"graph_engine", "graph_store", "services"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _GRAPH_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def graph_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GraphEngine]:
    settings = load_settings().with_overrides(data_dir=tmp_path_factory.mktemp("graph"))
    engine = GraphEngine.from_settings(settings)
    await engine.start()
    yield engine
    await engine.stop()


@pytest.fixture
async def graph_store(graph_engine: GraphEngine) -> BoltGraphStore:
    store = graph_engine.store
    await store.write([("MATCH (n) DETACH DELETE n", {})])
    return store


@pytest.fixture
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings().with_overrides(data_dir=tmp_path_factory.mktemp("unused"))


@pytest.fixture
async def services(graph_store: BoltGraphStore, test_settings: Settings) -> Services:
    """Services as bootstrap builds them, over a freshly wiped graph."""
    built = build_services(test_settings, graph_store)
    await built.twins.repository.load_prefixes()
    return built


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real Mosquitto broker on a free loopback port, for one test."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()
