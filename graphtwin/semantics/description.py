"""``Description``: everything the graph says about one resource, as RDF terms.

It is the unit every write works on: change sets are applied to descriptions,
descriptions are validated, and the mapping turns them into node records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node

# Blank nodes are stored as resources with a skolem IRI under this prefix and turned
# back into blank nodes on export (see docs/mapping.md).
SKOLEM_PREFIX = "urn:graphtwin:bnode:"

Triple = tuple[Node, Node, Node]
T = TypeVar("T")


def is_skolem(iri: str) -> bool:
    return iri.startswith(SKOLEM_PREFIX)


@dataclass
class Description:
    iri: str
    types: set[str] = field(default_factory=set)
    # predicate IRI -> literal values
    literals: dict[str, set[Literal]] = field(default_factory=dict)
    # predicate IRI -> IRIs of other stored resources (relationships in the graph)
    links: dict[str, set[str]] = field(default_factory=dict)
    # predicate IRI -> IRIs outside the data namespaces (vocabulary terms, external refs)
    refs: dict[str, set[str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.types or self.literals or self.links or self.refs)

    def subject(self) -> URIRef | BNode:
        if is_skolem(self.iri):
            return BNode(self.iri[len(SKOLEM_PREFIX) :])
        return URIRef(self.iri)

    def triples(self, *, deskolemize: bool = False) -> Iterator[Triple]:
        subject: Node = self.subject() if deskolemize else URIRef(self.iri)
        for t in sorted(self.types):
            yield subject, RDF.type, URIRef(t)
        for p, values in self.literals.items():
            for lit in values:
                yield subject, URIRef(p), lit
        for p, iris in self.links.items():
            for o in iris:
                yield subject, URIRef(p), term_for(o, deskolemize=deskolemize)
        for p, iris in self.refs.items():
            for o in iris:
                yield subject, URIRef(p), URIRef(o)

    def add(self, predicate: str, obj: Node, *, is_resource: bool) -> None:
        if predicate == str(RDF.type) and isinstance(obj, URIRef):
            self.types.add(str(obj))
        elif isinstance(obj, Literal):
            self.literals.setdefault(predicate, set()).add(obj)
        elif is_resource:
            self.links.setdefault(predicate, set()).add(str(obj))
        else:
            self.refs.setdefault(predicate, set()).add(str(obj))

    def remove(self, predicate: str, obj: Node) -> bool:
        """Remove one statement; True if it was there."""
        if predicate == str(RDF.type):
            found = str(obj) in self.types
            self.types.discard(str(obj))
            return found
        if isinstance(obj, Literal):
            return _discard(self.literals, predicate, obj)
        return _discard(self.links, predicate, str(obj)) or _discard(self.refs, predicate, str(obj))

    def copy(self) -> Description:
        return Description(
            iri=self.iri,
            types=set(self.types),
            literals={k: set(v) for k, v in self.literals.items()},
            links={k: set(v) for k, v in self.links.items()},
            refs={k: set(v) for k, v in self.refs.items()},
        )


def _discard(table: dict[str, set[T]], predicate: str, value: T) -> bool:
    values = table.get(predicate)
    if values is None or value not in values:
        return False
    values.discard(value)
    if not values:
        del table[predicate]
    return True


def term_for(iri: str, *, deskolemize: bool) -> URIRef | BNode:
    if deskolemize and is_skolem(iri):
        return BNode(iri[len(SKOLEM_PREFIX) :])
    return URIRef(iri)


def graph_of(descriptions: Iterable[Description], *, deskolemize: bool = False) -> Graph:
    graph = Graph()
    for desc in descriptions:
        for triple in desc.triples(deskolemize=deskolemize):
            graph.add(triple)
    return graph
