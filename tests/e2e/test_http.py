"""The HTTP edge: health and readiness, GraphiQL in dev mode only, and masking of
unexpected errors (no Cypher, no secrets, no stack traces to clients)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from graphtwin.api.app import AppState, create_app
from graphtwin.config import Settings
from graphtwin.graph.engine import GraphEngine
from graphtwin.twins.queries import TwinQueries
from graphtwin.twins.writer import ChangeWriter

from .conftest import LAB_B10, LAB_LINE, Twin, graph_state, serve

pytestmark = pytest.mark.e2e

SECRET = "secret cypher MATCH (n) DETACH DELETE n on bolt://10.0.0.7:7687"


async def _not_ready() -> bool:
    return False


async def _explode(*_: Any, **__: Any) -> Any:
    raise RuntimeError(SECRET)


@pytest.fixture
async def twin(graph_engine: GraphEngine, e2e_settings: Settings) -> AsyncIterator[Twin]:
    """The app over whatever the graph holds (these tests do not depend on it)."""
    async with serve(graph_engine, e2e_settings) as running:
        yield running


def assert_masked(response: httpx.Response, field: str) -> None:
    assert response.status_code == 200
    payload = response.json()
    (error,) = payload["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == [field]
    assert "extensions" not in error
    for leak in ("secret", "MATCH", "bolt://", "10.0.0.7", "RuntimeError", "Traceback"):
        assert leak not in response.text


# --- health and readiness ----------------------------------------------------------------
async def test_healthz_is_ok(twin: Twin) -> None:
    response = await twin.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_the_engine_answers(twin: Twin) -> None:
    response = await twin.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "graph": True}


async def test_readyz_is_503_when_the_engine_does_not_answer(
    graph_engine: GraphEngine, e2e_settings: Settings
) -> None:
    async with serve(graph_engine, e2e_settings, ready=_not_ready) as twin:
        response = await twin.client.get("/readyz")
        # Liveness does not depend on the engine.
        health = await twin.client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "graph": False}
    assert health.status_code == 200


async def test_readyz_is_503_before_the_services_are_started(e2e_settings: Settings) -> None:
    app = create_app(e2e_settings, AppState())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "graph": False}


# --- GraphiQL ------------------------------------------------------------------------------
async def test_graphiql_is_served_in_dev_mode(
    graph_engine: GraphEngine, e2e_settings: Settings
) -> None:
    dev = dataclasses.replace(e2e_settings, dev=True)
    async with serve(graph_engine, dev) as twin:
        response = await twin.client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_outside_dev_mode(
    graph_engine: GraphEngine, e2e_settings: Settings
) -> None:
    production = dataclasses.replace(e2e_settings, dev=False)
    async with serve(graph_engine, production) as twin:
        response = await twin.client.get("/graphql", headers={"Accept": "text/html"})
        # The API itself still answers.
        data = await twin.query('{ ontologyClass(iri: "gt:Site") { label } }')

    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()
    assert data == {"ontologyClass": {"label": "Site"}}


# --- masking of unexpected errors -------------------------------------------------------------
async def test_unexpected_error_in_a_query_is_masked_and_logged(
    twin: Twin, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(TwinQueries, "sites", _explode)

    with caplog.at_level(logging.ERROR):
        response = await twin.post("{ sites { iri } }")

    assert_masked(response, "sites")
    assert response.json()["data"] is None
    # The operator still sees what happened.
    assert any(SECRET in record.getMessage() for record in caplog.records)


async def test_expected_query_errors_are_not_logged_as_server_errors(
    twin: Twin, caplog: pytest.LogCaptureFixture
) -> None:
    # A client's bad cursor is the client's business, not an operator's alarm.
    with caplog.at_level(logging.INFO):
        response = await twin.post('{ assets(after: "!!!") { nodes { iri } } }')

    extensions = response.json()["errors"][0]["extensions"]
    assert extensions["code"] == "BAD_INPUT"
    assert set(extensions) <= {"code", "field"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("invalid cursor" in r.getMessage() for r in caplog.records)


async def test_unexpected_error_in_a_nested_loader_is_masked(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TwinQueries, "views", _explode)

    response = await twin.post(f'{{ asset(iri: "{LAB_LINE}") {{ iri }} }}')

    assert_masked(response, "asset")


async def test_unexpected_error_in_a_mutation_is_masked_and_writes_nothing(
    lab_twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await graph_state(lab_twin.store)
    monkeypatch.setattr(ChangeWriter, "apply", _explode)

    response = await lab_twin.post(
        f'mutation {{ setProperty(iri: "{LAB_B10}", property: "gt:capacity", value: "5")'
        " { __typename } }"
    )

    assert_masked(response, "setProperty")
    assert await graph_state(lab_twin.store) == before


async def test_unknown_route_is_404(twin: Twin) -> None:
    response = await twin.client.get("/admin")

    assert response.status_code == 404
