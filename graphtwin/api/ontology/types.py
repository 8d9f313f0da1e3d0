"""GraphQL types of the ontology: classes with their hierarchy, properties with units."""

from __future__ import annotations

import strawberry

from graphtwin.api.context import TwinInfo
from graphtwin.semantics.ontology import OntologyIndex


@strawberry.type(description="A class of the loaded ontologies.")
class OntologyClass:
    iri: str
    label: str | None
    comment: str | None
    isa95_level: str | None
    super_class_iris: list[str]

    @strawberry.field(description="Direct superclasses.")
    def super_classes(self, info: TwinInfo) -> list[OntologyClass]:
        ontology = info.context.services.ontology
        return [class_view(ontology, p) for p in self.super_class_iris]

    @strawberry.field(description="All superclasses, transitively (not the class itself).")
    def ancestors(self, info: TwinInfo) -> list[OntologyClass]:
        ontology = info.context.services.ontology
        return [class_view(ontology, a) for a in ontology.ancestors(self.iri) if a != self.iri]

    @strawberry.field(description="Subclasses (direct, or all with direct: false).")
    def sub_classes(self, info: TwinInfo, direct: bool = True) -> list[OntologyClass]:
        ontology = info.context.services.ontology
        return [class_view(ontology, c) for c in ontology.subclasses(self.iri, direct=direct)]

    @strawberry.field(description="Properties whose rdfs:domain is this class or a superclass.")
    def properties(self, info: TwinInfo) -> list[OntologyProperty]:
        ontology = info.context.services.ontology
        ancestors = set(ontology.ancestors(self.iri))
        return [
            property_view(ontology, p.iri)
            for p in sorted(ontology.properties.values(), key=lambda p: p.iri)
            if ancestors & set(p.domain)
        ]


@strawberry.type(description="A property of the loaded ontologies.")
class OntologyProperty:
    iri: str
    kind: str = strawberry.field(description="datatype, object or annotation")
    label: str | None
    comment: str | None
    domain: list[str]
    range: list[str]
    unit_iri: str | None
    unit_symbol: str | None
    super_properties: list[str]


def class_view(ontology: OntologyIndex, iri: str) -> OntologyClass:
    known = ontology.classes.get(iri)
    if known is None:
        return OntologyClass(
            iri=iri, label=None, comment=None, isa95_level=None, super_class_iris=[]
        )
    return OntologyClass(
        iri=known.iri,
        label=known.label,
        comment=known.comment,
        isa95_level=known.isa95_level,
        super_class_iris=list(known.parents),
    )


def property_view(ontology: OntologyIndex, iri: str) -> OntologyProperty:
    prop = ontology.properties[iri]
    unit = ontology.unit_of(iri)
    return OntologyProperty(
        iri=prop.iri,
        kind=prop.kind,
        label=prop.label,
        comment=prop.comment,
        domain=list(prop.domain),
        range=list(prop.range),
        unit_iri=unit.iri if unit else None,
        unit_symbol=unit.symbol if unit else None,
        super_properties=list(prop.super_properties),
    )
