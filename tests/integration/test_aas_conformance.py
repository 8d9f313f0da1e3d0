"""IDTA conformance: ``aas_test_engines`` runs both v3.0 read suites (SSP-002 of the
AAS Repository and of the Submodel Repository) against a live uvicorn serving the
real app on 127.0.0.1.

The model (tests/e2e/test_aas_rest_model.py) has two shells and two submodels; the
first submodel holds one element of each of the 14 kinds, so every per-kind check
of the engine runs. It is served twice: from an in-memory read model (no graph),
and imported through AasService into the twin graph (the ``services`` fixture),
as the server runs it. The engine's only HTTP traffic goes to this server.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from aas_test_engines import api, config, http
from aas_test_engines.result import AasTestResult, Level
from basyx.aas.adapter.json import write_aas_json_file
from starlette.applications import Starlette

from graphtwin.api.app import AppState, create_app
from graphtwin.api.context import Services
from graphtwin.config import load_settings
from tests.e2e.test_aas_rest_model import (
    LIVE_KEY,
    AasServices,
    FakeLive,
    build_store,
    fake_read_model,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

SUITES = [
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002",
]
# A whole suite takes 2-4 s here; the cap only keeps a hung run from hanging CI.
SUITE_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """The API root of a uvicorn running ``app`` on the test's event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, what="uvicorn started")
    try:
        yield f"http://127.0.0.1:{port}/api/v3.0"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    """The app over the fake read model (no graph), with a live value."""

    async def ready() -> bool:
        return True

    services = AasServices(aas=fake_read_model(), live=FakeLive({LIVE_KEY: 30.25}))
    app = create_app(load_settings(), AppState(services=services, ready=ready))  # type: ignore[arg-type]
    async with serving(app) as url:
        yield url


def leaves(result: AasTestResult, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Level]]:
    """Every innermost result, with the messages leading to it."""
    here = (*path, result.message.strip())
    if not result.sub_results:
        yield " > ".join(here[-4:]), result.level
    for sub in result.sub_results:
        yield from leaves(sub, here)


async def check_suite(base_url: str, suite: str) -> None:
    """Run one suite; fail on any ERROR/CRITICAL result or misjudged request."""
    client = http.HttpClient(host=base_url, verify=False)
    conf = config.CheckApiConfig(suite=suite, version="3.0", dry=False, filter=None)
    # The engine is synchronous (requests): a thread, so the server keeps serving.
    result, mat = await asyncio.wait_for(
        asyncio.to_thread(api.execute_tests, client, conf), SUITE_SECONDS
    )

    failures = [name for name, level in leaves(result) if level in (Level.ERROR, Level.CRITICAL)]
    assert failures == [], suite
    assert result.ok()
    assert mat.valid_rejected == 0
    assert mat.invalid_accepted == 0
    # The suite really ran: dozens of positive and negative requests.
    assert mat.valid_accepted >= 70
    assert mat.invalid_rejected >= 30


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.split("/")[-2])
async def test_read_profile_passes_the_idta_test_engine(base_url: str, suite: str) -> None:
    await check_suite(base_url, suite)


# --- the same suites against AasService over the twin graph ------------------------------------


def environment_json() -> bytes:
    buffer = io.StringIO()
    write_aas_json_file(buffer, build_store())
    return buffer.getvalue().encode()


async def test_read_profiles_pass_against_aas_service_over_the_graph(services: Services) -> None:
    """The model imported through AasService (one validated write into the graph),
    served by the app over the services bootstrap builds, checked by both suites."""
    assert services.aas is not None
    await services.aas.import_bytes(environment_json(), "json")

    async def ready() -> bool:
        return True

    app = create_app(load_settings(), AppState(services=services, ready=ready))
    async with serving(app) as url:
        for suite in SUITES:
            await check_suite(url, suite)
