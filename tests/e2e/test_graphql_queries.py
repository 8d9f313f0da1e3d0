"""GraphQL queries over HTTP against the demo plant (read-only: the plant is shared
by every test of the module)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest
from rdflib import RDF, RDFS, Literal, URIRef

from .conftest import (
    BODY_SHOP,
    CNC_1A,
    GREENVILLE,
    GT,
    PRESS_1A,
    PRESS_LINE,
    PRESS_OP10,
    PRESS_OP20,
    PRESS_OP30,
    STUTTGART,
    XSD,
    Twin,
    demo_graph,
)

pytestmark = pytest.mark.e2e

GT_PARTOF = URIRef(f"{GT}partOf")
GT_FEEDS = URIRef(f"{GT}feeds")


# --- expectations computed from the demo plant's own rdflib graph -------------------
def instances_of(twin: Twin, class_iri: str) -> list[str]:
    """Subjects of the demo graph typed with ``class_iri`` or one of its subclasses."""
    ontology = twin.services.ontology
    return sorted(
        str(s)
        for s, o in demo_graph().subject_objects(RDF.type)
        if class_iri in ontology.ancestors(str(o))
    )


def parts_below(iri: str, depth: int) -> list[str]:
    """Everything up to ``depth`` gt:partOf hops below ``iri``."""
    graph = demo_graph()
    found: set[str] = set()
    frontier = {URIRef(iri)}
    for _ in range(depth):
        frontier = {s for parent in frontier for s in graph.subjects(GT_PARTOF, parent)}
        found |= {str(s) for s in frontier}
    return sorted(found)


def within(iris: Iterable[str], site: str) -> list[str]:
    return sorted(i for i in iris if i.startswith(site + "/"))


def decimal_of(iri: str, prop: str) -> float:
    value = demo_graph().value(URIRef(iri), URIRef(GT + prop))
    assert isinstance(value, Literal)
    return float(value)


def iris(nodes: list[dict[str, str]]) -> list[str]:
    return [n["iri"] for n in nodes]


# --- sites and one asset ---------------------------------------------------------------
async def test_sites_are_the_two_demo_sites_with_code_and_time_zone(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        '{ sites { iri label code: property(name: "gt:siteCode") { value } '
        'tz: property(name: "gt:timeZone") { value } } }'
    )

    assert data["sites"] == [
        {
            "iri": GREENVILLE,
            "label": "ACME Components Greenville",
            "code": {"value": "GVL"},
            "tz": {"value": "America/New_York"},
        },
        {
            "iri": STUTTGART,
            "label": "ACME Components Stuttgart",
            "code": {"value": "STR"},
            "tz": {"value": "Europe/Berlin"},
        },
    ]


async def test_label_picks_the_requested_language_and_labels_lists_them_all(
    demo_twin: Twin,
) -> None:
    data = await demo_twin.query(
        "query($line: String!, $area: String!, $site: String!) {"
        ' line: asset(iri: $line) { de: label(language: "de") en: label(language: "en")'
        "   labels { value language } }"
        ' area: asset(iri: $area) { de: label(language: "de") }'
        ' site: asset(iri: $site) { de: label(language: "de") } }',
        {"line": PRESS_LINE, "area": BODY_SHOP, "site": STUTTGART},
    )

    assert data["line"] == {
        "de": "Presse 1",
        "en": "Press 1",
        "labels": [
            {"value": "Press 1", "language": "en"},
            {"value": "Presse 1", "language": "de"},
        ],
    }
    assert data["area"] == {"de": "Karosseriebau"}
    # The site has only a plain label: asking for German falls back to it.
    assert data["site"] == {"de": "ACME Components Stuttgart"}


async def test_unknown_asset_is_null(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        '{ asset(iri: "https://acme.example/sites/stuttgart/nothing-here") { iri } }'
    )

    assert data == {"asset": None}


async def test_types_and_is_a_follow_the_class_hierarchy(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($iri: String!) { asset(iri: $iri) {"
        " types { iri label superClasses { iri } }"
        ' machine: isA(classIri: "gt:Machine")'
        ' asset: isA(classIri: "gt:Asset")'
        f' press: isA(classIri: "{GT}Press")'
        ' robot: isA(classIri: "gt:IndustrialRobot")'
        ' station: isA(classIri: "gt:Station") } }',
        {"iri": PRESS_1A},
    )

    assert data["asset"] == {
        "types": [
            {"iri": f"{GT}Press", "label": "Press", "superClasses": [{"iri": f"{GT}Machine"}]}
        ],
        "machine": True,
        "asset": True,
        "press": True,
        "robot": False,
        "station": False,
    }


async def test_properties_carry_value_datatype_and_unit(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($iri: String!) { asset(iri: $iri) {"
        " properties { property name label value datatype language unit { iri symbol } } } }",
        {"iri": PRESS_1A},
    )
    props = {p["name"]: p for p in data["asset"]["properties"]}

    assert props["gt:ratedPower"] == {
        "property": f"{GT}ratedPower",
        "name": "gt:ratedPower",
        "label": "rated power",
        "value": "203.1",
        "datatype": f"{XSD}decimal",
        "language": None,
        "unit": {"iri": "http://qudt.org/vocab/unit/KiloW", "symbol": "kW"},
    }
    assert (props["gt:idealCycleTime"]["value"], props["gt:idealCycleTime"]["unit"]["symbol"]) == (
        "5.1",
        "s",
    )
    assert props["gt:ratedVoltage"]["value"] == "400.0"
    assert props["gt:ratedVoltage"]["unit"]["symbol"] == "V"
    assert props["gt:temperature"]["unit"]["symbol"] == "°C"
    assert props["gt:totalCount"] == {
        **props["gt:totalCount"],
        "value": "4415",
        "datatype": f"{XSD}integer",
        "unit": None,
    }
    assert props["gt:goodCount"]["value"] == "4234"
    assert props["gt:yearOfConstruction"]["datatype"] == f"{XSD}gYear"
    assert props["gt:commissioningDate"]["datatype"] == f"{XSD}date"
    assert props["gt:lastMaintenance"]["datatype"] == f"{XSD}dateTime"
    assert props["gt:machineState"]["value"] == "producing"
    assert props["gt:manufacturer"]["value"] == "Krautmann Pressen"
    # Exactly the demo's literals, lexical forms and datatypes intact (labels aside).
    expected = {
        (f"gt:{str(p).removeprefix(GT)}", str(o), str(o.datatype) if o.datatype else None)
        for p, o in demo_graph().predicate_objects(URIRef(PRESS_1A))
        if isinstance(o, Literal) and p != RDFS.label
    }
    assert {(p["name"], p["value"], p["datatype"]) for p in props.values()} == expected
    assert len(props) == 21


async def test_property_map_gives_native_values_keyed_by_prefixed_name(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($iri: String!) { asset(iri: $iri) {"
        ' all: propertyMap some: propertyMap(names: ["gt:ratedPower", "gt:machineState"]) } }',
        {"iri": PRESS_1A},
    )
    everything = data["asset"]["all"]

    assert data["asset"]["some"] == {"gt:ratedPower": 203.1, "gt:machineState": "producing"}
    assert everything["gt:totalCount"] == 4415
    assert everything["gt:manufacturer"] == "Krautmann Pressen"
    assert everything["gt:yearOfConstruction"] == str(
        demo_graph().value(URIRef(PRESS_1A), URIRef(f"{GT}yearOfConstruction"))
    )
    assert "rdfs:label" not in everything
    assert len(everything) == 21


async def test_property_by_name_and_properties_by_names(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($iri: String!) { asset(iri: $iri) {"
        ' power: property(name: "gt:ratedPower") { value unit { symbol label } }'
        f' ideal: property(name: "{GT}idealCycleTime") {{ value }}'
        ' capacity: property(name: "gt:capacity") { value }'
        ' some: properties(names: ["gt:mtbf", "gt:mttr"]) { name value } } }',
        {"iri": PRESS_1A},
    )

    assert data["asset"] == {
        "power": {"value": "203.1", "unit": {"symbol": "kW", "label": "Kilowatt"}},
        "ideal": {"value": "5.1"},
        "capacity": None,
        "some": [{"name": "gt:mtbf", "value": "677.3"}, {"name": "gt:mttr", "value": "1.41"}],
    }


async def test_references_name_the_observed_vocabulary_terms(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($meter: String!, $temp: String!) {"
        " meter: asset(iri: $meter) { references { predicate name iri } }"
        " temp: asset(iri: $temp) { references { name iri } } }",
        {"meter": f"{PRESS_1A}/power-meter", "temp": f"{CNC_1A}/spindle-temp"},
    )

    assert data["meter"]["references"] == [
        {
            "predicate": "http://www.w3.org/ns/sosa/observes",
            "name": "sosa:observes",
            "iri": f"{GT}activePower",
        },
        {
            "predicate": "http://www.w3.org/ns/sosa/observes",
            "name": "sosa:observes",
            "iri": f"{GT}energyConsumed",
        },
    ]
    assert data["temp"]["references"] == [{"name": "sosa:observes", "iri": f"{GT}temperature"}]


async def test_relationships_filtered_by_predicate_and_direction(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($iri: String!) { asset(iri: $iri) {"
        ' feeds: relationships(predicate: "gt:feeds") { name direction assetIri }'
        ' out: relationships(predicate: "gt:feeds", direction: "OUT")'
        "   { assetIri asset { label } }"
        ' partsIn: relationships(predicate: "gt:partOf", direction: "IN") { assetIri }'
        ' allOut: relationships(direction: "OUT") { name assetIri } } }',
        {"iri": PRESS_OP20},
    )
    a = data["asset"]

    assert a["feeds"] == [
        {"name": "gt:feeds", "direction": "OUT", "assetIri": f"{PRESS_LINE}/buffers/b20"},
        {"name": "gt:feeds", "direction": "IN", "assetIri": f"{PRESS_LINE}/buffers/b10"},
    ]
    assert a["out"] == [
        {"assetIri": f"{PRESS_LINE}/buffers/b20", "asset": {"label": "Buffer after OP20"}}
    ]
    assert a["partsIn"] == [{"assetIri": f"{PRESS_OP20}/press-1b"}]
    assert a["allOut"] == [
        {"name": "gt:feeds", "assetIri": f"{PRESS_LINE}/buffers/b20"},
        {"name": "gt:partOf", "assetIri": PRESS_LINE},
    ]


async def test_parent_chain_and_direct_parts(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($iri: String!, $line: String!) {"
        " m: asset(iri: $iri) { parent { iri parent { iri parent { iri parent { iri"
        "   parent { iri parent { iri } } } } } } parts { iri } }"
        " line: asset(iri: $line) { parts { iri } } }",
        {"iri": PRESS_1A, "line": PRESS_LINE},
    )

    chain = []
    node = data["m"]["parent"]
    while node is not None:
        chain.append(node["iri"])
        node = node.get("parent")
    assert chain == [PRESS_OP10, PRESS_LINE, BODY_SHOP, STUTTGART]
    assert iris(data["m"]["parts"]) == [
        f"{PRESS_1A}/{slug}"
        for slug in ("main-drive", "main-motor", "power-meter", "temp-sensor", "vib-sensor")
    ]
    assert iris(data["line"]["parts"]) == parts_below(PRESS_LINE, 1)
    assert len(data["line"]["parts"]) == 9  # five stations, four buffers


async def test_components_are_transitive_and_depth_limited(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($cnc: String!, $line: String!) {"
        " cnc: asset(iri: $cnc) { one: components(depth: 1) { iri } all: components { iri } }"
        " line: asset(iri: $line) { two: components(depth: 2) { iri } all: components { iri } } }",
        {"cnc": CNC_1A, "line": PRESS_LINE},
    )

    # The spindle temperature sensor sits on the spindle: two hops below the machine.
    assert iris(data["cnc"]["one"]) == [
        f"{CNC_1A}/{slug}" for slug in ("main-motor", "power-meter", "spindle", "vib-sensor")
    ]
    assert iris(data["cnc"]["all"]) == sorted([*iris(data["cnc"]["one"]), f"{CNC_1A}/spindle-temp"])
    assert iris(data["line"]["two"]) == parts_below(PRESS_LINE, 2)
    assert len(data["line"]["two"]) == 5 + 4 + 6
    assert iris(data["line"]["all"]) == parts_below(PRESS_LINE, 12)
    assert len(data["line"]["all"]) == 15 + 3 * 5 + 2 * 3


async def test_upstream_and_downstream_follow_feeds(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($op10: String!, $op20: String!) {"
        " op20: asset(iri: $op20) { down: downstream { iri } down2: downstream(depth: 2) { iri }"
        "   up: upstream { iri } up3: upstream(depth: 3) { iri } }"
        " op10: asset(iri: $op10) { up: upstream { iri } all: downstream(depth: 12) { iri } } }",
        {"op10": PRESS_OP10, "op20": PRESS_OP20},
    )
    b = f"{PRESS_LINE}/buffers"
    s = f"{PRESS_LINE}/stations"

    assert iris(data["op20"]["down"]) == [f"{b}/b20"]
    assert iris(data["op20"]["down2"]) == [f"{b}/b20", PRESS_OP30]
    assert iris(data["op20"]["up"]) == [f"{b}/b10"]
    # Only two steps exist upstream; a deeper walk stops at the line's start.
    assert iris(data["op20"]["up3"]) == [f"{b}/b10", PRESS_OP10]
    assert data["op10"]["up"] == []
    assert iris(data["op10"]["all"]) == sorted(
        [f"{b}/b{n}" for n in (10, 20, 30, 40)] + [f"{s}/op{n}" for n in (20, 30, 40, 50)]
    )


# --- lists: type, site, filters, pagination --------------------------------------------------
async def test_pagination_walks_every_asset_exactly_once(demo_twin: Twin) -> None:
    query = (
        "query($after: String) { assets(first: 7, after: $after) {"
        " edges { cursor node { iri } } nodes { iri } pageInfo { hasNextPage endCursor } } }"
    )
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await demo_twin.query(query, {"after": after}))["assets"]
        pages += 1
        assert iris(page["nodes"]) == [e["node"]["iri"] for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen += iris(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(page["nodes"]) == 7
        after = page["pageInfo"]["endCursor"]

    expected = instances_of(demo_twin, f"{GT}Asset")
    assert len(expected) == 245
    assert seen == expected  # IRI order, no duplicates, none missing
    assert pages == math.ceil(245 / 7)


async def test_type_matches_subclasses(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        '{ machines: assets(type: "gt:Machine", first: 100) { nodes { iri types { iri } } }'
        ' presses: assets(type: "gt:Press") { nodes { iri } }'
        f' components: assets(type: "{GT}Component", first: 500) {{ nodes {{ iri }} }}'
        ' sensors: assets(type: "gt:Sensor", first: 500) { nodes { iri } } }'
    )

    machines = data["machines"]["nodes"]
    assert iris(machines) == instances_of(demo_twin, f"{GT}Machine")
    assert len(machines) == 46
    kinds = {t["iri"].removeprefix(GT) for m in machines for t in m["types"]}
    assert kinds == {
        "Press", "IndustrialRobot", "Welder", "CNCMachine", "InjectionMoldingMachine",
        "Conveyor", "CuringOven", "InspectionSystem", "PackagingMachine", "AssemblyMachine",
    }  # fmt: skip
    assert iris(data["presses"]["nodes"]) == [
        f"{PRESS_LINE}/stations/op{n}0/press-1{c}" for n, c in ((1, "a"), (2, "b"), (3, "c"))
    ]
    sensors = iris(data["sensors"]["nodes"])
    assert sensors == instances_of(demo_twin, f"{GT}Sensor")
    # Sensors are components too (gt:Sensor rdfs:subClassOf gt:Component).
    assert set(sensors) < set(iris(data["components"]["nodes"]))
    assert iris(data["components"]["nodes"]) == instances_of(demo_twin, f"{GT}Component")


async def test_site_scopes_the_list(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($gvl: String!, $str: String!) {"
        ' gvl: assets(type: "gt:Machine", site: $gvl, first: 100) { nodes { iri } }'
        ' str: assets(type: "gt:Machine", site: $str, first: 100) { nodes { iri } }'
        ' lines: assets(type: "gt:Line", site: $str) { nodes { iri } } }',
        {"gvl": GREENVILLE, "str": STUTTGART},
    )
    machines = instances_of(demo_twin, f"{GT}Machine")

    assert iris(data["gvl"]["nodes"]) == within(machines, GREENVILLE)
    assert len(data["gvl"]["nodes"]) == 22
    assert iris(data["str"]["nodes"]) == within(machines, STUTTGART)
    assert len(data["str"]["nodes"]) == 24
    assert iris(data["lines"]["nodes"]) == [
        f"{STUTTGART}/lines/{slug}" for slug in ("cnc-1", "press-1", "weld-1")
    ]


async def test_numeric_filters_compare_numbers(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "query($str: String!) {"
        ' big: assets(type: "gt:Machine", first: 100,'
        '   filter: [{property: "gt:ratedPower", op: "GT", value: "50"}]) { nodes { iri } }'
        " band: assets(first: 100, site: $str, filter: ["
        '   {property: "gt:ratedPower", op: "GTE", value: "10"},'
        '   {property: "gt:ratedPower", op: "LT", value: "100.5"}]) { nodes { iri } }'
        ' exact: assets(filter: [{property: "gt:ratedPower", op: "EQ", value: "203.1"}])'
        "   { nodes { iri } } }",
        {"str": STUTTGART},
    )
    machines = instances_of(demo_twin, f"{GT}Machine")
    power = {m: decimal_of(m, "ratedPower") for m in machines}

    big = sorted(m for m, kw in power.items() if kw > 50)
    assert iris(data["big"]["nodes"]) == big
    assert 0 < len(big) < 46
    band = sorted(m for m, kw in power.items() if 10 <= kw < 100.5 and m.startswith(STUTTGART))
    assert iris(data["band"]["nodes"]) == band
    assert band
    assert iris(data["exact"]["nodes"]) == [PRESS_1A]


async def test_contains_and_equality_filters_on_text(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "{ tessaro: assets(first: 100,"
        '   filter: [{property: "gt:manufacturer", op: "CONTAINS", value: "Robotics"}])'
        '   { nodes { iri manufacturer: property(name: "gt:manufacturer") { value } } }'
        ' down: assets(first: 100, filter: [{property: "gt:machineState", value: "down"}])'
        "   { nodes { iri } } }"
    )
    graph = demo_graph()

    tessaro = data["tessaro"]["nodes"]
    assert tessaro
    assert {n["manufacturer"]["value"] for n in tessaro} == {"Tessaro Robotics"}
    assert iris(tessaro) == sorted(
        str(s) for s in graph.subjects(URIRef(f"{GT}manufacturer"), Literal("Tessaro Robotics"))
    )
    assert iris(data["down"]["nodes"]) == sorted(
        str(s) for s in graph.subjects(URIRef(f"{GT}machineState"), Literal("down"))
    )


async def test_list_errors_are_expected_errors_with_a_code(demo_twin: Twin) -> None:
    for arguments, fragment in (
        ('type: "gt:Nope"', "unknown class"),
        ('type: "nope:Machine"', "unknown class 'nope:Machine'"),
        ("first: 0", "first must be between 1 and 1000"),
        ("first: 1001", "first must be between 1 and 1000"),
        ('filter: [{property: "gt:ratedPower", op: "GT", value: "lots"}]', "needs a number"),
        ('filter: [{property: "gt:ratedPower", op: "LIKE", value: "1"}]', "unknown filter"),
    ):
        response = await demo_twin.post(f"{{ assets({arguments}) {{ nodes {{ iri }} }} }}")
        payload = response.json()

        assert response.status_code == 200
        assert payload["data"] is None
        (error,) = payload["errors"]
        assert fragment in error["message"], arguments
        assert error["path"] == ["assets"]
        assert error["extensions"]["code"] == "BAD_INPUT"
        assert set(error["extensions"]) <= {"code", "field"}


async def test_a_cursor_graphtwin_did_not_make_is_refused(demo_twin: Twin) -> None:
    # "!!!" is no base64 at all; decoding it leniently gives "" and restarts the list.
    for cursor in ("!!!", "not a cursor"):
        response = await demo_twin.post(
            "query($after: String) { assets(after: $after) { nodes { iri } } }",
            {"after": cursor},
        )
        payload = response.json()

        assert payload["data"] is None, cursor
        (error,) = payload["errors"]
        assert error["message"] == "invalid cursor"
        assert error["extensions"]["code"] == "BAD_INPUT"
        assert set(error["extensions"]) <= {"code", "field"}


# --- the ontology ----------------------------------------------------------------------------
async def test_ontology_classes_roots_only(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        "{ roots: ontologyClasses(rootsOnly: true) { iri } all: ontologyClasses { iri } }"
    )
    roots = iris(data["roots"])
    every = iris(data["all"])

    assert f"{GT}Asset" in roots
    assert "http://www.w3.org/ns/sosa/Sensor" in roots
    assert f"{GT}Machine" not in roots
    assert f"{GT}Machine" in every
    assert f"{GT}Sensor" in every
    assert set(roots) < set(every)


async def test_ontology_class_hierarchy_and_properties(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        '{ machine: ontologyClass(iri: "gt:Machine") { iri label comment isa95Level'
        "   superClasses { iri } subClasses { iri } ancestors { iri } properties { iri kind } }"
        ' sensor: ontologyClass(iri: "gt:Sensor") { superClasses { iri } ancestors { iri }'
        "   isa95Level }"
        ' asset: ontologyClass(iri: "gt:Asset") { direct: subClasses { iri }'
        "   all: subClasses(direct: false) { iri } }"
        ' nope: ontologyClass(iri: "gt:Nope") { iri } }'
    )
    machine = data["machine"]

    assert machine["iri"] == f"{GT}Machine"
    assert machine["label"] == "Machine"
    assert machine["isa95Level"] == "Equipment"
    assert machine["comment"].startswith("A piece of production equipment")
    assert iris(machine["superClasses"]) == [f"{GT}Asset"]
    assert iris(machine["ancestors"]) == [f"{GT}Asset"]
    assert iris(machine["subClasses"]) == [
        f"{GT}{name}"
        for name in (
            "AssemblyMachine", "CNCMachine", "Conveyor", "CuringOven", "IndustrialRobot",
            "InjectionMoldingMachine", "InspectionSystem", "PackagingMachine", "Press", "Welder",
        )
    ]  # fmt: skip
    props = {p["iri"].removeprefix(GT): p["kind"] for p in machine["properties"]}
    # Domain gt:Machine or gt:Asset; not gt:Buffer's or gt:Site's.
    assert props["machineState"] == "datatype"
    assert props["ratedPower"] == "datatype"
    assert props["feeds"] == "object"
    assert "capacity" not in props
    assert "siteCode" not in props

    assert set(iris(data["sensor"]["superClasses"])) == {
        f"{GT}Component",
        "http://www.w3.org/ns/sosa/Sensor",
    }
    assert set(iris(data["sensor"]["ancestors"])) == {
        f"{GT}Component",
        f"{GT}Asset",
        "http://www.w3.org/ns/sosa/Sensor",
    }
    assert data["sensor"]["isa95Level"] == "ControlModule"
    direct = iris(data["asset"]["direct"])
    assert f"{GT}Machine" in direct
    assert f"{GT}Press" not in direct
    assert {f"{GT}Press", f"{GT}Sensor", f"{GT}Machine"} <= set(iris(data["asset"]["all"]))
    assert data["nope"] is None


async def test_ontology_properties_by_kind_with_units(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        '{ datatype: ontologyProperties(kind: "datatype") { iri kind range unitIri unitSymbol'
        "   domain superProperties }"
        ' object: ontologyProperties(kind: "object") { iri kind } }'
    )
    datatype = {p["iri"]: p for p in data["datatype"]}

    assert {p["kind"] for p in data["datatype"]} == {"datatype"}
    assert datatype[f"{GT}ratedPower"] == {
        "iri": f"{GT}ratedPower",
        "kind": "datatype",
        "range": [f"{XSD}decimal"],
        "unitIri": "http://qudt.org/vocab/unit/KiloW",
        "unitSymbol": "kW",
        "domain": [f"{GT}Asset"],
        "superProperties": [f"{GT}nameplateProperty"],
    }
    assert datatype[f"{GT}idealCycleTime"]["unitSymbol"] == "s"
    assert datatype[f"{GT}temperature"]["unitSymbol"] == "°C"
    assert datatype[f"{GT}vibrationVelocity"]["unitSymbol"] == "mm/s"
    assert datatype[f"{GT}capacity"]["unitSymbol"] is None
    assert datatype[f"{GT}capacity"]["range"] == [f"{XSD}integer"]
    assert f"{GT}feeds" not in datatype
    objects = {p["iri"] for p in data["object"]}
    assert {f"{GT}{n}" for n in ("partOf", "hasPart", "feeds", "fedBy")} <= objects
    assert {p["kind"] for p in data["object"]} == {"object"}


# --- DataLoader batching ------------------------------------------------------------------
PARTS_WITH_PROPERTIES = "parts { iri label properties { name value unit { symbol } } "


def nested_parts(levels: int) -> str:
    return PARTS_WITH_PROPERTIES * levels + "}" * levels


def count_machines(node: dict, twin: Twin) -> int:
    machines = set(instances_of(twin, f"{GT}Machine"))
    found = 0
    stack = [node]
    while stack:
        current = stack.pop()
        found += current.get("iri") in machines
        stack += current.get("parts", [])
    return found


async def test_nested_parts_cost_a_few_round_trips_per_level_not_per_node(
    demo_twin: Twin,
) -> None:
    store = demo_twin.store

    # Whole plant: sites > areas > lines > stations and buffers > machines (5 levels).
    before = store.round_trips
    plant = await demo_twin.query("{ sites { iri " + nested_parts(4) + " } }")
    plant_trips = store.round_trips - before

    # One line: line > stations and buffers > machines (3 levels).
    before = store.round_trips
    line = await demo_twin.query(
        "query($iri: String!) { asset(iri: $iri) { iri " + nested_parts(2) + " } }",
        {"iri": PRESS_LINE},
    )
    line_trips = store.round_trips - before

    plant_machines = sum(count_machines(site, demo_twin) for site in plant["sites"])
    assert plant_machines == 46
    assert count_machines(line["asset"], demo_twin) == 6
    assert plant_trips <= 3 * 5
    assert line_trips <= 3 * 3
    # 7.7x the machines, 2 more levels: only the levels cost more round trips.
    assert plant_trips - line_trips <= 3 * 2


async def test_walks_are_batched_across_siblings(demo_twin: Twin) -> None:
    store = demo_twin.store
    query = (
        "query($iri: String!) { asset(iri: $iri) { parts { iri"
        " components { iri } downstream(depth: 2) { iri } upstream { iri } } } }"
    )

    before = store.round_trips
    data = await demo_twin.query(query, {"iri": PRESS_LINE})
    trips = store.round_trips - before

    parts = {p["iri"]: p for p in data["asset"]["parts"]}
    assert len(parts) == 9
    assert iris(parts[PRESS_OP10]["components"]) == parts_below(PRESS_OP10, 12)
    assert iris(parts[PRESS_OP10]["downstream"]) == [f"{PRESS_LINE}/buffers/b10", PRESS_OP20]
    # asset + parts (2) + one query per walk kind, each for all nine parts + their assets.
    assert trips <= 2 + 2 + 3 * 2
