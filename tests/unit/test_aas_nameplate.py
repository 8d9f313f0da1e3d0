"""Generated shells for the demo machines: Digital Nameplate (IDTA 02006-2-0) and
Technical Data (IDTA 02003-1-2), checked by the IDTA test engine with its nameplate
template check."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from aas_test_engines import file as test_engine
from basyx.aas import model
from rdflib import RDF, Graph, URIRef

from graphtwin.aas.codec import write_json
from graphtwin.aas.nameplate import NAMEPLATE, generate, nameplate
from graphtwin.aas.overlay import aas_value, bound_elements
from graphtwin.aas.technical_data import TECHNICAL_DATA
from graphtwin.demo.plant import build_demo_plant
from graphtwin.semantics.description import Description
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.vocab import DEMO, GT

ROOT = Path(__file__).resolve().parents[2]

# The template's mandatory elements and the semanticIds the test engine matches them by.
MANDATORY = {
    "URIOfTheProduct": "0173-1#02-AAY811#001",
    "ManufacturerName": "0173-1#02-AAO677#002",
    "ManufacturerProductDesignation": "0173-1#02-AAW338#001",
    "ContactInformation": (
        "https://admin-shell.io/zvei/nameplate/1/0/ContactInformations/ContactInformation"
    ),
    "ManufacturerProductType": "0173-1#02-AAO057#002",
    "YearOfConstruction": "0173-1#02-AAP906#001",
}


@cache
def ontology() -> OntologyIndex:
    return OntologyIndex.load(ROOT / "ontologies")


@cache
def demo() -> Graph:
    return build_demo_plant()


def describe(graph: Graph, iri: str) -> Description:
    desc = Description(iri)
    for _, p, o in graph.triples((URIRef(iri), None, None)):
        desc.add(str(p), o, is_resource=isinstance(o, URIRef) and str(o).startswith(DEMO))
    return desc


def machines() -> list[str]:
    classes = {str(c) for c in ontology().subclasses(str(GT.Machine))} | {str(GT.Machine)}
    return sorted(str(s) for s, o in demo().subject_objects(RDF.type) if str(o) in classes)


def semantic(element: model.HasSemantics) -> str:
    assert element.semantic_id is not None
    return str(element.semantic_id.key[0].value)


def test_the_demo_has_46_machines() -> None:
    assert len(machines()) == 46


@pytest.mark.parametrize("iri", machines(), ids=lambda i: i.rsplit("/", 1)[-1])
def test_every_demo_machine_gets_a_nameplate_that_passes_the_template_check(iri: str) -> None:
    made = generate(describe(demo(), iri), ontology())
    assert made is not None

    objects = [made.shell, *made.submodels, *made.concept_descriptions]
    result = test_engine.check_json_data(json.loads(write_json(objects)))

    assert result.ok(), "\n".join(result.to_lines())
    checked = "\n".join(result.to_lines())
    assert NAMEPLATE in checked  # the template check ran


def test_nameplate_elements_carry_the_template_semantic_ids() -> None:
    iri = machines()[0]
    asset = describe(demo(), iri)
    plate = nameplate(asset, ontology())
    assert plate is not None

    elements = {e.id_short: e for e in plate.submodel_element}

    assert semantic(plate) == NAMEPLATE
    assert {k: semantic(elements[k]) for k in MANDATORY} == MANDATORY
    serial = elements["SerialNumber"]
    assert isinstance(serial, model.Property)
    assert serial.value == str(demo().value(URIRef(iri), GT.serialNumber))
    assert semantic(serial) == "0173-1#02-AAM556#002"
    year = elements["YearOfConstruction"]
    assert isinstance(year, model.Property)
    assert year.value == str(demo().value(URIRef(iri), GT.yearOfConstruction))
    manufacturer = elements["ManufacturerName"]
    assert isinstance(manufacturer, model.MultiLanguageProperty)
    assert manufacturer.value == {"en": str(demo().value(URIRef(iri), GT.manufacturer))}


def test_technical_data_lists_the_other_nameplate_properties_by_their_iri() -> None:
    iri = machines()[0]
    made = generate(describe(demo(), iri), ontology())
    assert made is not None
    (data,) = [s for s in made.submodels if semantic(s) == TECHNICAL_DATA]

    technical = data.get_referable("TechnicalProperties")
    assert isinstance(technical, model.SubmodelElementCollection)
    by_semantic = {semantic(e): e for e in technical.value}

    assert set(by_semantic) == {
        str(GT.ratedPower),
        str(GT.ratedVoltage),
        str(GT.commissioningDate),
    }
    power = by_semantic[str(GT.ratedPower)]
    assert isinstance(power, model.Property)
    assert power.value_type is model.datatypes.Decimal
    assert str(power.value) == str(demo().value(URIRef(iri), GT.ratedPower))
    # Concept descriptions: from the ontology for gt properties, the nameplate's IRDIs.
    ids = {cd.id for cd in made.concept_descriptions}
    assert str(GT.ratedPower) in ids
    assert set(MANDATORY.values()) - {MANDATORY["ContactInformation"]} <= ids


def test_generated_properties_stay_bound_to_the_graph() -> None:
    made = generate(describe(demo(), machines()[0]), ontology())
    assert made is not None

    def is_property(iri: str) -> bool:
        return iri in ontology().properties

    bound = {b.path: b.property for s in made.submodels for b in bound_elements(s, is_property)}

    assert bound["SerialNumber"] == str(GT.serialNumber)
    assert bound["YearOfConstruction"] == str(GT.yearOfConstruction)
    assert bound["TechnicalProperties.RatedPower"] == str(GT.ratedPower)


def test_an_asset_without_nameplate_data_gets_no_shell() -> None:
    asset = Description(f"{DEMO}sites/x/lines/l/stations/s/m")
    asset.add(str(RDF.type), GT.Press, is_resource=False)

    assert generate(asset, ontology()) is None


@pytest.mark.parametrize(
    ("value", "value_type", "expected"),
    [
        (21.5, model.datatypes.Double, 21.5),
        (3.0, model.datatypes.Int, 3),
        (3.5, model.datatypes.Int, None),
        (True, model.datatypes.Boolean, True),
        ("producing", model.datatypes.String, "producing"),
        ("not a number", model.datatypes.Double, None),
        (None, model.datatypes.String, None),
    ],
)
def test_values_are_converted_to_the_property_value_type(
    value: object, value_type: type, expected: object
) -> None:
    assert aas_value(value, value_type) == expected
