"""The mapping's lossless promise, without a database: rows back to the same literals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import XSD, Literal, URIRef

from graphtwin.semantics.description import Description
from graphtwin.semantics.mapping import GraphMapping
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.prefixes import PrefixTable
from graphtwin.semantics.vocab import GT

ONTOLOGIES = Path(__file__).parents[2] / "ontologies"
IRI = "https://acme.example/sites/lab/m1"


@pytest.fixture(scope="module")
def mapping() -> GraphMapping:
    ontology = OntologyIndex.load(ONTOLOGIES)
    return GraphMapping(ontology, PrefixTable(ontology.prefixes))


LITERALS = [
    Literal(Decimal("12.5")),
    Literal("12.50", datatype=XSD.decimal),
    Literal("0.00001", datatype=XSD.decimal),
    Literal("1E+3", datatype=XSD.decimal),
    Literal(1.5),
    Literal("1.5E3", datatype=XSD.double),
    Literal("INF", datatype=XSD.double),
    Literal(42),
    Literal("007", datatype=XSD.integer),
    Literal("5", datatype=XSD.int),
    Literal(2**70),
    Literal(True),
    Literal("1", datatype=XSD.boolean),
    Literal("2024-05-01T08:30:00Z", datatype=XSD.dateTime),
    Literal("plain"),
    Literal("typed", datatype=XSD.string),
    Literal("Presse", lang="de"),
    Literal("7 bar", datatype=URIRef("https://vocab.example/x#pressure")),
]


@pytest.mark.parametrize(
    "predicate", [str(GT.ratedPower), str(GT.goodCount), "https://vocab.example/x#free"]
)
@pytest.mark.parametrize("literal", LITERALS, ids=[f"{lit!r}" for lit in LITERALS])
def test_rows_give_back_the_exact_literal(
    mapping: GraphMapping, predicate: str, literal: Literal
) -> None:
    desc = Description(IRI, types={str(GT.Press)}, literals={predicate: {literal}})
    rows = mapping.to_rows(desc)
    back = mapping.from_node(rows.node.props, [])
    assert back.literals[predicate] == {literal}
    (value,) = mapping.view(rows.node.props, []).values[predicate]
    assert (value.lexical, value.datatype, value.language) == (
        str(literal),
        str(literal.datatype) if literal.datatype else None,
        literal.language,
    )


def test_declared_decimals_are_stored_natively_without_exact_forms(mapping: GraphMapping) -> None:
    desc = Description(IRI, literals={str(GT.ratedPower): {Literal(Decimal("203.1"))}})
    props = mapping.to_rows(desc).node.props
    assert props["gt__ratedPower"] == 203.1
    assert "_lits" not in props


def test_labels_are_the_class_and_its_superclasses(mapping: GraphMapping) -> None:
    labels = mapping.to_rows(Description(IRI, types={str(GT.Press)})).node.labels
    assert labels == ["Resource", "gt__Asset", "gt__Machine", "gt__Press"]


def test_multi_valued_mixed_properties_round_trip(mapping: GraphMapping) -> None:
    values = {Literal(1), Literal("one"), Literal("eins", lang="de")}
    desc = Description(IRI, literals={"https://vocab.example/x#n": values})
    rows = mapping.to_rows(desc)
    assert mapping.from_node(rows.node.props, []).literals["https://vocab.example/x#n"] == values
