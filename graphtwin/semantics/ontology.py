"""The loaded ontologies as an index: classes with their hierarchy, properties with
their ranges and units.

The index is what turns ``rdf:type`` into labels (a class and all its
superclasses), coerces GraphQL property input to the declared datatype, and
answers the ontology queries of the API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from graphtwin.errors import BadInput
from graphtwin.semantics.vocab import GT, PREFIXES, QUDT

log = logging.getLogger(__name__)

_RDF_SUFFIXES = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".rdf": "xml", ".owl": "xml"}


@dataclass
class OntologyClass:
    iri: str
    label: str | None
    comment: str | None
    parents: list[str] = field(default_factory=list)
    # The class itself and every superclass, transitively.
    ancestors: list[str] = field(default_factory=list)
    isa95_level: str | None = None


@dataclass
class OntologyProperty:
    iri: str
    kind: str  # "datatype", "object" or "annotation"
    label: str | None
    comment: str | None
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    unit: str | None = None
    super_properties: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Unit:
    iri: str
    symbol: str | None
    label: str | None
    # QUDT: value_in_SI = (value + offset) * multiplier; None when the unit has none.
    multiplier: float | None = None
    offset: float = 0.0
    quantity_kinds: tuple[str, ...] = ()


def _text(graph: Graph, subject: Node, predicate: URIRef) -> str | None:
    values = [o for o in graph.objects(subject, predicate) if isinstance(o, Literal)]
    if not values:
        return None
    english = [v for v in values if v.language in (None, "en")]
    return str((english or values)[0])


def _number(graph: Graph, subject: Node, predicate: URIRef) -> float | None:
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def _iris(nodes: Iterable[Node]) -> list[str]:
    return sorted(str(n) for n in nodes if isinstance(n, URIRef))


class OntologyIndex:
    """Read-only view of the ontologies in force."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.classes: dict[str, OntologyClass] = {}
        self.properties: dict[str, OntologyProperty] = {}
        self.units: dict[str, Unit] = {}
        self.prefixes: dict[str, str] = dict(PREFIXES)
        for prefix, namespace in graph.namespaces():
            if prefix:
                self.prefixes.setdefault(prefix, str(namespace))
        self._index_classes()
        self._index_properties()
        self._index_units()

    @classmethod
    def load(cls, directory: Path) -> OntologyIndex:
        """Load every RDF file in ``directory``.

        :raises BadInput: a file does not parse; the message names the file.
        """
        graph = Graph()
        files = sorted(p for p in directory.iterdir() if p.suffix in _RDF_SUFFIXES)
        for path in files:
            try:
                graph.parse(path, format=_RDF_SUFFIXES[path.suffix])
            except Exception as exc:  # rdflib raises many unrelated types on bad input
                raise BadInput(f"ontology {path.name} does not parse: {exc}") from exc
        log.info("loaded %d ontology files, %d triples", len(files), len(graph))
        return cls(graph)

    # -- classes ---------------------------------------------------------------
    def _index_classes(self) -> None:
        g = self.graph
        candidates: set[Node] = set(g.subjects(RDF.type, OWL.Class))
        candidates |= set(g.subjects(RDF.type, RDFS.Class))
        candidates |= set(g.subjects(RDFS.subClassOf, None))
        candidates |= {o for o in g.objects(None, RDFS.subClassOf) if isinstance(o, URIRef)}
        for node in candidates:
            if not isinstance(node, URIRef) or node == OWL.Thing:
                continue
            self.classes[str(node)] = OntologyClass(
                iri=str(node),
                label=_text(g, node, RDFS.label),
                comment=_text(g, node, RDFS.comment),
                parents=[p for p in _iris(g.objects(node, RDFS.subClassOf)) if p != str(OWL.Thing)],
                isa95_level=_text(g, node, GT.isa95Level),
            )
        for cls in self.classes.values():
            cls.ancestors = self._closure(cls.iri)

    def _closure(self, iri: str) -> list[str]:
        seen: list[str] = []
        todo = [iri]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.append(current)
            known = self.classes.get(current)
            if known:
                todo.extend(known.parents)
        return seen

    def ancestors(self, class_iri: str) -> list[str]:
        """The class and all its superclasses (just the class when it is unknown)."""
        known = self.classes.get(class_iri)
        return known.ancestors if known else [class_iri]

    def subclasses(self, class_iri: str, *, direct: bool = False) -> list[str]:
        if direct:
            return sorted(c.iri for c in self.classes.values() if class_iri in c.parents)
        return sorted(
            c.iri for c in self.classes.values() if class_iri in c.ancestors and c.iri != class_iri
        )

    def is_class(self, iri: str) -> bool:
        return iri in self.classes

    # -- properties ------------------------------------------------------------
    def _index_properties(self) -> None:
        g = self.graph
        kinds = {
            OWL.DatatypeProperty: "datatype",
            OWL.ObjectProperty: "object",
            OWL.AnnotationProperty: "annotation",
            RDF.Property: "datatype",
        }
        for rdf_type, kind in kinds.items():
            for node in g.subjects(RDF.type, rdf_type):
                if not isinstance(node, URIRef) or str(node) in self.properties:
                    continue
                ranges = _iris(g.objects(node, RDFS.range))
                # A plain rdf:Property ranging over a class links resources.
                is_link = rdf_type == RDF.Property and any(r in self.classes for r in ranges)
                unit = next(
                    (o for o in g.objects(node, QUDT.hasUnit) if isinstance(o, URIRef)), None
                )
                self.properties[str(node)] = OntologyProperty(
                    iri=str(node),
                    kind="object" if is_link else kind,
                    label=_text(g, node, RDFS.label),
                    comment=_text(g, node, RDFS.comment),
                    domain=_iris(g.objects(node, RDFS.domain)),
                    range=ranges,
                    unit=str(unit) if unit is not None else None,
                    super_properties=_iris(g.objects(node, RDFS.subPropertyOf)),
                )

    def datatype_of(self, property_iri: str) -> str | None:
        """The declared xsd range of a datatype property, if any."""
        prop = self.properties.get(property_iri)
        if prop is None or prop.kind != "datatype":
            return None
        xsd_ranges = [r for r in prop.range if r.startswith(str(XSD))]
        if xsd_ranges:
            return xsd_ranges[0]
        return str(RDF.langString) if str(RDF.langString) in prop.range else None

    def unit_of(self, property_iri: str) -> Unit | None:
        prop = self.properties.get(property_iri)
        if prop is None or prop.unit is None:
            return None
        return self.units.get(prop.unit, Unit(prop.unit, None, None))

    # -- units -----------------------------------------------------------------
    def _index_units(self) -> None:
        g = self.graph
        for node in set(g.subjects(RDF.type, QUDT.Unit)) | set(g.subjects(QUDT.symbol, None)):
            if isinstance(node, URIRef) and not isinstance(node, BNode):
                self.units[str(node)] = Unit(
                    iri=str(node),
                    symbol=_text(g, node, QUDT.symbol),
                    label=_text(g, node, RDFS.label),
                    multiplier=_number(g, node, QUDT.conversionMultiplier),
                    offset=_number(g, node, QUDT.conversionOffset) or 0.0,
                    quantity_kinds=tuple(sorted(_iris(g.objects(node, QUDT.hasQuantityKind)))),
                )
