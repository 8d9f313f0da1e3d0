"""The one place that builds concrete engines, stores and services.

Nothing connects at import time: ``running`` starts everything inside the
Starlette lifespan or a CLI command and stops it on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette

from graphtwin.api.app import AppState, create_app
from graphtwin.api.context import Services
from graphtwin.auth.principal import Authorizer
from graphtwin.config import Settings
from graphtwin.demo.plant import build_demo_plant
from graphtwin.graph.engine import GraphEngine
from graphtwin.graph.port import GraphStore
from graphtwin.semantics.mapping import GraphMapping
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.prefixes import PrefixTable
from graphtwin.semantics.validation import ShaclValidator, load_shapes
from graphtwin.twins.policy import IriPolicy
from graphtwin.twins.queries import TwinQueries
from graphtwin.twins.repository import ResourceRepository
from graphtwin.twins.service import TwinService
from graphtwin.twins.writer import ChangeWriter

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: GraphEngine
    services: Services


def build_services(settings: Settings, store: GraphStore) -> Services:
    """Services over ``store`` with the ontologies and shapes from ``settings``.

    :raises BadInput: an ontology or shapes file does not parse.
    """
    ontology = OntologyIndex.load(settings.ontology_dir)
    validator = ShaclValidator(load_shapes(settings.shapes_dir), ontology.graph)
    mapping = GraphMapping(ontology, PrefixTable(ontology.prefixes))
    repository = ResourceRepository(store, mapping)
    policy = IriPolicy(settings.namespaces)
    queries = TwinQueries(repository, ontology)
    twins = TwinService(
        repository=repository,
        writer=ChangeWriter(repository, validator, ontology, policy),
        queries=queries,
        ontology=ontology,
        validator=validator,
        policy=policy,
        max_upload_bytes=settings.max_upload_bytes,
    )
    return Services(twins=twins, ontology=ontology, authorizer=Authorizer())


async def load_demo(twins: TwinService) -> bool:
    """Import the demo plant unless the graph already has sites. True if imported."""
    if await twins.queries.sites():
        log.info("graph already holds sites; demo plant not imported again")
        return False
    result = await twins.import_graph(build_demo_plant())
    log.info("demo plant imported: %d resources", len(result.created))
    return True


@asynccontextmanager
async def running(
    settings: Settings, *, demo: bool = False, supervise: bool = True
) -> AsyncIterator[Runtime]:
    """Start the graph engine and the services; stop them on exit."""
    engine = GraphEngine.from_settings(settings, watch_interval=1.0 if supervise else None)
    await engine.start()
    services: Services | None = None
    try:
        services = build_services(settings, engine.store)
        await services.twins.repository.load_prefixes()
        if demo:
            await load_demo(services.twins)
        yield Runtime(settings=settings, engine=engine, services=services)
    finally:
        if services is not None:
            services.twins.validator.close()
        await engine.stop()


def build_app(settings: Settings, *, demo: bool = False) -> Starlette:
    """The ASGI app; the engine starts and stops with the app's lifespan."""
    state = AppState()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with running(settings, demo=demo) as runtime:
            state.services = runtime.services
            state.ready = runtime.engine.ready
            try:
                yield
            finally:
                state.services = None
                state.ready = None

    return create_app(settings, state, lifespan)
