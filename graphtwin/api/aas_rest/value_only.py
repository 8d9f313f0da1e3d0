"""The ValueOnly serialization (``$value``, Part 2 §11.4.3), which basyx lacks.

A submodel is an object keyed by idShort; a collection likewise; a list is an
array; a Property is its value as the JSON type of its ``valueType``; File and
Blob are ``{contentType, value}``; references use the normal Reference form.
Operations and Capabilities carry no value and are left out.

A single element comes back named, ``{"idShort": value}``, as in the v3.0 text
(the IDTA test engine also refuses a bare JSON scalar); list members, which have
no idShort, come back bare.
"""

from __future__ import annotations

import base64
from typing import Any

from basyx.aas import model

from graphtwin.api.aas_rest import paths
from graphtwin.api.aas_rest.model_json import Rendering, plain, property_value
from graphtwin.api.aas_rest.values import json_value
from graphtwin.errors import BadInput

_ENTITY_TYPES = {
    model.EntityType.CO_MANAGED_ENTITY: "CoManagedEntity",
    model.EntityType.SELF_MANAGED_ENTITY: "SelfManagedEntity",
}


class _Omitted:
    """Marks an element that has no ValueOnly form (Operation, Capability)."""


OMITTED = _Omitted()


def _named(
    parent: model.Referable, submodel_id: str, path: str, rendering: Rendering, depth: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token, child in paths.children(parent):
        value = element_value(child, submodel_id, paths.join(path, token), rendering, depth)
        if value is not OMITTED:
            out[str(token)] = value
    return out


def element_value(
    element: model.SubmodelElement,
    submodel_id: str,
    path: str,
    rendering: Rendering,
    depth: int = 0,
) -> Any:
    """The ValueOnly form of one element (unnamed), or ``OMITTED``.

    ``depth`` counts from the requested resource; with ``level=core`` containers
    below depth 0 come back empty.
    """
    open_ = rendering.modifiers.deep or depth == 0
    if isinstance(element, model.Property):
        return json_value(property_value(element, submodel_id, path, rendering.live))
    if isinstance(element, model.MultiLanguageProperty):
        return [{language: text} for language, text in (element.value or {}).items()]
    if isinstance(element, model.Range):
        bounds = {"min": element.min, "max": element.max}
        return {key: json_value(value) for key, value in bounds.items() if value is not None}
    if isinstance(element, model.File):
        file: dict[str, Any] = {"contentType": element.content_type}
        if element.value is not None:
            file["value"] = element.value
        return file
    if isinstance(element, model.Blob):
        blob: dict[str, Any] = {"contentType": element.content_type}
        if element.value is not None and rendering.modifiers.with_blobs:
            blob["value"] = base64.b64encode(element.value).decode()
        return blob
    if isinstance(element, model.ReferenceElement):
        return plain(element.value)
    if isinstance(element, model.RelationshipElement):
        relationship: dict[str, Any] = {
            "first": plain(element.first),
            "second": plain(element.second),
        }
        if isinstance(element, model.AnnotatedRelationshipElement) and open_:
            annotations = _named(element, submodel_id, path, rendering, depth + 1)
            if annotations:
                relationship["annotations"] = [{k: v} for k, v in annotations.items()]
        return relationship
    if isinstance(element, model.SubmodelElementCollection):
        return _named(element, submodel_id, path, rendering, depth + 1) if open_ else {}
    if isinstance(element, model.SubmodelElementList):
        if not open_:
            return []
        items = (
            element_value(child, submodel_id, paths.join(path, index), rendering, depth + 1)
            for index, child in enumerate(element.value)
        )
        return [item for item in items if item is not OMITTED]
    if isinstance(element, model.Entity):
        entity: dict[str, Any] = {
            "statements": _named(element, submodel_id, path, rendering, depth + 1) if open_ else {},
            "entityType": _ENTITY_TYPES[element.entity_type],
        }
        if element.global_asset_id is not None:
            entity["globalAssetId"] = element.global_asset_id
        if element.specific_asset_id:
            entity["specificAssetIds"] = [{i.name: i.value} for i in element.specific_asset_id]
        return entity
    if isinstance(element, model.BasicEventElement):
        return {"observed": plain(element.observed)}
    return OMITTED


def submodel_value(submodel: model.Submodel, rendering: Rendering) -> dict[str, Any]:
    """A submodel's ValueOnly form: its elements keyed by idShort."""
    return _named(submodel, submodel.id, "", rendering, 1)


def named_value(
    element: model.SubmodelElement, submodel_id: str, path: str, rendering: Rendering
) -> Any:
    """``…/submodel-elements/{path}/$value``: ``{"idShort": value}`` (bare for list members).

    :raises BadInput: the element has no ValueOnly form (Operation, Capability).
    """
    value = element_value(element, submodel_id, path, rendering)
    if value is OMITTED:
        kind = type(element).__name__
        raise BadInput(f"{kind} {path!r} has no value-only serialization")
    if isinstance(element.parent, model.SubmodelElementList) or not element.id_short:
        return value
    return {element.id_short: value}
