"""The AAS model the REST API tests serve, and a fake read model around it.

One shell references two submodels; the first (by id) holds one element of every
submodel element kind, top-level, plus nested ones (a collection member, list
members, an entity statement, an annotation), so the IDTA test engine exercises
every kind. A second shell makes paging visible. The tests here check that the
model itself is a valid v3.0 environment, so an API failure is never the data's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder

from graphtwin.aas.port import StoreReadModel
from graphtwin.auth.principal import Authorizer
from graphtwin.values import PropertyKey, Quality, Sample, Scalar, utcnow

PUMP = "https://example.com/ids/aas/pump-1"
PUMP_2 = "https://example.com/ids/aas/pump-2"
OPERATIONAL = "https://example.com/ids/sm/1-operational"
NAMEPLATE = "https://example.com/ids/sm/2-nameplate"
GLOBAL_ASSET = "https://acme.example/assets/pump-1"
CD_ID = "0173-1#02-AAO677#002"
THUMBNAIL = "/aasx/files/thumb.png"
MANUAL = "/aasx/files/manual.pdf"
FILES = {THUMBNAIL: (b"\x89PNG fake", "image/png"), MANUAL: (b"%PDF-1.4 fake", "application/pdf")}
BLOB = b"\x00\x01\x02blob"

# The Property fed by a live binding, and the (asset, property) key it maps to.
LIVE_PATH = "Temperature"
NESTED_LIVE_PATH = "Readings[1]"
LIVE_KEY: PropertyKey = ("https://acme.example/assets/pump-1", "https://w3id.org/gt#temperature")
NESTED_LIVE_KEY: PropertyKey = ("https://acme.example/assets/pump-1", "https://w3id.org/gt#p2")

IEC61360 = "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"


def gref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def operational_submodel() -> model.Submodel:
    sm = model.Submodel(
        OPERATIONAL,
        id_short="OperationalData",
        semantic_id=gref("https://example.com/semantics/OperationalData"),
        administration=model.AdministrativeInformation(version="1", revision="0"),
    )
    # The first two carry the optional attributes too, so the tests comparing the
    # API's JSON with basyx's cover them.
    temperature = model.Property(
        "Temperature",
        model.datatypes.Double,
        21.5,
        semantic_id=gref("0173-1#02-AAM556#002"),
        supplemental_semantic_id=[gref("https://w3id.org/gt#temperature")],
        display_name=model.MultiLanguageNameType({"en": "Temperature"}),
        description=model.MultiLanguageTextType({"en": "Housing temperature", "de": "Gehäuse"}),
        category="VARIABLE",
        qualifier=[model.Qualifier("Unit", model.datatypes.String, "degC")],
    )
    serial = model.Property(
        "SerialNumber",
        model.datatypes.String,
        "SN-0001",
        value_id=gref("https://acme.example/serials/SN-0001"),
        extension=[model.Extension("origin", model.datatypes.String, "import")],
        embedded_data_specifications=[
            model.EmbeddedDataSpecification(
                data_specification=gref(IEC61360),
                data_specification_content=model.DataSpecificationIEC61360(
                    preferred_name=model.PreferredNameTypeIEC61360({"en": "Serial number"}),
                    definition=model.DefinitionTypeIEC61360({"en": "serial number of the pump"}),
                    data_type=model.DataTypeIEC61360.STRING,
                ),
            )
        ],
    )
    for element in (
        temperature,
        serial,
        model.Property("Running", model.datatypes.Boolean, True),
        model.Property("Count", model.datatypes.Int, 42),
        model.MultiLanguageProperty(
            "ManufacturerName", model.MultiLanguageTextType({"en": "ACME", "de": "ACME GmbH"})
        ),
        model.Range("OperatingTemp", model.datatypes.Double, min=-20.0, max=60.0),
        model.File("Manual", content_type="application/pdf", value=MANUAL),
        model.Blob("Fingerprint", content_type="application/octet-stream", value=BLOB),
        model.ReferenceElement("VendorLink", value=gref("https://acme.example/products/x1")),
    ):
        sm.submodel_element.add(element)
    serial_ref = model.ModelReference.from_referable(serial)
    temperature_ref = model.ModelReference.from_referable(temperature)
    for element in (
        model.RelationshipElement("SerialToTemp", first=serial_ref, second=temperature_ref),
        model.AnnotatedRelationshipElement(
            "Flow",
            first=serial_ref,
            second=temperature_ref,
            annotation=[model.Property("AppliedRule", model.datatypes.String, "Downstream")],
        ),
        model.SubmodelElementCollection(
            "Address",
            value=[
                model.Property("Street", model.datatypes.String, "Main St 1"),
                model.SubmodelElementCollection(
                    "Geo", value=[model.Property("Lat", model.datatypes.Double, 48.78)]
                ),
            ],
        ),
        model.SubmodelElementList(
            "Readings",
            type_value_list_element=model.Property,
            value_type_list_element=model.datatypes.Double,
            value=[
                model.Property(None, model.datatypes.Double, 1.0),
                model.Property(None, model.datatypes.Double, 2.0),
            ],
        ),
        model.Entity(
            "Motor",
            entity_type=model.EntityType.SELF_MANAGED_ENTITY,
            global_asset_id="https://acme.example/assets/motor-1",
            specific_asset_id=[model.SpecificAssetId("SerialNumber", "M-7")],
            statement=[model.Property("Power", model.datatypes.Double, 1.5)],
        ),
        model.BasicEventElement(
            "SerialChanged",
            observed=serial_ref,
            direction=model.Direction.OUTPUT,
            state=model.StateOfEvent.ON,
            message_topic="acme/serial",
        ),
        model.Operation(
            "Reset", input_variable=[model.Property("force", model.datatypes.Boolean, False)]
        ),
        model.Capability("CanPump"),
    ):
        sm.submodel_element.add(element)
    return sm


def nameplate_submodel() -> model.Submodel:
    return model.Submodel(
        NAMEPLATE,
        id_short="Nameplate",
        kind=model.ModellingKind.TEMPLATE,
        semantic_id=gref("https://example.com/semantics/Nameplate"),
        submodel_element=[model.Property("YearOfConstruction", model.datatypes.String, "2024")],
    )


def concept_description() -> model.ConceptDescription:
    return model.ConceptDescription(
        CD_ID,
        id_short="ManufacturerName",
        embedded_data_specifications=[
            model.EmbeddedDataSpecification(
                data_specification=gref(IEC61360),
                data_specification_content=model.DataSpecificationIEC61360(
                    preferred_name=model.PreferredNameTypeIEC61360({"en": "Manufacturer name"}),
                    definition=model.DefinitionTypeIEC61360({"en": "name of the manufacturer"}),
                    data_type=model.DataTypeIEC61360.STRING_TRANSLATABLE,
                ),
            )
        ],
    )


def build_store() -> model.DictObjectStore[model.Identifiable]:
    operational, nameplate = operational_submodel(), nameplate_submodel()
    pump = model.AssetAdministrationShell(
        model.AssetInformation(
            asset_kind=model.AssetKind.INSTANCE,
            global_asset_id=GLOBAL_ASSET,
            specific_asset_id=[model.SpecificAssetId("SerialNumber", "SN-0001")],
            default_thumbnail=model.Resource(THUMBNAIL, "image/png"),
        ),
        PUMP,
        id_short="Pump1",
        submodel={
            model.ModelReference.from_referable(operational),
            model.ModelReference.from_referable(nameplate),
        },
    )
    pump_2 = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id="https://acme.example/assets/pump-2"),
        PUMP_2,
        id_short="Pump2",
        submodel={model.ModelReference.from_referable(nameplate)},
    )
    return model.DictObjectStore([pump, pump_2, operational, nameplate, concept_description()])


class FakeAasReadModel(StoreReadModel):
    """The store, plus supplementary files and live keys (what AasService may offer)."""

    def __init__(
        self,
        store: model.DictObjectStore[model.Identifiable],
        live_keys: dict[tuple[str, str], PropertyKey] | None = None,
    ) -> None:
        super().__init__(store)
        self.live_keys = dict(live_keys or {})

    async def supplementary_file(self, owner_id: str, path: str) -> tuple[bytes, str] | None:
        return FILES.get(path) if owner_id in (PUMP, OPERATIONAL) else None

    def live_key(self, submodel_id: str, id_short_path: str) -> PropertyKey | None:
        return self.live_keys.get((submodel_id, id_short_path))


@dataclass
class FakeLive:
    """Stands in for the LiveRuntime's cache: ``value(key)``."""

    values: dict[PropertyKey, Scalar] = field(default_factory=dict)

    def value(self, key: PropertyKey) -> Sample | None:
        if key not in self.values:
            return None
        now = utcnow()
        return Sample(key, self.values[key], now, now, Quality.GOOD)


