"""Ontology queries: classes, their hierarchy and properties."""

from __future__ import annotations

import strawberry

from graphtwin.api.context import TwinInfo
from graphtwin.api.ontology.types import OntologyClass, OntologyProperty, class_view, property_view


@strawberry.type
class OntologyQuery:
    @strawberry.field(description="Classes of the loaded ontologies (roots only with rootsOnly).")
    def ontology_classes(self, info: TwinInfo, roots_only: bool = False) -> list[OntologyClass]:
        ontology = info.context.services.ontology
        classes = sorted(ontology.classes.values(), key=lambda c: c.iri)
        if roots_only:
            classes = [c for c in classes if not any(p in ontology.classes for p in c.parents)]
        return [class_view(ontology, c.iri) for c in classes]

    @strawberry.field(description="One class by IRI or prefixed name.")
    def ontology_class(self, info: TwinInfo, iri: str) -> OntologyClass | None:
        ontology = info.context.services.ontology
        full = info.context.services.twins.queries.expand(iri, what="class")
        return class_view(ontology, full) if ontology.is_class(full) else None

    @strawberry.field(description="Properties of the loaded ontologies.")
    def ontology_properties(
        self, info: TwinInfo, kind: str | None = None
    ) -> list[OntologyProperty]:
        ontology = info.context.services.ontology
        return [
            property_view(ontology, iri)
            for iri in sorted(ontology.properties)
            if kind is None or ontology.properties[iri].kind == kind
        ]
