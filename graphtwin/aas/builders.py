"""Small constructors for the AAS elements graphtwin generates."""

from __future__ import annotations

import re
from typing import Any

from basyx.aas import model

_NOT_ID_SHORT = re.compile(r"[^A-Za-z0-9_]+")


def global_ref(value: str) -> model.ExternalReference:
    """An ExternalReference with one GlobalReference key (an IRI or IRDI)."""
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def text(id_short: str, semantic_id: str, values: dict[str, str]) -> model.MultiLanguageProperty:
    return model.MultiLanguageProperty(
        id_short, model.MultiLanguageTextType(values), semantic_id=global_ref(semantic_id)
    )


def prop(
    id_short: str,
    semantic_id: str,
    value: Any,
    value_type: type = model.datatypes.String,
    *,
    graph_property: str | None = None,
) -> model.Property:
    """A Property; ``graph_property`` (an ontology property IRI) goes in as a
    supplementalSemanticId, which keeps the value fed by the described asset
    (graphtwin.aas.overlay) after the element is imported back."""
    return model.Property(
        id_short,
        value_type,
        value,
        semantic_id=global_ref(semantic_id),
        supplemental_semantic_id=[global_ref(graph_property)] if graph_property else (),
    )


def collection(
    id_short: str, semantic_id: str, elements: list[model.SubmodelElement]
) -> model.SubmodelElementCollection:
    return model.SubmodelElementCollection(
        id_short, value=elements, semantic_id=global_ref(semantic_id)
    )


def id_short_for(name: str, fallback: str = "Asset") -> str:
    """A valid idShort (a letter, then letters, digits, _) made from a label."""
    cleaned = _NOT_ID_SHORT.sub("_", name.strip()).strip("_")
    if not cleaned:
        return fallback
    return cleaned if cleaned[0].isalpha() else f"{fallback}_{cleaned}"
