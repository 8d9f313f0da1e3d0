"""basyx's JSON fields of one object, fast for the kinds a submodel is made of.

``AASToJsonEncoder.default`` rebuilds a class table and walks it with
``isinstance`` for every object, then checks a dozen abstract base classes; for
a 50-element submodel that was most of the request's CPU. ``fields`` produces
the same dict (children still as objects) with one dictionary lookup per
object, for submodels, the data elements, collections, lists and references;
every other kind goes to basyx unchanged. Names (modelType, key types) are
learned from basyx itself, and the API tests compare whole submodels of every
element kind with basyx's own serialization, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, cast

from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder

JsonObject = dict[str, Any]


class _DispatchingEncoder(AASToJsonEncoder):
    """basyx's encoder, choosing the method per class once instead of per object."""

    _methods: dict[type, Callable[[Any], object]] = {}

    def default(self, obj: object) -> object:
        method = self._methods.get(type(obj))
        if method is None:
            table = self._get_aas_class_serializers()
            found = next((m for kind, m in table.items() if isinstance(obj, kind)), None)
            if found is None:
                return super().default(obj)  # raises TypeError
            method = self._methods[type(obj)] = found
        return method(obj)


ENCODER = _DispatchingEncoder()

_key_type_names: dict[model.KeyTypes, str] = {}
_reference_type_names: dict[type, str] = {}
_model_type_names: dict[type, str] = {}


def _key_type(key_type: model.KeyTypes) -> str:
    name = _key_type_names.get(key_type)
    if name is None:
        learned = cast(JsonObject, ENCODER.default(model.Key(key_type, "x")))
        name = _key_type_names[key_type] = str(learned["type"])
    return name


def reference(ref: model.Reference) -> JsonObject:
    """A Reference as JSON (``{"type", "keys", "referredSemanticId"?}``)."""
    kind = _reference_type_names.get(type(ref))
    if kind is None:
        learned = cast(JsonObject, ENCODER.default(ref))
        kind = _reference_type_names[type(ref)] = str(learned["type"])
    data: JsonObject = {
        "type": kind,
        "keys": [{"type": _key_type(key.type), "value": key.value} for key in ref.key],
    }
    if ref.referred_semantic_id is not None:
        data["referredSemanticId"] = reference(ref.referred_semantic_id)
    return data


def _model_type(obj: model.Referable) -> str:
    name = _model_type_names.get(type(obj))
    if name is None:
        name = _model_type_names[type(obj)] = model.resolve_referable_class_in_key_types(
            obj
        ).__name__
    return name


def _common(obj: model.Submodel | model.SubmodelElement) -> JsonObject:
    """The attributes every submodel and element has, in basyx's order.

    Only called for the exact classes in ``_FAST``, so the parent check can use
    ``type(...) is`` (``isinstance`` is slow on basyx's abstract base classes).
    """
    data: JsonObject = {}
    if obj.extension:
        data["extensions"] = list(obj.extension)
    if obj.embedded_data_specifications:
        data["embeddedDataSpecifications"] = [
            {
                "dataSpecification": spec.data_specification,
                "dataSpecificationContent": spec.data_specification_content,
            }
            for spec in obj.embedded_data_specifications
        ]
    if obj.id_short and type(obj.parent) is not model.SubmodelElementList:
        data["idShort"] = obj.id_short
    if obj.display_name:
        data["displayName"] = obj.display_name
    if obj.category:
        data["category"] = obj.category
    if obj.description:
        data["description"] = obj.description
    data["modelType"] = _model_type(obj)
    if isinstance(obj, model.Submodel):
        data["id"] = obj.id
        if obj.administration:
            data["administration"] = obj.administration
    if obj.semantic_id:
        data["semanticId"] = obj.semantic_id
    if obj.supplemental_semantic_id:
        data["supplementalSemanticIds"] = list(obj.supplemental_semantic_id)
    if isinstance(obj, model.Submodel) and obj.kind is model.ModellingKind.TEMPLATE:
        data["kind"] = "Template"
    if obj.qualifier:
        data["qualifiers"] = list(obj.qualifier)
    return data


def _submodel(obj: model.Submodel) -> JsonObject:
    data = _common(obj)
    if len(obj.submodel_element):
        data["submodelElements"] = list(obj.submodel_element)
    return data


def _property(obj: model.Property) -> JsonObject:
    data = _common(obj)
    if obj.value is not None:
        data["value"] = model.datatypes.xsd_repr(obj.value)
    if obj.value_id:
        data["valueId"] = obj.value_id
    data["valueType"] = model.datatypes.XSD_TYPE_NAMES[obj.value_type]
    return data


def _multi_language_property(obj: model.MultiLanguageProperty) -> JsonObject:
    data = _common(obj)
    if obj.value:
        data["value"] = obj.value
    if obj.value_id:
        data["valueId"] = obj.value_id
    return data


def _range(obj: model.Range) -> JsonObject:
    data = _common(obj)
    data["valueType"] = model.datatypes.XSD_TYPE_NAMES[obj.value_type]
    if obj.min is not None:
        data["min"] = model.datatypes.xsd_repr(obj.min)
    if obj.max is not None:
        data["max"] = model.datatypes.xsd_repr(obj.max)
    return data


def _blob(obj: model.Blob) -> JsonObject:
    data = _common(obj)
    data["contentType"] = obj.content_type
    if obj.value is not None:
        data["value"] = base64.b64encode(obj.value).decode()
    return data


def _file(obj: model.File) -> JsonObject:
    data = _common(obj)
    data["contentType"] = obj.content_type
    if obj.value is not None:
        data["value"] = obj.value
    return data


def _reference_element(obj: model.ReferenceElement) -> JsonObject:
    data = _common(obj)
    if obj.value:
        data["value"] = obj.value
    return data


def _collection(obj: model.SubmodelElementCollection) -> JsonObject:
    data = _common(obj)
    if len(obj.value):
        data["value"] = list(obj.value)
    return data


def _list(obj: model.SubmodelElementList[model.SubmodelElement]) -> JsonObject:
    data = _common(obj)
    data["orderRelevant"] = obj.order_relevant
    data["typeValueListElement"] = _key_type(model.KEY_TYPES_CLASSES[obj.type_value_list_element])
    if obj.semantic_id_list_element is not None:
        data["semanticIdListElement"] = obj.semantic_id_list_element
    if obj.value_type_list_element is not None:
        data["valueTypeListElement"] = model.datatypes.XSD_TYPE_NAMES[obj.value_type_list_element]
    if len(obj.value):
        data["value"] = list(obj.value)
    return data


_FAST: dict[type, Callable[[Any], JsonObject]] = {
    model.Submodel: _submodel,
    model.Property: _property,
    model.MultiLanguageProperty: _multi_language_property,
    model.Range: _range,
    model.Blob: _blob,
    model.File: _file,
    model.ReferenceElement: _reference_element,
    model.SubmodelElementCollection: _collection,
    model.SubmodelElementList: _list,
    model.ExternalReference: reference,
    model.ModelReference: reference,
}


def fields(obj: object) -> JsonObject:
    """basyx's dict for one object (exact classes only take the fast path; a
    subclass may add attributes, so it goes to basyx)."""
    fast = _FAST.get(type(obj))
    if fast is not None:
        return fast(obj)
    return cast(JsonObject, ENCODER.default(obj))
