"""Resource views shared across requests never outlive a write through graphtwin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from graphtwin.api.context import Services
from graphtwin.bootstrap import build_services
from graphtwin.config import Settings
from graphtwin.graph.bolt_store import BoltGraphStore
from graphtwin.semantics.vocab import GT
from graphtwin.twins.service import PropertyInput

LAB = "https://acme.example/sites/lab"
PRESS = f"{LAB}/press-1"
OP10, OP20 = f"{LAB}/line-1-op10", f"{LAB}/line-1-op20"
PLANT = f"""
@prefix gt:   <https://w3id.org/graphtwin/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix lab:  <{LAB}/> .
<{LAB}> a gt:Site ; rdfs:label "Lab" .
lab:line-1 a gt:Line ; rdfs:label "Line 1" ; gt:partOf <{LAB}> .
lab:line-1-op10 a gt:Station ; rdfs:label "OP10" ; gt:partOf lab:line-1 ; gt:feeds lab:line-1-op20 .
lab:line-1-op20 a gt:Station ; rdfs:label "OP20" ; gt:partOf lab:line-1 .
lab:press-1 a gt:Press ; rdfs:label "Press 1" ; gt:partOf lab:line-1-op10 ;
    gt:goodCount 90 ; gt:totalCount 100 .
"""


@pytest.fixture
async def plant(graph_store: BoltGraphStore, test_settings: Settings) -> Services:
    # Sized explicitly: against Neo4j the cache is off unless asked for.
    services = build_services(test_settings.with_overrides(view_cache_size=100), graph_store)
    await services.twins.repository.load_prefixes()
    await services.twins.import_document(PLANT, "turtle")
    return services


async def _good_count(services: Services) -> list[str]:
    view = (await services.twins.repository.load_views([PRESS]))[PRESS]
    return sorted(v.lexical for v in view.values[str(GT.goodCount)])


async def test_a_second_read_of_an_asset_costs_no_round_trip(
    plant: Services, graph_store: BoltGraphStore
) -> None:
    await plant.twins.repository.load_views([PRESS, OP10])
    before = graph_store.round_trips
    again = await plant.twins.repository.load_views([PRESS, OP10])
    assert graph_store.round_trips == before
    assert set(again) == {PRESS, OP10}


async def test_a_property_set_is_seen_by_the_next_read(plant: Services) -> None:
    assert await _good_count(plant) == ["90"]
    await plant.twins.set_property(PRESS, PropertyInput(property="gt:goodCount", value="91"))
    assert await _good_count(plant) == ["91"]


async def test_a_deleted_asset_leaves_the_cached_views_linking_to_it(plant: Services) -> None:
    # OP10 feeds OP20: deleting OP20 removes that link from OP10's view as well.
    before = (await plant.twins.repository.load_views([OP10]))[OP10]
    assert OP20 in before.links.get(str(GT.feeds), [])
    await plant.twins.delete_asset(OP20, cascade=True)
    after = await plant.twins.repository.load_views([OP10, OP20])
    assert OP20 not in after
    assert OP20 not in after[OP10].links.get(str(GT.feeds), [])


async def test_live_values_refresh_the_cached_view(plant: Services) -> None:
    assert await _good_count(plant) == ["90"]
    await plant.twins.repository.write_values([(PRESS, str(GT.goodCount), 95)])
    assert await _good_count(plant) == ["95"]


class _HeldReads:
    """The store, with reads that wait for ``release`` once ``hold`` is set."""

    def __init__(self, store: BoltGraphStore) -> None:
        self.store = store
        self.hold = False
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    @property
    def round_trips(self) -> int:
        return self.store.round_trips

    async def read(self, query: str, params: Any = None) -> Any:
        rows = await self.store.read(query, params)
        if self.hold:
            self.hold = False
            self.reading.set()
            await self.release.wait()
        return rows

    async def write(self, statements: Any) -> Any:
        return await self.store.write(statements)


async def test_a_read_that_straddles_a_write_is_not_kept(
    plant: Services, graph_store: BoltGraphStore
) -> None:
    repository = plant.twins.repository
    held = _HeldReads(graph_store)
    repository.store = held  # type: ignore[assignment]
    held.hold = True
    # This load reads goodCount 90, then a live value 95 is written before it ends.
    stale_load = asyncio.create_task(repository.load_views([PRESS]))
    await held.reading.wait()
    await repository.write_values([(PRESS, str(GT.goodCount), 95)])
    held.release.set()
    stale = (await stale_load)[PRESS]
    assert [v.lexical for v in stale.values[str(GT.goodCount)]] == ["90"]
    # What it read was not kept: the next read goes to the graph and sees 95.
    before = graph_store.round_trips
    assert await _good_count(plant) == ["95"]
    assert graph_store.round_trips == before + 1


async def test_parts_are_served_from_the_cache_and_follow_writes(
    plant: Services, graph_store: BoltGraphStore
) -> None:
    repository = plant.twins.repository
    first = await repository.load_child_views([OP10])
    assert [v.iri for v in first[OP10]] == [PRESS]
    before = graph_store.round_trips
    assert [v.iri for v in (await repository.load_child_views([OP10]))[OP10]] == [PRESS]
    assert graph_store.round_trips == before
    # A live value on a part: the part's view is read again, the parts list is not.
    await repository.write_values([(PRESS, str(GT.goodCount), 93)])
    (press,) = (await repository.load_child_views([OP10]))[OP10]
    assert [v.lexical for v in press.values[str(GT.goodCount)]] == ["93"]
    # A new part: edits drop the parts lists as well.
    await plant.twins.import_document(
        f"<{LAB}/press-2> a <https://w3id.org/graphtwin/core#Press> ; "
        f'<http://www.w3.org/2000/01/rdf-schema#label> "Press 2" ; '
        f"<https://w3id.org/graphtwin/core#partOf> <{OP10}> .",
        "turtle",
    )
    parts = (await repository.load_child_views([OP10]))[OP10]
    assert sorted(v.iri for v in parts) == [PRESS, f"{LAB}/press-2"]
