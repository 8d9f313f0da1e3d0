"""The write path: every rejected change writes nothing; accepted ones are atomic."""

from __future__ import annotations

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from graphtwin.api.context import Services
from graphtwin.bootstrap import build_services
from graphtwin.config import Settings
from graphtwin.errors import BadInput, Conflict, NotFound, ShapeViolation
from graphtwin.graph.bolt_store import BoltGraphStore
from graphtwin.twins.service import PropertyInput

SITE = "https://acme.example/sites/lab"
PREFIXES = """
@prefix gt:   <https://w3id.org/graphtwin/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
@prefix lab:  <https://acme.example/sites/lab/> .
"""
PLANT = (
    PREFIXES
    + """
<https://acme.example/sites/lab> a gt:Site ; rdfs:label "Lab" .
lab:line-1 a gt:Line ; rdfs:label "Line 1" ; gt:partOf <https://acme.example/sites/lab> .
lab:line-1-op10 a gt:Station ; rdfs:label "OP10" ; gt:partOf lab:line-1 ; gt:feeds lab:line-1-op20 .
lab:line-1-op20 a gt:Station ; rdfs:label "OP20" ; gt:partOf lab:line-1 .
lab:press-1 a gt:Press ; rdfs:label "Press 1" ; gt:partOf lab:line-1-op10 ;
    gt:idealCycleTime 12.5 ; gt:goodCount 90 ; gt:totalCount 100 .
lab:press-1-motor a gt:Motor ; rdfs:label "Main motor" ; gt:partOf lab:press-1 .
"""
)


async def _snapshot(services: Services) -> Graph:
    return await services.twins.export_graph()


@pytest.fixture
async def plant(services: Services) -> Services:
    await services.twins.import_document(PLANT, "turtle")
    return services


async def _assert_rejected_unchanged(
    services: Services, error: type[Exception], document: str, fmt: str = "turtle"
) -> Exception:
    before = await _snapshot(services)
    with pytest.raises(error) as caught:
        await services.twins.import_document(document, fmt)
    after = await _snapshot(services)
    assert isomorphic(before, after)
    return caught.value


async def test_shape_violation_writes_nothing_and_reports_the_focus_node(plant: Services) -> None:
    # The first statement is fine, the second breaks a shape: nothing of either lands.
    document = (
        PREFIXES
        + """
    lab:press-2 a gt:Press ; rdfs:label "Press 2" ; gt:partOf lab:line-1-op20 .
    lab:press-1 gt:idealCycleTime -1.0 .
    """
    )
    error = await _assert_rejected_unchanged(plant, ShapeViolation, document)
    assert isinstance(error, ShapeViolation)
    focus = {v.focus_node for v in error.report.violations}
    assert "https://acme.example/sites/lab/press-1" in focus
    violation = next(v for v in error.report.violations if v.focus_node.endswith("press-1"))
    assert violation.path and violation.path.endswith("idealCycleTime")
    assert violation.severity == "Violation"
    assert violation.message


async def test_machine_outside_its_sites_namespace_is_rejected(plant: Services) -> None:
    document = (
        PREFIXES
        + """
    <https://acme.example/sites/other/press-9> a gt:Press ; rdfs:label "Stray" ;
        gt:partOf lab:line-1-op10 .
    """
    )
    error = await _assert_rejected_unchanged(plant, ShapeViolation, document)
    assert isinstance(error, ShapeViolation)
    assert any("press-9" in v.focus_node for v in error.report.violations)


async def test_good_count_above_total_count_is_rejected(plant: Services) -> None:
    with pytest.raises(ShapeViolation):
        await plant.twins.set_property(
            "https://acme.example/sites/lab/press-1", PropertyInput("gt:goodCount", "101")
        )


async def test_iri_outside_allowed_namespaces_is_bad_input(plant: Services) -> None:
    document = PREFIXES + '<https://evil.example/x> a gt:Site ; rdfs:label "X" .'
    error = await _assert_rejected_unchanged(plant, BadInput, document)
    assert "outside the allowed namespaces" in str(error)


async def test_unknown_class_is_bad_input(plant: Services) -> None:
    document = PREFIXES + 'lab:thing a gt:Spaceship ; rdfs:label "X" .'
    error = await _assert_rejected_unchanged(plant, BadInput, document)
    assert "unknown class" in str(error)


async def test_dangling_reference_is_bad_input(plant: Services) -> None:
    document = PREFIXES + 'lab:press-3 a gt:Press ; rdfs:label "P3" ; gt:partOf lab:nowhere .'
    error = await _assert_rejected_unchanged(plant, BadInput, document)
    assert "dangling reference" in str(error)


