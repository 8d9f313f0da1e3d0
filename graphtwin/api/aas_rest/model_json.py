"""The normal and the ``$metadata`` JSON serialization of AAS objects.

basyx's encoder turns one object into a dict whose children are still objects;
walking those ourselves (instead of ``json.dumps(cls=AASToJsonEncoder)``) is what
lets the API apply ``level=core`` (no grandchildren), ``extent`` (Blob values),
live Property values and ``$metadata`` (Part 2 §11.4.2) on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model

from graphtwin.api.aas_rest import paths
from graphtwin.api.aas_rest.fields import JsonObject, fields
from graphtwin.api.aas_rest.live import LiveOverlay
from graphtwin.api.aas_rest.params import Modifiers
from graphtwin.api.aas_rest.values import cast_live, lexical

# The JSON key holding each container's child elements.
_CHILDREN_KEYS: tuple[tuple[type[model.Referable], str], ...] = (
    (model.Submodel, "submodelElements"),
    (model.SubmodelElementCollection, "value"),
    (model.SubmodelElementList, "value"),
    (model.Entity, "statements"),
    (model.AnnotatedRelationshipElement, "annotations"),
)

# What ``$metadata`` leaves out: values and children. Attributes the metamodel
# makes mandatory (RelationshipElement first/second, BasicEventElement observed,
# Entity entityType) stay, or the result would not parse as the element it is.
_VALUE_KEYS: tuple[tuple[type[model.Referable], frozenset[str]], ...] = (
    (model.Submodel, frozenset({"submodelElements"})),
    (model.Property, frozenset({"value", "valueId"})),
    (model.MultiLanguageProperty, frozenset({"value", "valueId"})),
    (model.Range, frozenset({"min", "max"})),
    (model.File, frozenset({"value"})),
    (model.Blob, frozenset({"value"})),
    (model.ReferenceElement, frozenset({"value"})),
    (model.SubmodelElementCollection, frozenset({"value"})),
    (model.SubmodelElementList, frozenset({"value"})),
    (model.Entity, frozenset({"statements"})),
    (model.AnnotatedRelationshipElement, frozenset({"annotations"})),
    (model.Operation, frozenset({"inputVariables", "outputVariables", "inoutputVariables"})),
)


@dataclass(frozen=True)
class Rendering:
    """How to serialize submodels and their elements for one request."""

    modifiers: Modifiers = field(default_factory=Modifiers)
    live: LiveOverlay | None = None


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(obj: Any) -> Any:
    """Any basyx object (or container of them) as plain JSON data."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    if kind is dict:
        return {key: plain(value) for key, value in obj.items()}
    if kind is list or kind is tuple:
        return [plain(value) for value in obj]
    if isinstance(obj, str | int | float | bool):  # subclasses, e.g. basyx's xsd types
        return obj
    return plain(fields(obj))


_children_key_by_class: dict[type, str | None] = {}


def _children_key(obj: model.Referable) -> str | None:
    kind = type(obj)
    if kind not in _children_key_by_class:
        _children_key_by_class[kind] = next(
            (key for base, key in _CHILDREN_KEYS if isinstance(obj, base)), None
        )
    return _children_key_by_class[kind]


def property_value(
    prop: model.Property, submodel_id: str, path: str, live: LiveOverlay | None
) -> Any:
    """The stored value, or the live one when the Property is bound and has one."""
    if live is not None:
        current = live.value(submodel_id, path)
        if current is not None:
            cast = cast_live(prop, current)
            if cast is not None:
                return cast
    return prop.value


def element_json(
    element: model.Referable,
    submodel_id: str,
    path: str,
    rendering: Rendering,
    depth: int = 0,
) -> JsonObject:
    """A submodel or submodel element (at ``path``; "" for the submodel).

    ``depth`` counts from the requested resource: with ``level=core`` only depth 0
    lists its children.
    """
    data = fields(element)
    children_key = _children_key(element)
    # A Property's value may be live, a Blob's may be left out: both are set below.
    own_value = isinstance(element, model.Property | model.Blob)
    out: JsonObject = {}
    for key, value in data.items():
        if key == children_key:
            if rendering.modifiers.deep or depth == 0:
                out[key] = [
                    element_json(child, submodel_id, paths.join(path, token), rendering, depth + 1)
                    for token, child in paths.children(element)
                ]
        elif not (own_value and key == "value"):
            out[key] = plain(value)
    if isinstance(element, model.Property):
        value = property_value(element, submodel_id, path, rendering.live)
        if value is not None:
            out["value"] = lexical(value)
    elif own_value and rendering.modifiers.with_blobs and "value" in data:
        out["value"] = data["value"]
    return out


def metadata_json(element: model.Referable) -> JsonObject:
    """``$metadata``: the object without its values and children."""
    drop: frozenset[str] = frozenset()
    for kind, keys in _VALUE_KEYS:
        if isinstance(element, kind):
            drop = keys
            break
    data = fields(element)
    return {key: plain(value) for key, value in data.items() if key not in drop}


def reference_json(referable: model.Referable) -> JsonObject:
    """``$reference``: the ModelReference to an identifiable or a submodel element."""
    result: JsonObject = plain(model.ModelReference.from_referable(referable))
    return result


def shell_json(shell: model.AssetAdministrationShell) -> JsonObject:
    """A shell, its submodel references in a stable order (basyx keeps them in a set)."""
    data: JsonObject = plain(shell)
    if "submodels" in data:
        data["submodels"] = sorted_references(data["submodels"])
    return data


def sorted_references(references: list[JsonObject]) -> list[JsonObject]:
    return sorted(references, key=lambda ref: [key["value"] for key in ref.get("keys", ())])
