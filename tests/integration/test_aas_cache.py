"""Reads of stored shells and submodels are kept until a write changes them: a repeated
read of an unchanged submodel costs no round trip to the graph engine, and every
write through the twin writer is visible to the next read."""

from __future__ import annotations

import pytest
from basyx.aas import model

from graphtwin.aas.environment import Environment
from graphtwin.aas.service import AasService
from graphtwin.aas.vocab import Kind
from graphtwin.api.context import Services
from graphtwin.graph.bolt_store import BoltGraphStore
from graphtwin.semantics.changeset import ChangeSet
from graphtwin.semantics.vocab import GT
from graphtwin.twins.service import PropertyInput
from graphtwin.values import PropertyKey, Quality, Sample, utcnow
from tests.unit.test_aas_sample import (
    PLANT,
    PUMP,
    SHELL_ID,
    SUBMODEL_ID,
    sample_environment,
    serialize,
)

TEMPERATURE = str(GT.temperature)


class FakeLive:
    def __init__(self, values: dict[PropertyKey, float]) -> None:
        self.values = values

    def value(self, key: PropertyKey) -> Sample | None:
        if key not in self.values:
            return None
        now = utcnow()
        return Sample(key, self.values[key], now, now, Quality.GOOD)


@pytest.fixture
async def plant(services: Services) -> AasService:
    await services.twins.import_document(PLANT, "turtle")
    assert services.aas is not None
    await services.aas.import_bytes(
        serialize(sample_environment(global_asset_id=PUMP), "json"), "json"
    )
    return services.aas


def store_of(services: Services) -> BoltGraphStore:
    store = services.twins.repository.store
    assert isinstance(store, BoltGraphStore)
    return store


def temperature(submodel: model.Submodel | None) -> object:
    assert submodel is not None
    element = submodel.get_referable("Temperature")
    assert isinstance(element, model.Property)
    return element.value


async def test_a_repeated_submodel_read_makes_no_graph_round_trip(
    services: Services, plant: AasService
) -> None:
    store = store_of(services)
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 42.5  # the graph value
    assert await plant.submodel("urn:no-such-submodel") is None
    assert (await plant.shell(SHELL_ID)) is not None
    before = store.round_trips
    for _ in range(3):
        assert temperature(await plant.submodel(SUBMODEL_ID)) == 42.5
        assert (await plant.shell(SHELL_ID)) is not None
        assert await plant.submodel("urn:no-such-submodel") is None
    assert store.round_trips == before
    await plant.submodels()
    listed = store.round_trips
    await plant.submodels()
    assert store.round_trips == listed


async def test_a_repeated_read_with_live_values_makes_no_graph_round_trip(
    services: Services, plant: AasService
) -> None:
    store = store_of(services)
    plant.live = FakeLive({(PUMP, TEMPERATURE): 55.25})
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 55.25
    before = store.round_trips
    plant.live = FakeLive({(PUMP, TEMPERATURE): 56.5})
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 56.5
    assert store.round_trips == before


async def test_a_write_to_a_submodel_is_visible_to_the_next_read(
    services: Services, plant: AasService
) -> None:
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 42.5
    env = sample_environment(global_asset_id=PUMP)
    submodel = env.submodels[0]
    submodel.id_short = "Changed"
    await plant.import_bytes(serialize(env, "json"), "json", replace=True)
    again = await plant.submodel(SUBMODEL_ID)
    assert again is not None and again.id_short == "Changed"

    await plant.import_bytes(
        serialize(Environment(shells=[], submodels=[sample_environment().submodels[0]]), "json"),
        "json",
        replace=True,
    )
    back = await plant.submodel(SUBMODEL_ID)
    assert back is not None and back.id_short != "Changed"


async def test_a_write_to_the_described_asset_is_visible_to_the_next_read(
    services: Services, plant: AasService
) -> None:
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 42.5
    await services.twins.set_property(PUMP, PropertyInput("gt:temperature", "43.75"))
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 43.75
    await services.twins.remove_property(PUMP, "gt:temperature")
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 21.5  # the document's value


async def test_a_deleted_shell_no_longer_binds_its_submodel(
    services: Services, plant: AasService
) -> None:
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 42.5
    assert plant.live_key(SUBMODEL_ID, "Temperature") == (PUMP, TEMPERATURE)
    shell = await plant.shell(SHELL_ID)
    assert shell is not None
    await services.twins.writer.apply(ChangeSet(delete={plant.records.iri(Kind.SHELL, SHELL_ID)}))
    assert await plant.shell(SHELL_ID) is None
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 21.5  # no asset any more
    assert plant.live_key(SUBMODEL_ID, "Temperature") is None


async def test_a_value_the_live_flush_wrote_shows_once_the_live_value_is_gone(
    services: Services, plant: AasService
) -> None:
    """The live flush writes the graph without the writer; a property it wrote is
    shown live until its binding goes, and is read from the graph again then."""
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 42.5
    plant.live = FakeLive({(PUMP, TEMPERATURE): 60.0})
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 60.0
    await services.twins.repository.write_values([(PUMP, TEMPERATURE, 60.0)])
    plant.live = FakeLive({})  # the binding was removed: the live cache forgot it
    assert temperature(await plant.submodel(SUBMODEL_ID)) == 60.0
