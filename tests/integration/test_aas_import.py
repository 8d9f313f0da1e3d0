"""Importing AAS environments into the twin graph through AasService: one resource per
identifiable, shells linked to plant assets, every write validated and atomic, and
bad input refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from basyx.aas import model

from graphtwin.aas.codec import write_json
from graphtwin.aas.environment import Environment
from graphtwin.aas.service import AasService
from graphtwin.aas.vocab import AAS, AAS_ID, AAS_ID_SHORT, GTAAS, Kind
from graphtwin.api.context import Services
from graphtwin.errors import BadInput, Conflict, ShapeReport, ShapeViolation, TwinError
from graphtwin.semantics.vocab import GT
from graphtwin.values import PropertyKey, Quality, Sample, utcnow
from tests.e2e.conftest import graph_state
from tests.unit.test_aas_sample import (
    CD_ID,
    DOCS_ID,
    MANUAL,
    MANUAL_BYTES,
    PLANT,
    PRESS,
    PUMP,
    SHELL_ID,
    SUBMODEL_ID,
    THUMBNAIL,
    THUMBNAIL_BYTES,
    canonical,
    sample_environment,
    serialize,
)


@pytest.fixture
async def plant(services: Services) -> AasService:
    await services.twins.import_document(PLANT, "turtle")
    assert services.aas is not None
    return services.aas


async def stored_environment(aas: AasService) -> Environment:
    return Environment(
        shells=await aas.shells(),
        submodels=await aas.submodels(),
        concept_descriptions=await aas.concept_descriptions(),
    )


def blobs(services: Services, aas: AasService) -> list[str]:
    root = aas.files.root
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


# --- what an import stores -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["aasx", "json", "xml"])
async def test_an_imported_environment_reads_back_equal(plant: AasService, fmt: str) -> None:
    env = sample_environment(global_asset_id=PUMP)

    result = await plant.import_bytes(serialize(env, fmt), fmt)

    assert result.shells == [SHELL_ID]
    assert sorted(result.submodels) == sorted([SUBMODEL_ID, DOCS_ID])
    assert result.concept_descriptions == [CD_ID]
    back = canonical(await stored_environment(plant))
    expected = canonical(env)
    # The bound Temperature shows the pump's gt:temperature from the graph (42.5).
    temperature = next(
        e for e in back["submodels"][1]["submodelElements"] if e["idShort"] == "Temperature"
    )
    assert temperature["value"] == "42.5"
    temperature["value"] = "21.5"
    assert back == expected


async def test_each_identifiable_is_one_resource_with_its_document(
    services: Services, plant: AasService
) -> None:
    env = sample_environment(global_asset_id=PUMP)
    await plant.import_bytes(serialize(env, "aasx"), "aasx")

    shell_iri = plant.records.iri(Kind.SHELL, SHELL_ID)
    submodel_iri = plant.records.iri(Kind.SUBMODEL, SUBMODEL_ID)
    shell, submodel = await services.twins.queries.describe([shell_iri, submodel_iri])

    assert shell is not None and submodel is not None
    assert shell.types == {f"{AAS}AssetAdministrationShell"}
    assert {str(v) for v in shell.literals[str(AAS_ID)]} == {SHELL_ID}
    assert {str(v) for v in shell.literals[str(AAS_ID_SHORT)]} == {"Pump0815"}
    assert shell.links[str(GTAAS.describes)] == {PUMP}
    assert shell.links[str(GTAAS.submodel)] == {
        submodel_iri,
        plant.records.iri(Kind.SUBMODEL, DOCS_ID),
    }
    (document,) = submodel.literals[str(GTAAS.document)]
    assert json.loads(str(document))["id"] == SUBMODEL_ID
    (semantic,) = submodel.literals[str(GTAAS.semanticId)]
    assert str(semantic) == "https://vendor.example/semantics/OperatingData/1/0"
    (files,) = submodel.literals[str(GTAAS.files)]
    manual = json.loads(str(files))[MANUAL]
    assert manual["contentType"] == "application/pdf"
    assert plant.files.get(manual["sha256"]) == MANUAL_BYTES
    assert (await services.twins.validate_all()).conforms


async def test_shells_are_linked_by_global_asset_id(plant: AasService) -> None:
    result = await plant.import_bytes(
        serialize(sample_environment(global_asset_id=PUMP, serial=None), "json"), "json"
    )
    assert result.linked[SHELL_ID].asset == PUMP
    assert result.linked[SHELL_ID].by == "globalAssetId"
    assert await plant.asset_of(SHELL_ID) == PUMP


async def test_shells_are_linked_by_serial_number_whatever_its_case(plant: AasService) -> None:
    # The sample names its specificAssetId "serialNumber"; the pump has gt:serialNumber SERIAL.
    result = await plant.import_bytes(serialize(sample_environment(), "json"), "json")

    assert result.linked[SHELL_ID].asset == PUMP
    assert result.linked[SHELL_ID].by == "serialNumber"


async def test_an_explicit_link_wins(plant: AasService) -> None:
    result = await plant.import_bytes(
        serialize(sample_environment(global_asset_id=PUMP), "json"),
        "json",
        link={SHELL_ID: PRESS},
    )
    assert result.linked[SHELL_ID].asset == PRESS
    assert result.linked[SHELL_ID].by == "link"


async def test_an_unmatched_shell_is_imported_unlinked_and_reported(plant: AasService) -> None:
    result = await plant.import_bytes(
        serialize(sample_environment(serial="nobody-has-this"), "json"), "json"
    )

    assert result.linked == {}
    assert "no asset" in result.unlinked[SHELL_ID]
    assert result.shells == [SHELL_ID]
    assert await plant.asset_of(SHELL_ID) is None


async def test_a_stored_id_is_a_conflict_unless_replace(
    services: Services, plant: AasService
) -> None:
    data = serialize(sample_environment(), "json")
    await plant.import_bytes(data, "json")
    before = await graph_state(services.twins.repository.store)

    with pytest.raises(Conflict, match=f"shell {SHELL_ID!r} is already stored"):
        await plant.import_bytes(data, "json")

    assert await graph_state(services.twins.repository.store) == before
    result = await plant.import_bytes(data, "json", replace=True)
    # Same content: nothing changes, and the concept description is not even rewritten.
    assert result.write.updated == [] and result.write.created == []
    assert result.shells == [SHELL_ID]
    assert result.unchanged == [CD_ID]


async def test_replace_overwrites_and_keeps_an_explicit_link(plant: AasService) -> None:
    unknown = "https://vendor.example/assets/unknown"
    env = sample_environment(serial=None, global_asset_id=unknown)
    await plant.import_bytes(serialize(env, "json"), "json", link={SHELL_ID: PRESS})
    changed = sample_environment(serial=None, global_asset_id=unknown)
    changed.submodels[1].id_short = "Docs"

    result = await plant.import_bytes(serialize(changed, "json"), "json", replace=True)

    assert result.linked[SHELL_ID].by == "kept"
    assert await plant.asset_of(SHELL_ID) == PRESS
    docs = await plant.submodel(DOCS_ID)
    assert docs is not None and docs.id_short == "Docs"


async def test_the_same_concept_description_again_is_no_conflict(plant: AasService) -> None:
    env = sample_environment()
    await plant.import_bytes(serialize(env, "json"), "json")
    again = Environment(concept_descriptions=sample_environment().concept_descriptions)

    result = await plant.import_bytes(serialize(again, "json"), "json")

    assert result.unchanged == [CD_ID]
    assert result.write.created == [] and result.write.updated == []


async def test_a_reference_to_a_stored_submodel_is_fine(plant: AasService) -> None:
    env = sample_environment()
    await plant.import_bytes(serialize(Environment(submodels=env.submodels[1:]), "json"), "json")
    rest = Environment(shells=env.shells, submodels=env.submodels[:1])

    result = await plant.import_bytes(serialize(rest, "json"), "json")

    assert result.shells == [SHELL_ID]
    shell = await plant.shell(SHELL_ID)
    assert shell is not None and len(shell.submodel) == 2


# --- bound Properties ------------------------------------------------------------------


class FakeLive:
    def __init__(self, values: dict[PropertyKey, float]) -> None:
        self.values = values

    def value(self, key: PropertyKey) -> Sample | None:
        if key not in self.values:
            return None
        now = utcnow()
        return Sample(key, self.values[key], now, now, Quality.GOOD)


async def test_a_property_bound_by_semantic_id_shows_the_asset_value(
    services: Services, plant: AasService
) -> None:
    await plant.import_bytes(serialize(sample_environment(global_asset_id=PUMP), "json"), "json")

    submodel = await plant.submodel(SUBMODEL_ID)
    assert submodel is not None
    temperature = submodel.get_referable("Temperature")
    assert isinstance(temperature, model.Property)
    assert temperature.value == 42.5
    key = (PUMP, str(GT.temperature))
    assert plant.live_key(SUBMODEL_ID, "Temperature") == key
    assert plant.live_key(SUBMODEL_ID, "SerialNumber") is None

    plant.live = FakeLive({key: 55.25})
    submodel = await plant.submodel(SUBMODEL_ID)
    assert submodel is not None
    assert submodel.get_referable("Temperature").value == 55.25  # type: ignore[attr-defined]

    plant.live = None
    await services.twins.remove_property(PUMP, "gt:temperature")
    submodel = await plant.submodel(SUBMODEL_ID)
    assert submodel is not None
    # No value in the graph any more: the document's own value again.
    assert submodel.get_referable("Temperature").value == 21.5  # type: ignore[attr-defined]


# --- bad input writes nothing --------------------------------------------------------


def dangling_submodel() -> bytes:
    env = sample_environment()
    return serialize(Environment(shells=env.shells, submodels=env.submodels[:1]), "json")


def dangling_element() -> bytes:
    env = sample_environment()
    ref = env.submodels[0].get_referable("SerialRef")
    assert isinstance(ref, model.ReferenceElement)
    keys = list(ref.value.key)  # type: ignore[union-attr]
    ref.value = model.ModelReference(
        (*keys[:-1], model.Key(model.KeyTypes.PROPERTY, "NoSuchElement")), model.Property
    )
    return serialize(env, "json")


def duplicate_ids() -> bytes:
    data = json.loads(serialize(sample_environment(), "json"))
    data["submodels"][1]["id"] = SUBMODEL_ID
    return json.dumps(data).encode()


BAD_INPUTS = {
    "corrupt aasx": (lambda: serialize(sample_environment(), "aasx")[:300], "aasx", "zip"),
    "invalid json": (lambda: b'{"submodels": [', "json", "invalid JSON"),
    "invalid xml": (lambda: b"<aas:environment", "xml", "invalid XML"),
    "duplicate ids": (duplicate_ids, "json", "duplicate id"),
    "dangling submodel": (dangling_submodel, "json", f"dangling reference to SUBMODEL:{DOCS_ID}"),
    "dangling element": (dangling_element, "json", "element 'SerialRef': dangling reference"),
    "v3.1 xml": (
        lambda: serialize(sample_environment(), "xml").replace(b"aas/3/0", b"aas/3/1"),
        "xml",
        "unsupported AAS version 3.1",
    ),
    "nothing in it": (lambda: write_json([]), "json", "holds no shells"),
    "unknown format": (lambda: b"{}", "ttl", "unknown AAS format"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_input_is_refused_and_nothing_is_written(
    services: Services, plant: AasService, case: str
) -> None:
    make, fmt, message = BAD_INPUTS[case]
    store = services.twins.repository.store
    before = await graph_state(store)

    with pytest.raises(BadInput) as caught:
        await plant.import_bytes(make(), fmt)

    assert message in caught.value.message
    assert await graph_state(store) == before
    assert blobs(services, plant) == []


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ({SHELL_ID: f"{PUMP}/nope"}, "is not an asset of the twin"),
        ({"urn:other-shell": PUMP}, "the document has no shell 'urn:other-shell'"),
    ],
)
async def test_a_bad_link_is_refused(
    services: Services, plant: AasService, link: dict[str, str], message: str
) -> None:
    before = await graph_state(services.twins.repository.store)

    with pytest.raises(BadInput, match=message):
        await plant.import_bytes(serialize(sample_environment(), "aasx"), "aasx", link=link)

    assert await graph_state(services.twins.repository.store) == before


async def test_a_refused_write_leaves_no_supplementary_files(
    services: Services, plant: AasService, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(change: object) -> object:
        raise ShapeViolation(ShapeReport(conforms=False))

    monkeypatch.setattr(services.twins.writer, "apply", refuse)

    with pytest.raises(TwinError):
        await plant.import_bytes(serialize(sample_environment(), "aasx"), "aasx")

    assert blobs(services, plant) == []


def test_blob_helper_sees_nothing_in_a_fresh_data_dir(tmp_path: Path) -> None:
    assert not (tmp_path / "aas-files").exists()


async def test_supplementary_files_are_served_by_owner_and_path(plant: AasService) -> None:
    await plant.import_bytes(serialize(sample_environment(), "aasx"), "aasx")
    assert await plant.supplementary_file(SHELL_ID, THUMBNAIL) == (THUMBNAIL_BYTES, "image/png")
    manual = await plant.supplementary_file(DOCS_ID, MANUAL) or await plant.supplementary_file(
        SUBMODEL_ID, MANUAL
    )
    assert manual is not None and manual[0] == MANUAL_BYTES
    assert await plant.supplementary_file(SHELL_ID, "/aasx/files/none.png") is None
    assert await plant.supplementary_file("https://vendor.example/unknown", THUMBNAIL) is None
