"""Exporting assets, lines and sites as AAS environments: generated Digital Nameplates
and Technical Data for the demo machines, stored shells with their files, and
import -> export -> import giving an equal environment. Every export passes the
IDTA test engine's file check (with its nameplate template check)."""

from __future__ import annotations

import json

import pytest
from basyx.aas import model

from graphtwin.aas.environment import Environment, SupplementaryFile
from graphtwin.aas.nameplate import NAMEPLATE
from graphtwin.aas.package import read_aasx
from graphtwin.aas.service import AasService
from graphtwin.aas.technical_data import TECHNICAL_DATA
from graphtwin.aas.vocab import Kind
from graphtwin.api.context import Services
from graphtwin.bootstrap import load_demo
from graphtwin.errors import BadInput, NotFound
from graphtwin.graph.port import GraphStore
from tests.unit.test_aas_codec import read
from tests.unit.test_aas_sample import (
    DOCS_ID,
    LINE,
    MANUAL,
    MANUAL_BYTES,
    PLANT,
    PRESS,
    PUMP,
    SHELL_ID,
    SUBMODEL_ID,
    canonical,
    check_file,
    sample_environment,
    serialize,
)

DEMO_LINE = "https://acme.example/sites/stuttgart/lines/press-1"
DEMO_PRESS = f"{DEMO_LINE}/stations/op10/press-1a"
STUTTGART = "https://acme.example/sites/stuttgart"


@pytest.fixture
async def demo(services: Services) -> AasService:
    assert await load_demo(services.twins)
    assert services.aas is not None
    return services.aas


@pytest.fixture
async def plant(services: Services) -> AasService:
    await services.twins.import_document(PLANT, "turtle")
    assert services.aas is not None
    return services.aas


def semantic(obj: model.HasSemantics) -> str | None:
    return obj.semantic_id.key[0].value if obj.semantic_id is not None else None


def assert_passes(data: bytes, fmt: str) -> None:
    result = check_file(data, fmt)
    assert result.ok(), "\n".join(result.to_lines())


@pytest.mark.parametrize("fmt", ["aasx", "json", "xml"])
async def test_a_demo_machine_exports_with_nameplate_and_technical_data(
    demo: AasService, fmt: str
) -> None:
    data = await demo.export(DEMO_PRESS, fmt)

    assert_passes(data, fmt)
    env = read(data, fmt)
    (shell,) = env.shells
    assert shell.asset_information.global_asset_id == DEMO_PRESS
    assert {semantic(s) for s in env.submodels} == {NAMEPLATE, TECHNICAL_DATA}
    assert {"0173-1#02-AAO677#002", "https://w3id.org/graphtwin/core#ratedPower"} <= {
        cd.id for cd in env.concept_descriptions
    }


async def test_a_line_exports_a_shell_for_every_machine(
    services: Services, demo: AasService
) -> None:
    data = await demo.export(DEMO_LINE, "aasx")

    assert_passes(data, "aasx")
    env = read(data, "aasx")
    (below,) = await services.twins.queries.reachable([(DEMO_LINE, "components", 12)])
    machines = await services.twins.queries.list_assets(type_="gt:Machine", first=500)
    expected = sorted(set(below) & set(machines.iris))
    assert sorted(s.asset_information.global_asset_id for s in env.shells) == expected
    assert len(env.submodels) == 2 * len(expected)


async def test_a_site_exports_as_json_that_passes_the_check(demo: AasService) -> None:
    data = await demo.export(STUTTGART, "json")

    assert_passes(data, "json")
    assert len(json.loads(data)["assetAdministrationShells"]) == 24


async def test_a_stored_shell_is_exported_with_its_files_instead_of_a_generated_one(
    plant: AasService,
) -> None:
    await plant.import_bytes(
        serialize(sample_environment(), "aasx"), "aasx", link={SHELL_ID: PRESS}
    )

    data = await plant.export(PRESS, "aasx")

    assert_passes(data, "aasx")
    env = read_aasx(data, max_unpacked=10_000_000)
    assert [s.id for s in env.shells] == [SHELL_ID]
    assert sorted(s.id for s in env.submodels) == sorted([SUBMODEL_ID, DOCS_ID])
    assert env.files[MANUAL].data == MANUAL_BYTES


async def test_import_export_import_gives_an_equal_environment(
    services: Services, plant: AasService
) -> None:
    original = sample_environment(global_asset_id=PUMP)
    await plant.import_bytes(serialize(original, "aasx"), "aasx")
    # The bound Temperature follows the pump; make the graph agree with the document.
    await services.twins.remove_property(PUMP, "gt:temperature")
    exported = await plant.export(PUMP, "aasx")
    store: GraphStore = services.twins.repository.store
    await store.write([("MATCH (n) DETACH DELETE n", {})])
    await services.twins.import_document(PLANT, "turtle")
    await services.twins.remove_property(PUMP, "gt:temperature")

    await plant.import_bytes(exported, "aasx")
    again = await plant.export(PUMP, "aasx")

    first, second = read_aasx(exported, max_unpacked=10**7), read_aasx(again, max_unpacked=10**7)
    assert canonical(second) == canonical(first) == canonical(original)
    assert second.files == first.files == original.files


async def test_files_under_one_name_in_two_packages_are_both_exported(
    plant: AasService,
) -> None:
    one = sample_environment()
    two = sample_environment(
        shell_id="urn:shell:two",
        submodel_id="urn:sm:two",
        docs_id="urn:sm:two-docs",
        global_asset_id=PRESS,
        serial=None,
    )
    two.files[MANUAL] = SupplementaryFile("application/pdf", b"%PDF another manual")
    await plant.import_bytes(serialize(one, "aasx"), "aasx", link={SHELL_ID: PUMP})
    without_concepts = Environment(two.shells, two.submodels, [], two.files)
    await plant.import_bytes(serialize(without_concepts, "aasx"), "aasx")

    data = await plant.export(LINE, "aasx")

    assert_passes(data, "aasx")
    env = read_aasx(data, max_unpacked=10**7)
    manuals = {}
    for submodel in env.submodels:
        element = submodel.get_referable("Manual") if submodel.id_short == "OperatingData" else None
        if isinstance(element, model.File):
            manuals[submodel.id] = env.files[str(element.value)].data
    assert manuals == {SUBMODEL_ID: MANUAL_BYTES, "urn:sm:two": b"%PDF another manual"}


async def test_exporting_something_that_is_not_an_asset(plant: AasService) -> None:
    with pytest.raises(NotFound):
        await plant.export(f"{PUMP}/nope", "json")
    await plant.import_bytes(serialize(sample_environment(), "json"), "json")
    with pytest.raises(BadInput, match="is not an asset"):
        await plant.export(plant.records.iri(Kind.SHELL, SHELL_ID), "json")
