"""Submodel Properties whose value is a property of the described asset.

A Property element whose semanticId or a supplementalSemanticId is a datatype
property of the ontologies (``https://w3id.org/graphtwin/core#temperature``) shows
that property of the asset its shell describes: the live value when a binding
feeds it, else the value stored in the graph. Binding the asset's property to an
OPC UA node, MQTT topic or Sparkplug metric therefore binds the Property too,
like any other property of the twin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from basyx.aas import model

from graphtwin.aas.environment import element_path
from graphtwin.aas.references import walk_elements
from graphtwin.values import PropertyKey, Sample

_INTEGER_TYPES = (
    model.datatypes.Integer,
    model.datatypes.Int,
    model.datatypes.Long,
    model.datatypes.Short,
    model.datatypes.Byte,
    model.datatypes.NonNegativeInteger,
    model.datatypes.PositiveInteger,
    model.datatypes.NonPositiveInteger,
    model.datatypes.NegativeInteger,
    model.datatypes.UnsignedLong,
    model.datatypes.UnsignedInt,
    model.datatypes.UnsignedShort,
    model.datatypes.UnsignedByte,
)


class LiveValues(Protocol):
    """The latest value per bound property (``LiveRuntime`` is one)."""

    def value(self, key: PropertyKey) -> Sample | None: ...


@dataclass
class BoundElement:
    path: str
    element: model.Property
    property: str
    # The value in the stored document, shown when the asset has none.
    original: Any


def bound_elements(
    submodel: model.Submodel, is_property: Callable[[str], bool]
) -> list[BoundElement]:
    """Property elements whose (supplemental) semanticId names an ontology property."""
    found: list[BoundElement] = []
    for element in walk_elements(submodel):
        if not isinstance(element, model.Property):
            continue
        refs = [element.semantic_id, *element.supplemental_semantic_id]
        names = [key.value for ref in refs if ref is not None for key in ref.key]
        prop = next((n for n in names if is_property(n)), None)
        if prop is not None:
            found.append(BoundElement(element_path(element), element, prop, element.value))
    return found


def aas_value(value: object, value_type: type) -> Any:
    """``value`` (a graph literal or a live scalar) as a value of ``value_type``,
    or None when it does not fit."""
    if value is None:
        return None
    if isinstance(value, bool):
        lexical = "true" if value else "false"
    elif isinstance(value, float) and issubclass(value_type, _INTEGER_TYPES):
        if not value.is_integer():
            return None
        lexical = str(int(value))
    elif isinstance(value, float):
        lexical = repr(value)
    else:  # a literal's lexical form, an integer, text
        lexical = str(value)
    try:
        return model.datatypes.from_xsd(lexical, value_type)
    except (ValueError, TypeError, ArithmeticError):
        return None
