"""A sample AAS v3.0 environment with one submodel element of every kind, a concept
description, a supplementary file and a thumbnail; built fresh by each call.

The AAS tests import it (``from tests.unit.test_aas_sample import ...``); the tests
here prove the sample itself is valid AAS v3.0 for basyx and the IDTA test engine.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from aas_test_engines import file as test_engine
from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder

from graphtwin.aas.codec import write_json, write_xml
from graphtwin.aas.environment import Environment, SupplementaryFile
from graphtwin.aas.package import write_aasx

SHELL_ID = "https://vendor.example/ids/aas/pump-0815"
SUBMODEL_ID = "https://vendor.example/ids/sm/pump-0815/operating-data"
DOCS_ID = "https://vendor.example/ids/sm/pump-0815/documentation"
CD_ID = "0173-1#02-AAO677#002"
SERIAL = "PX-0815"
GT = "https://w3id.org/graphtwin/core#"
MANUAL = "/aasx/files/manual.pdf"
THUMBNAIL = "/aasx/files/thumb.png"
MANUAL_BYTES = b"%PDF-1.4 a very small manual"
THUMBNAIL_BYTES = b"\x89PNG\r\n\x1a\n not really a png"

# A small plant the samples can describe: the pump has the sample's serial number.
SITE = "https://acme.example/sites/lab"
LINE = f"{SITE}/lines/l1"
STATION = f"{LINE}/stations/op10"
PUMP = f"{STATION}/pump-1"
PRESS = f"{STATION}/press-1"
PLANT = f"""
@prefix gt: <{GT}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<{SITE}> a gt:Site ; rdfs:label "Lab" .
<{LINE}> a gt:Line ; rdfs:label "Line 1" ; gt:partOf <{SITE}> .
<{STATION}> a gt:Station ; rdfs:label "OP10" ; gt:partOf <{LINE}> .
<{PUMP}> a gt:AssemblyMachine ; rdfs:label "Pump 1" ; gt:partOf <{STATION}> ;
    gt:serialNumber "{SERIAL}" ; gt:temperature 42.5 .
<{PRESS}> a gt:Press ; rdfs:label "Press 1" ; gt:partOf <{STATION}> ;
    gt:manufacturer "Krautmann Pressen" ; gt:model "KSP 800" ; gt:serialNumber "KP-1" ;
    gt:yearOfConstruction "2019"^^xsd:gYear ; gt:ratedPower 250.0 .