@dataclass
class AasServices:
    """The part of ``Services`` the AAS API reads: authorizer, aas and live."""

    aas: Any
    live: Any = None
    authorizer: Authorizer = field(default_factory=Authorizer)


def fake_read_model() -> FakeAasReadModel:
    return FakeAasReadModel(
        build_store(),
        {(OPERATIONAL, LIVE_PATH): LIVE_KEY, (OPERATIONAL, NESTED_LIVE_PATH): NESTED_LIVE_KEY},
    )


def environment_json(store: model.DictObjectStore[model.Identifiable]) -> dict[str, Any]:
    kinds = (
        ("assetAdministrationShells", model.AssetAdministrationShell),
        ("submodels", model.Submodel),
        ("conceptDescriptions", model.ConceptDescription),
    )
    return {
        key: [json.loads(json.dumps(o, cls=AASToJsonEncoder)) for o in store if isinstance(o, kind)]
        for key, kind in kinds
    }


def test_the_model_is_a_valid_aas_environment() -> None:
    from aas_test_engines import file

    result = file.check_json_data(environment_json(build_store()))

    assert result.ok(), result.to_dict()


def test_the_first_submodel_holds_every_element_kind() -> None:
    kinds = {type(e).__name__ for e in operational_submodel().submodel_element}

    assert len(kinds) == 14
