"""Import then export gives back an isomorphic graph (rdflib's isomorphism is the test)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from graphtwin.api.context import Services
from graphtwin.demo.plant import build_demo_plant

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rdf"


def _explain(expected: Graph, actual: Graph) -> str:
    _, only_expected, only_actual = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
    lines = ["only in input:"] + [f"  {t}" for t in sorted(only_expected)[:20]]
    lines += ["only in export:"] + [f"  {t}" for t in sorted(only_actual)[:20]]
    return "\n".join(lines)


async def test_demo_plant_round_trips_isomorphically(services: Services) -> None:
    plant = build_demo_plant()
    await services.twins.import_graph(plant)
    exported = await services.twins.export_graph()
    assert isomorphic(plant, exported), _explain(plant, exported)


async def test_every_literal_kind_language_tag_and_blank_node_round_trips(
    services: Services,
) -> None:
    document = Graph().parse(FIXTURES / "every-literal.ttl", format="turtle")
    await services.twins.import_document((FIXTURES / "every-literal.ttl").read_bytes(), "turtle")
    exported = await services.twins.export_graph()
    assert isomorphic(document, exported), _explain(document, exported)


async def test_round_trip_through_json_ld_and_n_triples(services: Services) -> None:
    document = Graph().parse(FIXTURES / "every-literal.ttl", format="turtle")
    await services.twins.import_document(document.serialize(format="json-ld"), "json-ld")
    exported = await services.twins.export_graph()
    again = Graph().parse(data=exported.serialize(format="nt"), format="nt")
    assert isomorphic(document, again), _explain(document, again)


async def test_literals_are_native_values_in_the_property_graph(services: Services) -> None:
    await services.twins.import_document((FIXTURES / "every-literal.ttl").read_bytes(), "turtle")
    rows = await services.twins.repository.store.read(
        "MATCH (n:Resource {iri: $iri}) RETURN n AS node, labels(n) AS labels",
        {"iri": "https://acme.example/sites/lab/literals"},
    )
    node = rows[0]["node"]
    prefixes = services.twins.repository.prefixes
    key = prefixes.compact
    assert sorted(node[key("https://vocab.example/x#integer")]) == [-7, 0, 42]
    assert node[key("https://vocab.example/x#boolean")] in ([False, True], [True, False])
    assert 12.5 in node[key("https://vocab.example/x#decimal")]
    assert node[key("http://www.w3.org/ns/sosa/observes")] == (
        "https://w3id.org/graphtwin/core#temperature"
    )
    assert {"Resource", "gt__Area", "gt__Asset"} <= set(rows[0]["labels"])


async def test_blank_nodes_are_fresh_for_every_import(services: Services) -> None:
    doc = (
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://acme.example/sites/a> a <https://w3id.org/graphtwin/core#Site> ;\n"
        '  rdfs:label "A" ; rdfs:seeAlso [ rdfs:label "note" ] .\n'
    )
    await services.twins.import_document(doc, "turtle")
    await services.twins.import_document(doc, "turtle")
    exported = await services.twins.export_graph()
    notes = list(
        exported.subjects(
            predicate=URIRef("http://www.w3.org/2000/01/rdf-schema#label"), object=Literal("note")
        )
    )
    assert len(notes) == 2  # blank nodes are scoped to their document


async def test_generated_prefixes_are_stored_with_the_write(
    services: Services,
) -> None:
    # A namespace first seen in a write gets a generated prefix, stored with the write.
    await services.twins.import_document((FIXTURES / "every-literal.ttl").read_bytes(), "turtle")
    rows = await services.twins.repository.store.read(
        "MATCH (p:GraphtwinPrefix) RETURN p.prefix AS prefix, p.namespace AS ns"
    )
    stored = {r["ns"]: r["prefix"] for r in rows}
    assert "https://vocab.example/x#" in stored
    assert "https://w3id.org/graphtwin/core#" in stored