async def test_ill_typed_literal_is_bad_input(plant: Services) -> None:
    document = PREFIXES + 'lab:press-1 gt:goodCount "many"^^xsd:integer .'
    error = await _assert_rejected_unchanged(plant, BadInput, document)
    assert "not a valid" in str(error)


async def test_malformed_documents_are_bad_input(plant: Services) -> None:
    await _assert_rejected_unchanged(plant, BadInput, PREFIXES + "lab:a lab:b ")
    await _assert_rejected_unchanged(plant, BadInput, "nope:a nope:b nope:c .")
    await _assert_rejected_unchanged(plant, BadInput, '{"@id": ', "json-ld")
    await _assert_rejected_unchanged(
        plant, BadInput, '{"@context": "https://schema.org", "@id": "x"}', "json-ld"
    )


async def test_oversized_document_is_refused(
    graph_store: BoltGraphStore, test_settings: Settings
) -> None:
    from dataclasses import replace

    small = build_services(replace(test_settings, max_upload_bytes=100), graph_store)
    await small.twins.repository.load_prefixes()
    with pytest.raises(BadInput, match="larger than the limit"):
        await small.twins.import_document(PLANT, "turtle")
    assert await small.twins.queries.sites() == []


async def test_create_existing_iri_is_a_conflict(plant: Services) -> None:
    with pytest.raises(Conflict):
        await plant.twins.create_asset(SITE + "/press-1", "gt:Press", part_of=SITE + "/line-1")


async def test_update_of_unknown_asset_is_not_found(plant: Services) -> None:
    with pytest.raises(NotFound):
        await plant.twins.update_asset(SITE + "/ghost", label="Ghost")


async def test_delete_of_referenced_station_is_refused_without_cascade(plant: Services) -> None:
    before = await _snapshot(plant)
    with pytest.raises(ShapeViolation):
        # Its machine would be left part of nothing.
        await plant.twins.delete_asset(SITE + "/line-1-op10")
    assert isomorphic(before, await _snapshot(plant))


async def test_delete_with_cascade_removes_the_components_and_incoming_links(
    plant: Services,
) -> None:
    result = await plant.twins.delete_asset(SITE + "/line-1-op10", cascade=True)
    assert set(result.deleted) == {
        SITE + "/line-1-op10",
        SITE + "/press-1",
        SITE + "/press-1-motor",
    }
    (op20,) = await plant.twins.queries.describe([SITE + "/line-1-op20"])
    assert op20 is not None
    assert await plant.twins.queries.inbound([SITE + "/line-1-op20"]) == [[]]


async def test_replace_import_drops_what_the_document_no_longer_says(plant: Services) -> None:
    document = (
        PREFIXES
        + """
    lab:press-1 a gt:Press ; rdfs:label "Press 1 (rebuilt)" ; gt:partOf lab:line-1-op10 .
    """
    )
    await plant.twins.import_document(document, "turtle", replace=True)
    (press,) = await plant.twins.queries.describe([SITE + "/press-1"])
    assert press is not None
    assert {str(v) for v in press.literals["http://www.w3.org/2000/01/rdf-schema#label"]} == {
        "Press 1 (rebuilt)"
    }
    assert "https://w3id.org/graphtwin/core#idealCycleTime" not in press.literals


async def test_type_change_relabels_the_node_and_keeps_its_links(plant: Services) -> None:
    # ArcadeDB cannot drop a label in place; the node is re-created with its links.
    await plant.twins.update_asset(SITE + "/press-1", type_="gt:Welder")
    assert await plant.twins.queries.inbound([SITE + "/press-1"]) == [
        [("https://w3id.org/graphtwin/core#partOf", SITE + "/press-1-motor")]
    ]
    (press,) = await plant.twins.queries.describe([SITE + "/press-1"])
    assert press is not None
    assert press.links["https://w3id.org/graphtwin/core#partOf"] == {SITE + "/line-1-op10"}
    rows = await plant.twins.repository.store.read(
        "MATCH (n:Resource {iri: $iri}) RETURN labels(n) AS labels", {"iri": SITE + "/press-1"}
    )
    labels = set(rows[0]["labels"])
    assert "gt__Welder" in labels and "gt__Machine" in labels
    assert "gt__Press" not in labels


async def test_prefixes_survive_new_services_on_the_same_graph(
    plant: Services, graph_store: BoltGraphStore, test_settings: Settings
) -> None:
    await plant.twins.import_document(
        PREFIXES + '<https://acme.example/sites/lab/line-1> <https://vocab.example/y#tag> "t" .',
        "turtle",
    )
    before = await _snapshot(plant)
    fresh = build_services(test_settings, graph_store)
    await fresh.twins.repository.load_prefixes()
    assert isomorphic(before, await fresh.twins.export_graph())


async def test_whole_graph_validation_reports_conformance(plant: Services) -> None:
    report = await plant.twins.validate_all()
    assert report.conforms, report.violations
