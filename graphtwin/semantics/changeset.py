"""Change sets: what a write wants to add and remove, before it is checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from graphtwin.semantics.description import SKOLEM_PREFIX, Triple


@dataclass
class ChangeSet:
    add: list[Triple] = field(default_factory=list)
    remove: list[Triple] = field(default_factory=list)
    # Resources whose every statement, and every link to them, goes.
    delete: set[str] = field(default_factory=set)
    # Preconditions: a create must not find its IRI taken, an update must find it.
    must_exist: set[str] = field(default_factory=set)
    must_not_exist: set[str] = field(default_factory=set)
    # For ``replace`` imports: subjects whose stored description is dropped first.
    replace: set[str] = field(default_factory=set)

    def subjects(self) -> set[str]:
        return {str(s) for s, _, _ in self.add} | {str(s) for s, _, _ in self.remove}


def skolemize(graph: Graph) -> list[Triple]:
    """The document's triples with every blank node replaced by a fresh skolem IRI.

    Blank nodes are scoped to their document, so each import mints new IRIs.
    """
    minted: dict[BNode, URIRef] = {}

    def term(node: Node) -> Node:
        if isinstance(node, BNode):
            if node not in minted:
                minted[node] = URIRef(f"{SKOLEM_PREFIX}{uuid.uuid4().hex}")
            return minted[node]
        return node

    return [(term(s), p, term(o)) for s, p, o in graph]