"""

ELEMENT_KINDS = {
    "Property",
    "MultiLanguageProperty",
    "Range",
    "Blob",
    "File",
    "ReferenceElement",
    "RelationshipElement",
    "AnnotatedRelationshipElement",
    "SubmodelElementCollection",
    "SubmodelElementList",
    "Entity",
    "Operation",
    "Capability",
    "BasicEventElement",
}


def ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def concept() -> model.ConceptDescription:
    return model.ConceptDescription(
        CD_ID,
        id_short="ManufacturerName",
        embedded_data_specifications=[
            model.EmbeddedDataSpecification(
                ref(
                    "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"
                ),
                model.DataSpecificationIEC61360(
                    preferred_name=model.PreferredNameTypeIEC61360({"en": "Manufacturer name"}),
                    definition=model.DefinitionTypeIEC61360({"en": "Name of the manufacturer"}),
                    data_type=model.DataTypeIEC61360.STRING_TRANSLATABLE,
                ),
            )
        ],
    )


def operating_data(submodel_id: str = SUBMODEL_ID) -> model.Submodel:
    sm = model.Submodel(
        submodel_id,
        id_short="OperatingData",
        semantic_id=ref("https://vendor.example/semantics/OperatingData/1/0"),
    )
    serial = model.Property(
        "SerialNumber", model.datatypes.String, SERIAL, semantic_id=ref("0173-1#02-AAM556#002")
    )
    # Bound to the described asset's gt:temperature by its supplementalSemanticId.
    temperature = model.Property(
        "Temperature",
        model.datatypes.Double,
        21.5,
        semantic_id=ref("0173-1#02-AAA000#001"),
        supplemental_semantic_id=[ref(f"{GT}temperature")],
    )
    for element in (
        serial,
        temperature,
        model.MultiLanguageProperty(
            "ManufacturerName",
            model.MultiLanguageTextType({"en": "Vendor Inc.", "de": "Vendor GmbH"}),
            semantic_id=ref(CD_ID),
        ),
        model.Range("OperatingTemperature", model.datatypes.Double, min=-20.0, max=60.0),
        model.File("Manual", content_type="application/pdf", value=MANUAL),
        model.Blob("Fingerprint", content_type="application/octet-stream", value=b"\x00\x01"),
        model.ReferenceElement("VendorPage", value=ref("https://vendor.example/pumps/0815")),
    ):
        sm.submodel_element.add(element)
    serial_ref = model.ModelReference.from_referable(serial)
    temperature_ref = model.ModelReference.from_referable(temperature)
    for element in (
        model.ReferenceElement("SerialRef", value=serial_ref),
        model.RelationshipElement("SerialToTemperature", first=serial_ref, second=temperature_ref),
        model.AnnotatedRelationshipElement(
            "Measured",
            first=temperature_ref,
            second=serial_ref,
            annotation=[model.Property("Note", model.datatypes.String, "calibrated")],
        ),
        model.SubmodelElementCollection(
            "Address",
            value=[
                model.Property("Street", model.datatypes.String, "Main St 1"),
                model.SubmodelElementCollection(
                    "Geo", value=[model.Property("Lat", model.datatypes.Double, 48.77)]
                ),
            ],
        ),
        model.SubmodelElementList(
            "Markings",
            type_value_list_element=model.Property,
            value_type_list_element=model.datatypes.String,
            value=[
                model.Property(None, model.datatypes.String, "CE"),
                model.Property(None, model.datatypes.String, "UKCA"),
            ],
        ),
        model.Entity(
            "Motor",
            entity_type=model.EntityType.SELF_MANAGED_ENTITY,
            global_asset_id="https://vendor.example/assets/motor-1",
            statement=[model.Property("Power", model.datatypes.Double, 1.5)],
        ),
        model.Operation(
            "Reset", input_variable=[model.Property("Force", model.datatypes.Boolean, False)]
        ),
        model.Capability("CanPump"),
        model.BasicEventElement(
            "SerialChanged",
            observed=serial_ref,
            direction=model.Direction.OUTPUT,
            state=model.StateOfEvent.ON,
            message_topic="vendor/serial",
        ),
    ):
        sm.submodel_element.add(element)
    return sm


def documentation(submodel_id: str = DOCS_ID) -> model.Submodel:
    return model.Submodel(
        submodel_id,
        id_short="Documentation",
        submodel_element=[model.Property("Edition", model.datatypes.String, "2024-01")],
    )


def sample_environment(
    *,
    shell_id: str = SHELL_ID,
    global_asset_id: str | None = "https://vendor.example/assets/pump-0815",
    serial: str | None = SERIAL,
    submodel_id: str = SUBMODEL_ID,
    docs_id: str = DOCS_ID,
) -> Environment:
    """A shell with two submodels, a concept description and two files."""
    data, docs = operating_data(submodel_id), documentation(docs_id)
    shell = model.AssetAdministrationShell(
        model.AssetInformation(
            asset_kind=model.AssetKind.INSTANCE,
            global_asset_id=global_asset_id,
            specific_asset_id=[model.SpecificAssetId("serialNumber", serial)] if serial else (),
            default_thumbnail=model.Resource(THUMBNAIL, "image/png"),
        ),
        shell_id,
        id_short="Pump0815",
        submodel={model.ModelReference.from_referable(s) for s in (data, docs)},
    )
    return Environment(
        shells=[shell],
        submodels=[data, docs],
        concept_descriptions=[concept()],
        files={
            MANUAL: SupplementaryFile("application/pdf", MANUAL_BYTES),
            THUMBNAIL: SupplementaryFile("image/png", THUMBNAIL_BYTES),
        },
    )


def serialize(env: Environment, fmt: str) -> bytes:
    objects = list(env.identifiables())
    if fmt == "aasx":
        return write_aasx(objects, env.files)
    return write_json(objects) if fmt == "json" else write_xml(objects)


def canonical(env: Environment) -> dict[str, Any]:
    """The environment as AAS JSON with every list in a stable order, for equality."""
    data: dict[str, Any] = json.loads(write_json(env.identifiables()))
    for key in ("assetAdministrationShells", "submodels", "conceptDescriptions"):
        data.get(key, []).sort(key=lambda o: o["id"])
    for shell in data.get("assetAdministrationShells", []):
        shell.get("submodels", []).sort(key=lambda r: r["keys"][0]["value"])
    return data


def check_file(data: bytes, fmt: str) -> Any:
    check = {
        "aasx": test_engine.check_aasx_file,
        "json": test_engine.check_json_file,
        "xml": test_engine.check_xml_file,
    }[fmt]
    return check(io.BytesIO(data))


# --- the sample itself ---------------------------------------------------------------


def test_sample_has_one_element_of_every_kind_at_the_top() -> None:
    env = sample_environment()
    kinds = {type(e).__name__ for e in env.submodels[0].submodel_element}
    assert kinds == ELEMENT_KINDS


@pytest.mark.parametrize("fmt", ["aasx", "json", "xml"])
def test_sample_passes_the_idta_file_check(fmt: str) -> None:
    result = check_file(serialize(sample_environment(), fmt), fmt)
    assert result.ok(), "\n".join(result.to_lines())


def test_sample_json_is_what_basyx_writes() -> None:
    shell = sample_environment().shells[0]
    data = json.loads(json.dumps(shell, cls=AASToJsonEncoder))
    assert data["assetInformation"]["specificAssetIds"] == [
        {"name": "serialNumber", "value": SERIAL}
    ]
