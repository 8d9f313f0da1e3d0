"""The one place that builds concrete engines, stores and services.

Nothing connects at import time: ``running`` starts everything inside the
Starlette lifespan or a CLI command and stops it on the way out.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

from starlette.applications import Starlette

from graphtwin.aas.service import AasService
from graphtwin.api.app import AppState, create_app
from graphtwin.api.context import Services
from graphtwin.auth.principal import Authorizer
from graphtwin.config import Settings
from graphtwin.demo.bindings import all_demo_bindings
from graphtwin.demo.field import DemoField, start_field
from graphtwin.demo.plant import build_demo_plant
from graphtwin.graph.engine import GraphEngine
from graphtwin.graph.port import GraphStore
from graphtwin.history.sqlite import SqliteHistory
from graphtwin.live.adapter import AdapterFactory, SourceAdapter
from graphtwin.live.cache import LiveCache
from graphtwin.live.credentials import CredentialStore
from graphtwin.live.ingest import Ingest
from graphtwin.live.mqtt import MqttAdapter
from graphtwin.live.opcua import OpcUaAdapter
from graphtwin.live.runtime import LiveRuntime
from graphtwin.semantics.mapping import GraphMapping
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.prefixes import PrefixTable
from graphtwin.semantics.validation import ShaclValidator, load_shapes
from graphtwin.sim.pool import WorkerPool
from graphtwin.sim.service import Simulator
from graphtwin.sim.topology import LineReader
from graphtwin.twins.policy import IriPolicy
from graphtwin.twins.queries import TwinQueries
from graphtwin.twins.repository import ResourceRepository
from graphtwin.twins.service import TwinService
from graphtwin.twins.view_cache import ViewCache
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
    views = settings.view_cache_views
    repository = ResourceRepository(store, mapping, view_cache=ViewCache(views) if views else None)
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
    return Services(
        twins=twins,
        ontology=ontology,
        authorizer=Authorizer(),
        aas=AasService.from_settings(twins, settings),
        sim=Simulator(LineReader(repository), None, WorkerPool(settings.sim_workers or None)),
    )


async def load_demo(twins: TwinService) -> bool:
    """Import the demo plant unless the graph already has sites. True if imported."""
    if await twins.queries.sites():
        log.info("graph already holds sites; demo plant not imported again")
        return False
    result = await twins.import_graph(build_demo_plant())
    log.info("demo plant imported: %d resources", len(result.created))
    return True


def adapter_factory(settings: Settings, credentials: CredentialStore) -> AdapterFactory:
    """The concrete source adapters, by connection group."""

    def make(group: tuple[str, str], ingest: Ingest) -> SourceAdapter:
        kind, name = group
        if kind == "opcua":
            return OpcUaAdapter(name, ingest, credentials=credentials)
        return MqttAdapter(
            name,
            ingest,
            client_id=settings.mqtt_client_id,
            share_group=settings.mqtt_share_group,
            credentials=credentials,
        )

    return make


def build_live(settings: Settings, services: Services) -> Services:
    """Services with the live runtime and the history store (not started yet)."""
    retention = (
        timedelta(days=settings.history_retention_days) if settings.history_retention_days else None
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    history = SqliteHistory(settings.data_dir / "history.sqlite3", retention=retention)
    credentials = CredentialStore.load(
        settings.credentials_file or settings.data_dir / "credentials-sources.json"
    )
    live = LiveRuntime(
        services.twins,
        LiveCache(),
        history,
        adapter_factory(settings, credentials),
        default_broker=settings.mqtt_url,
        flush_interval=settings.flush_interval,
    )
    if services.aas is not None:
        services.aas.live = live  # bound AAS Properties show live values
    if services.sim is not None:
        services.sim.use_history(history)
    return replace(services, live=live, history=history)


async def start_demo_field(settings: Settings, twins: TwinService) -> DemoField:
    """Start the demo simulators and store the bindings that read them (once)."""
    plant = build_demo_plant()
    broker = settings.mqtt_url or "mqtt://127.0.0.1:1883"
    field = await start_field(
        plant,
        opcua_port=settings.demo_opcua_port,
        broker=broker,
        opcua_endpoint=settings.demo_opcua_endpoint,
    )
    bindings = all_demo_bindings(plant, opcua_endpoint=field.opcua_endpoint, broker=broker)
    iris = sorted({str(s) for s in bindings.subjects()})
    if not await twins.repository.existing(iris[:1]):
        result = await twins.import_graph(bindings)
        log.info("demo bindings imported: %d", len(result.created))
    return field


# The interpreter's hand-over interval between threads while serving (default 5 ms).
# Several threads share the GIL: paho's network loop, the history writer, the event
# loop. A thread coming back from I/O or SQLite (which release the GIL) waits until
# the holder gives it up, up to this long: beside a busy paho thread the history
# writer committed ~25,000 rows/s at 5 ms and ~71,000 at 1 ms.
SWITCH_INTERVAL_S = 0.001
# Allocations between young-generation collections (default 700). Live ingest makes
# and drops tens of thousands of objects a second (parsed payloads, samples, rows)
# that live for a batch of the history writer; at 700 the collector ran hundreds of
# times a second and kept promoting them to older generations to scan again (at
# 30,000 MQTT values/s: ~4.5 % of the time at 10,000, ~3 % at 50,000). But a young
# collection stops the event loop for time in proportion to the threshold (each
# GraphQL request leaves ~100 objects in reference cycles for it): ~6 ms at 10,000
# against ~50 ms at 50,000, which was most of asset(iri)'s p99. 10,000 keeps both.
GC_YOUNG_THRESHOLD = 10_000


@contextmanager
def server_interpreter() -> Iterator[None]:
    """Tune the interpreter for serving; put it back on exit."""
    interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    # Everything built so far (ontologies, shapes, the plant's rdflib graphs, the
    # model) lives as long as the server: move it out of the collector's sight,
    # so the full collections that live data's allocations trigger stay cheap.
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)


@asynccontextmanager
async def running(
    settings: Settings, *, demo: bool = False, supervise: bool = True, live: bool = False
) -> AsyncIterator[Runtime]:
    """Start the graph engine and the services (and, with ``live``, the adapters,
    plus the demo field simulators with ``demo``); stop them on exit."""
    engine = GraphEngine.from_settings(settings, watch_interval=1.0 if supervise else None)
    await engine.start()
    services: Services | None = None
    field: DemoField | None = None
    try:
        services = build_services(settings, engine.store)
        await services.twins.repository.load_prefixes()
        if demo:
            await load_demo(services.twins)
        if live:
            services = build_live(settings, services)
            if demo:
                field = await start_demo_field(settings, services.twins)
            assert services.live is not None
            await services.live.start()
        with server_interpreter():
            yield Runtime(settings=settings, engine=engine, services=services)
    finally:
        if services is not None:
            if services.live is not None:
                await services.live.stop()
            if services.sim is not None:
                await services.sim.close()
            if services.history is not None:
                await services.history.close()
            services.twins.validator.close()
        if field is not None:
            await field.stop()
        await engine.stop()


def build_app(settings: Settings, *, demo: bool = False) -> Starlette:
    """The ASGI app; the engine starts and stops with the app's lifespan."""
    state = AppState()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with running(settings, demo=demo, live=settings.live) as runtime:
            if runtime.services.sim is not None:
                runtime.services.sim.pool.start()
            state.services = runtime.services
            state.ready = runtime.engine.ready
            try:
                yield
            finally:
                state.services = None
                state.ready = None

    return create_app(settings, state, lifespan)
