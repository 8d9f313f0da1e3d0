"""GraphQL mutations over HTTP on a small plant (``LAB_PLANT``), fresh for each test.

Every expected failure must come back as the typed union member, with its code and
path, and leave the stored graph exactly as it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import (
    ACME,
    GT,
    LAB,
    LAB_B10,
    LAB_LINE,
    LAB_MOTOR,
    LAB_OP10,
    LAB_OP20,
    LAB_PRESS,
    LAB_ROBOT,
    XSD,
    Twin,
    graph_state,
)

pytestmark = pytest.mark.e2e

OUTCOME = """
    __typename
    ... on WriteSummary {
        created updated deleted triplesAdded triplesRemoved
        asset { iri label types { iri } parent { iri }
                properties { name value datatype unit { symbol } } }
    }
    ... on UserError { message code path }
    ... on ShapeViolationError {
        violations { focusNode path constraint message severity value shape }
    }
"""

CREATE = f"""
mutation($iri: String!, $type: String!, $label: String, $partOf: String,
         $properties: [PropertyValueInput!]) {{
    createAsset(iri: $iri, type: $type, label: $label, partOf: $partOf,
                properties: $properties) {{ {OUTCOME} }}
}}"""
UPDATE = f"""
mutation($iri: String!, $label: String, $type: String, $properties: [PropertyValueInput!]) {{
    updateAsset(iri: $iri, label: $label, type: $type, properties: $properties) {{ {OUTCOME} }}
}}"""
SET = f"""
mutation($iri: String!, $property: String!, $value: String!, $datatype: String,
         $language: String) {{
    setProperty(iri: $iri, property: $property, value: $value, datatype: $datatype,
                language: $language) {{ {OUTCOME} }}
}}"""
REMOVE = f"""
mutation($iri: String!, $property: String!) {{
    removeProperty(iri: $iri, property: $property) {{ {OUTCOME} }}
}}"""
LINK = f"""
mutation($source: String!, $predicate: String!, $target: String!) {{
    link(source: $source, predicate: $predicate, target: $target) {{ {OUTCOME} }}
}}"""
UNLINK = f"""
mutation($source: String!, $predicate: String!, $target: String!) {{
    unlink(source: $source, predicate: $predicate, target: $target) {{ {OUTCOME} }}
}}"""
DELETE = f"""
mutation($iri: String!, $cascade: Boolean! = false) {{
    deleteAsset(iri: $iri, cascade: $cascade) {{ {OUTCOME} }}
}}"""
IMPORT = f"""
mutation($document: String!, $format: String! = "turtle", $replace: Boolean! = false) {{
    importRdf(document: $document, format: $format, replace: $replace) {{ {OUTCOME} }}
}}"""

ASSET = """
query($iri: String!) { asset(iri: $iri) {
    iri label types { iri } parent { iri } parts { iri }
    properties { name value datatype language unit { symbol } }
    downstream { iri } upstream { iri }
} }"""

PREFIXES = f"""
@prefix gt: <{GT}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <{XSD}> .
"""


async def asset(twin: Twin, iri: str) -> dict[str, Any] | None:
    data = await twin.query(ASSET, {"iri": iri})
    found: dict[str, Any] | None = data["asset"]
    return found


def props(found: dict[str, Any] | None) -> dict[str, tuple[str, str | None]]:
    assert found is not None
    return {p["name"]: (p["value"], p["datatype"]) for p in found["properties"]}


def iris(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["iri"] for n in nodes]


async def refused(
    twin: Twin, mutation: str, variables: dict[str, Any], typename: str, code: str
) -> dict[str, Any]:
    """Run a mutation that must fail with ``typename``/``code`` and change nothing."""
    before = await graph_state(twin.store)
    result = await twin.mutate(mutation, variables)

    assert result["__typename"] == typename, json.dumps(result, indent=1)
    assert result["code"] == code
    assert isinstance(result["path"], list)
    assert result["message"]
    assert await graph_state(twin.store) == before
    return result


def violation(result: dict[str, Any], focus: str, constraint: str) -> dict[str, Any]:
    matches = [
        v for v in result["violations"] if v["focusNode"] == focus and v["constraint"] == constraint
    ]
    assert matches, json.dumps(result["violations"], indent=1)
    return matches[0]


# --- createAsset ----------------------------------------------------------------------
async def test_create_asset_is_visible_with_properties_typed_by_the_ontology(
    lab_twin: Twin,
) -> None:
    iri = f"{LAB_OP10}/press-2"
    result = await lab_twin.mutate(
        CREATE,
        {
            "iri": iri,
            "type": "gt:Press",
            "label": "Press 2",
            "partOf": LAB_OP10,
            "properties": [
                {"property": "gt:idealCycleTime", "value": "12.5"},
                {"property": "gt:totalCount", "value": "10"},
                {"property": f"{GT}manufacturer", "value": "Krautmann Pressen"},
                {"property": "gt:commissioningDate", "value": "2021-03-01"},
            ],
        },
    )

    assert result["__typename"] == "WriteSummary", result
    assert result["created"] == [iri]
    assert result["updated"] == []
    assert result["deleted"] == []
    assert result["triplesAdded"] == 7  # type, label, partOf and four values
    assert result["asset"]["iri"] == iri
    found = await asset(lab_twin, iri)
    assert found is not None
    assert found["label"] == "Press 2"
    assert iris(found["types"]) == [f"{GT}Press"]
    assert found["parent"] == {"iri": LAB_OP10}
    assert props(found) == {
        "gt:idealCycleTime": ("12.5", f"{XSD}decimal"),
        "gt:totalCount": ("10", f"{XSD}integer"),
        "gt:manufacturer": ("Krautmann Pressen", None),
        "gt:commissioningDate": ("2021-03-01", f"{XSD}date"),
    }
    ideal = next(p for p in found["properties"] if p["name"] == "gt:idealCycleTime")
    assert ideal["unit"] == {"symbol": "s"}
    station = await asset(lab_twin, LAB_OP10)
    assert station is not None
    assert iris(station["parts"]) == [LAB_PRESS, iri]
    listed = await lab_twin.query(
        'query($site: String!) { assets(type: "gt:Machine", site: $site) { nodes { iri } } }',
        {"site": LAB},
    )
    assert iris(listed["assets"]["nodes"]) == [LAB_PRESS, iri, LAB_ROBOT]


async def test_create_asset_with_an_explicit_datatype_or_language(lab_twin: Twin) -> None:
    iri = f"{LAB_OP20}/robot-2"
    result = await lab_twin.mutate(
        CREATE,
        {
            "iri": iri,
            "type": "gt:IndustrialRobot",
            "partOf": LAB_OP20,
            "properties": [
                {"property": "dcterms:description", "value": "Entnahmeroboter", "language": "de"},
                {"property": "gt:ratedPower", "value": "7.25", "datatype": "xsd:decimal"},
            ],
        },
    )

    assert result["__typename"] == "WriteSummary", result
    found = await asset(lab_twin, iri)
    assert found is not None
    description = next(p for p in found["properties"] if p["name"] == "dcterms:description")
    assert (description["value"], description["language"]) == ("Entnahmeroboter", "de")
    assert props(found)["gt:ratedPower"] == ("7.25", f"{XSD}decimal")


async def test_an_explicit_datatype_against_the_shapes_is_a_shape_violation(
    lab_twin: Twin,
) -> None:
    result = await refused(
        lab_twin,
        SET,
        {"iri": LAB_PRESS, "property": "gt:ratedPower", "value": "7", "datatype": "xsd:double"},
        "ShapeViolationError",
        "SHAPE_VIOLATION",
    )

    found = violation(result, LAB_PRESS, "DatatypeConstraintComponent")
    assert found["path"] == f"{GT}ratedPower"


# --- updateAsset, setProperty, removeProperty --------------------------------------------
async def test_update_asset_replaces_label_and_the_given_properties_only(lab_twin: Twin) -> None:
    result = await lab_twin.mutate(
        UPDATE,
        {
            "iri": LAB_PRESS,
            "label": "Press One",
            "properties": [{"property": "gt:idealCycleTime", "value": "6.5"}],
        },
    )

    assert result["__typename"] == "WriteSummary", result
    assert result["updated"] == [LAB_PRESS]
    assert result["created"] == []
    assert result["asset"]["label"] == "Press One"
    found = await asset(lab_twin, LAB_PRESS)
    assert found is not None
    assert found["label"] == "Press One"
    assert props(found) == {
        "gt:idealCycleTime": ("6.5", f"{XSD}decimal"),
        "gt:manufacturer": ("Krautmann Pressen", None),
        "gt:totalCount": ("100", f"{XSD}integer"),
        "gt:goodCount": ("95", f"{XSD}integer"),
    }


async def test_update_asset_type_changes_what_it_is_listed_as(lab_twin: Twin) -> None:
    result = await lab_twin.mutate(UPDATE, {"iri": LAB_PRESS, "type": "gt:Welder"})

    assert result["__typename"] == "WriteSummary", result
    assert iris(result["asset"]["types"]) == [f"{GT}Welder"]
    data = await lab_twin.query(
        'query($iri: String!) { asset(iri: $iri) { welder: isA(classIri: "gt:Welder")'
        '   press: isA(classIri: "gt:Press") machine: isA(classIri: "gt:Machine") }'
        ' presses: assets(type: "gt:Press") { nodes { iri } }'
        ' welders: assets(type: "gt:Welder") { nodes { iri } } }',
        {"iri": LAB_PRESS},
    )
    assert data["asset"] == {"welder": True, "press": False, "machine": True}
    assert data["presses"]["nodes"] == []
    assert iris(data["welders"]["nodes"]) == [LAB_PRESS]


async def test_set_property_replaces_the_value_and_keeps_its_lexical_form(lab_twin: Twin) -> None:
    first = await lab_twin.mutate(
        SET, {"iri": LAB_PRESS, "property": "gt:temperature", "value": "41.5"}
    )
    second = await lab_twin.mutate(
        SET, {"iri": LAB_PRESS, "property": "gt:temperature", "value": "42"}
    )

    assert first["__typename"] == second["__typename"] == "WriteSummary"
    assert second["updated"] == [LAB_PRESS]
    assert second["triplesRemoved"] == 1
    temperature = [p for p in second["asset"]["properties"] if p["name"] == "gt:temperature"]
    assert temperature == [
        {
            "name": "gt:temperature",
            "value": "42",
            "datatype": f"{XSD}decimal",
            "unit": {"symbol": "°C"},
        }
    ]
    assert props(await asset(lab_twin, LAB_PRESS))["gt:temperature"] == ("42", f"{XSD}decimal")


async def test_set_property_within_the_counter_rule(lab_twin: Twin) -> None:
    result = await lab_twin.mutate(
        SET, {"iri": LAB_PRESS, "property": "gt:goodCount", "value": "100"}
    )

    assert result["__typename"] == "WriteSummary", result
    assert props(await asset(lab_twin, LAB_PRESS))["gt:goodCount"] == ("100", f"{XSD}integer")


async def test_remove_property_removes_every_value(lab_twin: Twin) -> None:
    result = await lab_twin.mutate(REMOVE, {"iri": LAB_PRESS, "property": "gt:manufacturer"})

    assert result["__typename"] == "WriteSummary", result
    assert result["triplesRemoved"] == 1
    assert "gt:manufacturer" not in props(await asset(lab_twin, LAB_PRESS))
    again = await refused(
        lab_twin, REMOVE, {"iri": LAB_PRESS, "property": "gt:manufacturer"},
        "NotFoundError", "NOT_FOUND",
    )  # fmt: skip
    assert again["path"] == ["property"]


# --- link / unlink --------------------------------------------------------------------------
async def test_link_and_unlink_feeds(lab_twin: Twin) -> None:
    b20 = f"{LAB_LINE}/buffers/b20"
    created = await lab_twin.mutate(
        CREATE,
        {
            "iri": b20,
            "type": "gt:Buffer",
            "partOf": LAB_LINE,
            "properties": [{"property": "gt:capacity", "value": "6"}],
        },
    )
    assert created["__typename"] == "WriteSummary", created

    linked = await lab_twin.mutate(
        LINK, {"source": LAB_OP20, "predicate": "gt:feeds", "target": b20}
    )

    assert linked["__typename"] == "WriteSummary", linked
    assert linked["updated"] == [LAB_OP20]
    op20 = await asset(lab_twin, LAB_OP20)
    assert op20 is not None
    assert iris(op20["downstream"]) == [b20]
    assert iris(op20["upstream"]) == [LAB_B10]
    buffer = await asset(lab_twin, b20)
    assert buffer is not None
    assert iris(buffer["upstream"]) == [LAB_OP20]
    walk = await lab_twin.query(
        "query($iri: String!) { asset(iri: $iri) { downstream(depth: 4) { iri } } }",
        {"iri": LAB_OP10},
    )
    assert iris(walk["asset"]["downstream"]) == sorted([LAB_B10, LAB_OP20, b20])

    unlinked = await lab_twin.mutate(
        UNLINK, {"source": LAB_OP20, "predicate": f"{GT}feeds", "target": b20}
    )

    assert unlinked["__typename"] == "WriteSummary", unlinked
    op20 = await asset(lab_twin, LAB_OP20)
    assert op20 is not None
    assert op20["downstream"] == []
    buffer = await asset(lab_twin, b20)
    assert buffer is not None
    assert buffer["upstream"] == []


async def test_reads_after_a_write_in_the_same_request_see_the_write(lab_twin: Twin) -> None:
    # Mutations run in order; the first one's reads fill the request's loaders.
    data = await lab_twin.query(
        "mutation($s: String!, $t: String!) {"
        ' first: updateAsset(iri: $s, label: "OP10 Draw") { ... on WriteSummary {'
        "   asset { label downstream { iri } } } }"
        ' second: unlink(source: $s, predicate: "gt:feeds", target: $t) {'
        "   ... on WriteSummary { asset { label downstream { iri } } } }"
        ' third: updateAsset(iri: $t, label: "Buffer 10") { ... on WriteSummary {'
        "   asset { label upstream { iri } } } } }",
        {"s": LAB_OP10, "t": LAB_B10},
    )

    assert data["first"]["asset"] == {"label": "OP10 Draw", "downstream": [{"iri": LAB_B10}]}
    assert data["second"]["asset"] == {"label": "OP10 Draw", "downstream": []}
    assert data["third"]["asset"] == {"label": "Buffer 10", "upstream": []}


async def test_unlink_of_a_missing_link_is_not_found(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, UNLINK, {"source": LAB_OP20, "predicate": "gt:feeds", "target": LAB_B10},
        "NotFoundError", "NOT_FOUND",
    )  # fmt: skip

    assert result["path"] == ["target"]


async def test_link_with_a_datatype_property_is_bad_input(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, LINK, {"source": LAB_OP20, "predicate": "gt:manufacturer", "target": LAB_B10},
        "BadInputError", "BAD_INPUT",
    )  # fmt: skip

    assert result["path"] == ["predicate"]


async def test_feeding_a_machine_violates_the_material_flow_shape(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, LINK, {"source": LAB_B10, "predicate": "gt:feeds", "target": LAB_ROBOT},
        "ShapeViolationError", "SHAPE_VIOLATION",
    )  # fmt: skip

    found = violation(result, LAB_B10, "OrConstraintComponent")
    assert found["path"] == f"{GT}feeds"
    assert found["message"] == "Material can only flow into a station or a buffer."


# --- deleteAsset --------------------------------------------------------------------------
async def test_delete_a_leaf_asset(lab_twin: Twin) -> None:
    result = await lab_twin.mutate(DELETE, {"iri": LAB_MOTOR})

    assert result["__typename"] == "WriteSummary", result
    assert result["deleted"] == [LAB_MOTOR]
    assert result["asset"] is None
    assert await asset(lab_twin, LAB_MOTOR) is None
    press = await asset(lab_twin, LAB_PRESS)
    assert press is not None
    assert press["parts"] == []


async def test_delete_a_station_with_machines_without_cascade_is_refused(
    lab_twin: Twin,
) -> None:
    result = await refused(
        lab_twin, DELETE, {"iri": LAB_OP10}, "ShapeViolationError", "SHAPE_VIOLATION"
    )

    found = violation(result, LAB_PRESS, "MinCountConstraintComponent")
    assert found["path"] == f"{GT}partOf"
    assert found["severity"] == "Violation"
    assert found["shape"] == "https://w3id.org/graphtwin/shapes#MachineParentShape"
    assert await asset(lab_twin, LAB_OP10) is not None


async def test_delete_a_station_with_cascade_deletes_its_machines_and_their_links(
    lab_twin: Twin,
) -> None:
    result = await lab_twin.mutate(DELETE, {"iri": LAB_OP20, "cascade": True})

    assert result["__typename"] == "WriteSummary", result
    assert result["deleted"] == [LAB_OP20, LAB_ROBOT]
    # The buffer that fed the station lost that link.
    assert result["updated"] == [LAB_B10]
    for gone in (LAB_OP20, LAB_ROBOT):
        assert await asset(lab_twin, gone) is None
    buffer = await asset(lab_twin, LAB_B10)
    assert buffer is not None
    assert buffer["downstream"] == []
    assert iris(buffer["upstream"]) == [LAB_OP10]
    line = await asset(lab_twin, LAB_LINE)
    assert line is not None
    assert iris(line["parts"]) == [LAB_B10, LAB_OP10]


async def test_delete_with_cascade_takes_nested_components(lab_twin: Twin) -> None:
    result = await lab_twin.mutate(DELETE, {"iri": LAB_OP10, "cascade": True})

    assert result["__typename"] == "WriteSummary", result
    assert result["deleted"] == [LAB_OP10, LAB_PRESS, LAB_MOTOR]
    listed = await lab_twin.query("{ assets { nodes { iri } } }")
    assert iris(listed["assets"]["nodes"]) == sorted([LAB, LAB_LINE, LAB_B10, LAB_OP20, LAB_ROBOT])


async def test_delete_an_unknown_asset_is_not_found(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, DELETE, {"iri": f"{LAB_OP10}/ghost"}, "NotFoundError", "NOT_FOUND"
    )

    assert result["path"] == ["iri"]


# --- importRdf --------------------------------------------------------------------------
async def test_import_turtle_merges_into_the_graph(lab_twin: Twin) -> None:
    op30 = f"{LAB_LINE}/stations/op30"
    document = (
        PREFIXES
        + f"""
        <{LAB_LINE}> rdfs:label "Linie 1"@de .
        <{op30}> a gt:Station ; rdfs:label "OP30" ; gt:partOf <{LAB_LINE}> .
        <{op30}/oven-1> a gt:CuringOven ; rdfs:label "Oven 1" ; gt:partOf <{op30}> ;
            gt:temperature 180.5 .
        <{LAB_OP20}> gt:feeds <{op30}> .
    """
    )
    result = await lab_twin.mutate(IMPORT, {"document": document})

    assert result["__typename"] == "WriteSummary", result
    assert result["created"] == [op30, f"{op30}/oven-1"]
    assert result["updated"] == [LAB_LINE, LAB_OP20]
    assert result["triplesAdded"] == 9
    line = await lab_twin.query(
        'query($iri: String!) { asset(iri: $iri) { de: label(language: "de") label'
        "   labels { value language } } }",
        {"iri": LAB_LINE},
    )
    assert line["asset"]["de"] == "Linie 1"
    assert line["asset"]["label"] == "Line 1"
    oven = await asset(lab_twin, f"{op30}/oven-1")
    assert oven is not None
    assert props(oven) == {"gt:temperature": ("180.5", f"{XSD}decimal")}
    op20 = await asset(lab_twin, LAB_OP20)
    assert op20 is not None
    assert iris(op20["downstream"]) == [op30]


async def test_import_json_ld_with_an_inline_context(lab_twin: Twin) -> None:
    b20 = f"{LAB_LINE}/buffers/b20"
    document = json.dumps(
        {
            "@context": {
                "gt": GT,
                "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                "partOf": {"@id": "gt:partOf", "@type": "@id"},
                "capacity": {"@id": "gt:capacity", "@type": f"{XSD}integer"},
            },
            "@id": b20,
            "@type": "gt:Buffer",
            "rdfs:label": {"@value": "Puffer 20", "@language": "de"},
            "partOf": LAB_LINE,
            "capacity": "12",
        }
    )
    result = await lab_twin.mutate(IMPORT, {"document": document, "format": "json-ld"})

    assert result["__typename"] == "WriteSummary", result
    assert result["created"] == [b20]
    found = await asset(lab_twin, b20)
    assert found is not None
    assert found["label"] == "Puffer 20"
    assert iris(found["types"]) == [f"{GT}Buffer"]
    assert found["parent"] == {"iri": LAB_LINE}
    assert props(found) == {"gt:capacity": ("12", f"{XSD}integer")}


async def test_import_with_replace_drops_the_stored_description_of_its_subjects(
    lab_twin: Twin,
) -> None:
    document = PREFIXES + f"<{LAB_B10}> a gt:Buffer ; gt:partOf <{LAB_LINE}> ; gt:capacity 9 ."

    result = await lab_twin.mutate(IMPORT, {"document": document, "replace": True})

    assert result["__typename"] == "WriteSummary", result
    assert result["updated"] == [LAB_B10]
    found = await asset(lab_twin, LAB_B10)
    assert found is not None
    assert found["label"] is None  # not in the document: gone
    assert props(found) == {"gt:capacity": ("9", f"{XSD}integer")}
    assert found["downstream"] == []  # its own feeds link was not in the document
    assert iris(found["upstream"]) == [LAB_OP10]  # links into it are other subjects'


async def test_import_with_merge_adds_values_next_to_the_stored_ones(lab_twin: Twin) -> None:
    document = PREFIXES + f'<{LAB_B10}> rdfs:label "Puffer 10"@de .'

    result = await lab_twin.mutate(IMPORT, {"document": document})

    assert result["__typename"] == "WriteSummary", result
    labels = await lab_twin.query(
        "query($iri: String!) { asset(iri: $iri) { labels { value language }"
        '   capacity: property(name: "gt:capacity") { value } } }',
        {"iri": LAB_B10},
    )
    assert labels["asset"] == {
        "labels": [{"value": "B10", "language": None}, {"value": "Puffer 10", "language": "de"}],
        "capacity": {"value": "4"},
    }


async def test_import_with_replace_that_breaks_a_shape_writes_nothing(lab_twin: Twin) -> None:
    # Replacing the press without its gt:partOf would orphan it.
    document = PREFIXES + f'<{LAB_PRESS}> a gt:Press ; rdfs:label "Press 1" .'

    result = await refused(
        lab_twin, IMPORT, {"document": document, "replace": True},
        "ShapeViolationError", "SHAPE_VIOLATION",
    )  # fmt: skip

    assert violation(result, LAB_PRESS, "MinCountConstraintComponent")["path"] == f"{GT}partOf"


# --- expected failures: typed, with code and path, and nothing written ----------------------
async def test_machine_without_part_of_is_a_shape_violation(lab_twin: Twin) -> None:
    iri = f"{LAB_OP10}/press-9"
    result = await refused(
        lab_twin, CREATE, {"iri": iri, "type": "gt:Press"},
        "ShapeViolationError", "SHAPE_VIOLATION",
    )  # fmt: skip

    found = violation(result, iri, "MinCountConstraintComponent")
    assert found == {
        "focusNode": iri,
        "path": f"{GT}partOf",
        "constraint": "MinCountConstraintComponent",
        "message": "A machine must be part of exactly one station or production line.",
        "severity": "Violation",
        "value": None,
        "shape": "https://w3id.org/graphtwin/shapes#MachineParentShape",
    }
    assert result["message"].startswith(f"{len(result['violations'])} SHACL violation(s)")


async def test_a_valid_machine_under_a_station_has_no_line_violation(lab_twin: Twin) -> None:
    # Regression: focused validation once counted every gt:partOf ancestor as a line.
    iri = f"{LAB_OP10}/press-3"
    result = await lab_twin.mutate(CREATE, {"iri": iri, "type": "gt:Press", "partOf": LAB_OP10})

    assert result["__typename"] == "WriteSummary", result


async def test_negative_cycle_time_is_a_shape_violation(lab_twin: Twin) -> None:
    iri = f"{LAB_OP10}/press-9"
    result = await refused(
        lab_twin,
        CREATE,
        {
            "iri": iri,
            "type": "gt:Press",
            "partOf": LAB_OP10,
            "properties": [{"property": "gt:idealCycleTime", "value": "-1.5"}],
        },
        "ShapeViolationError",
        "SHAPE_VIOLATION",
    )

    (found,) = result["violations"]
    assert found == {
        "focusNode": iri,
        "path": f"{GT}idealCycleTime",
        "constraint": "MinExclusiveConstraintComponent",
        "message": "The ideal cycle time is one positive decimal number of seconds.",
        "severity": "Violation",
        "value": "-1.5",
        "shape": "https://w3id.org/graphtwin/shapes#IdealCycleTimeValueShape",
    }


async def test_good_count_above_total_count_is_a_shape_violation(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, SET, {"iri": LAB_PRESS, "property": "gt:goodCount", "value": "101"},
        "ShapeViolationError", "SHAPE_VIOLATION",
    )  # fmt: skip

    (found,) = result["violations"]
    assert found["focusNode"] == LAB_PRESS
    assert found["path"] == f"{GT}goodCount"
    assert found["constraint"] == "LessThanOrEqualsConstraintComponent"
    assert found["message"] == "The good count cannot be higher than the total count."
    assert found["value"] == "101"


async def test_machine_outside_its_site_namespace_is_a_shape_violation(lab_twin: Twin) -> None:
    iri = f"{ACME}elsewhere/press-9"
    result = await refused(
        lab_twin, CREATE, {"iri": iri, "type": "gt:Press", "partOf": LAB_OP10},
        "ShapeViolationError", "SHAPE_VIOLATION",
    )  # fmt: skip

    (found,) = result["violations"]
    assert found["focusNode"] == iri
    assert found["constraint"] == "SPARQLConstraintComponent"
    assert found["shape"] == "https://w3id.org/graphtwin/shapes#SiteNamespaceShape"
    assert found["message"] == (
        f'The IRI {iri} must start with the IRI of its site {LAB} followed by "/".'
    )


async def test_creating_an_existing_iri_is_a_conflict(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, CREATE, {"iri": LAB_PRESS, "type": "gt:Press", "partOf": LAB_OP10},
        "ConflictError", "CONFLICT",
    )  # fmt: skip

    assert result["path"] == ["iri"]
    assert LAB_PRESS in result["message"]


@pytest.mark.parametrize(
    ("mutation", "variables"),
    [
        (UPDATE, {"iri": f"{LAB_OP10}/ghost", "label": "Ghost"}),
        (SET, {"iri": f"{LAB_OP10}/ghost", "property": "gt:temperature", "value": "20"}),
        (REMOVE, {"iri": f"{LAB_OP10}/ghost", "property": "gt:temperature"}),
        (UNLINK, {"source": f"{LAB_OP10}/ghost", "predicate": "gt:feeds", "target": LAB_B10}),
    ],
    ids=["updateAsset", "setProperty", "removeProperty", "unlink"],
)
async def test_unknown_iri_is_not_found(
    lab_twin: Twin, mutation: str, variables: dict[str, Any]
) -> None:
    result = await refused(lab_twin, mutation, variables, "NotFoundError", "NOT_FOUND")

    assert result["path"] == ["iri"]
    assert f"{LAB_OP10}/ghost" in result["message"]


async def test_link_to_an_unknown_target_is_not_found(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, LINK, {"source": LAB_OP20, "predicate": "gt:feeds", "target": f"{LAB}/ghost"},
        "NotFoundError", "NOT_FOUND",
    )  # fmt: skip

    assert f"{LAB}/ghost" in result["message"]


@pytest.mark.parametrize(
    ("variables", "path", "fragment"),
    [
        (
            {"iri": f"{LAB_OP10}/x", "type": "gt:Gizmo", "partOf": LAB_OP10},
            ["type"],
            "unknown class",
        ),
        (
            {"iri": f"{LAB_OP10}/x", "type": "foo:Press", "partOf": LAB_OP10},
            ["type"],
            "unknown class 'foo:Press'",
        ),
        (
            {"iri": "https://evil.example/press", "type": "gt:Press", "partOf": LAB_OP10},
            ["iri"],
            "outside the allowed namespaces",
        ),
        (
            {
                "iri": f"{LAB_OP10}/x",
                "type": "gt:Press",
                "partOf": LAB_OP10,
                "properties": [{"property": "gt:idealCycleTime", "value": "abc"}],
            },
            ["properties", "0", "value"],
            "'abc' is not a valid",
        ),
        (
            {
                "iri": f"{LAB_OP10}/x",
                "type": "gt:Press",
                "partOf": LAB_OP10,
                "properties": [{"property": "bogus:thing", "value": "1"}],
            },
            ["properties", "0", "property"],
            "unknown property 'bogus:thing'",
        ),
        (
            {"iri": f"{LAB_OP10}/x", "type": "gt:Press", "partOf": f"{LAB_LINE}/stations/op99"},
            ["partOf"],
            "dangling reference",
        ),
    ],
    ids=[
        "unknown-class",
        "unknown-prefix",
        "outside-namespaces",
        "wrong-datatype",
        "unknown-property-prefix",
        "dangling-part-of",
    ],
)
async def test_create_asset_bad_input_names_the_argument(
    lab_twin: Twin, variables: dict[str, Any], path: list[str], fragment: str
) -> None:
    result = await refused(lab_twin, CREATE, variables, "BadInputError", "BAD_INPUT")

    assert fragment in result["message"]
    assert result["path"] == path


async def test_set_property_with_a_wrong_datatype_is_bad_input(lab_twin: Twin) -> None:
    result = await refused(
        lab_twin, SET, {"iri": LAB_PRESS, "property": "gt:idealCycleTime", "value": "abc"},
        "BadInputError", "BAD_INPUT",
    )  # fmt: skip

    assert result["path"] == ["value"]
    assert result["message"] == (f"'abc' is not a valid {XSD}decimal for gt:idealCycleTime")
