"""Which IRIs are data (stored resources) and which are vocabulary or external."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import URIRef
from rdflib.term import Node

from graphtwin.semantics.description import is_skolem


class IriPolicy:
    """Data IRIs live in the configured namespaces; everything else is a reference."""

    def __init__(self, namespaces: Iterable[str]) -> None:
        self.namespaces = tuple(namespaces)

    def is_data(self, iri: str) -> bool:
        return is_skolem(iri) or iri.startswith(self.namespaces)

    def is_data_node(self, node: Node) -> bool:
        return isinstance(node, URIRef) and self.is_data(str(node))
