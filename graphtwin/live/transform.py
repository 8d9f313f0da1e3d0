"""From a raw source value to the value a property holds.

Order: the raw value is coerced to a number when the property is numeric, then
``raw * scale + offset``, then converted from the binding's source unit to the
property's unit with QUDT factors (SI = (v + offset) * multiplier), then coerced
to the property's declared datatype. A value that cannot become that datatype is
refused (the caller counts it as malformed); it never reaches the cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from functools import partial

from rdflib import XSD

from graphtwin.live.bindings import Transform
from graphtwin.semantics.mapping import FLOAT_TYPES, INTEGER_TYPES
from graphtwin.values import Scalar

# The xsd types the graph stores as integers and as floats (see the mapping).
_INTEGERS = INTEGER_TYPES
_FLOATS = FLOAT_TYPES
_BOOLEAN = str(XSD.boolean)
_DATETIME = str(XSD.dateTime)
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


class ValueRefused(ValueError):
    """The raw value cannot become the property's value; the message says why."""


def is_numeric(datatype: str | None) -> bool:
    return datatype in _INTEGERS or datatype in _FLOATS


def _number(raw: object) -> float | int:
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, (int, float)):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw) if raw.strip().lstrip("+-").isdigit() else float(raw)
        except ValueError:
            raise ValueRefused(f"not a number: {raw[:40]!r}") from None
    raise ValueRefused(f"not a number: {type(raw).__name__}")


def convert_unit(value: float, transform: Transform) -> float:
    source, target = transform.source_unit, transform.target_unit
    if source is None or target is None or source == target:
        return value
    assert source.multiplier is not None and target.multiplier is not None
    si = (value + source.offset) * source.multiplier
    return si / target.multiplier - target.offset


def to_source_value(value: Scalar, transform: Transform) -> Scalar:
    """The raw value a source must hold for the property to read ``value`` (writes)."""
    if transform.is_identity or isinstance(value, (bool, str)):
        return value
    source, target = transform.source_unit, transform.target_unit
    number = float(value)
    if source is not None and target is not None and source != target:
        assert source.multiplier is not None and target.multiplier is not None
        number = (number + target.offset) * target.multiplier / source.multiplier - source.offset
    if transform.scale == 0:
        raise ValueRefused("the binding's scale is 0: the source value cannot be derived")
    return (number - transform.offset) / transform.scale


def _numeric_value(raw: object, datatype: str | None, transform: Transform) -> Scalar:
    number: float | int = _number(raw)
    if not transform.is_identity:
        number = convert_unit(number * transform.scale + transform.offset, transform)
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueRefused(f"not a finite number: {number}")
    if datatype in _INTEGERS:
        if isinstance(number, float):
            if not number.is_integer():
                raise ValueRefused(f"{number} is not an integer")
            number = int(number)
        return number
    return float(number)


def to_property_value(raw: object, datatype: str | None, transform: Transform) -> Scalar:
    """The property value for one raw source value.

    :raises ValueRefused: the value has the wrong type for the property, or is not finite.
    """
    if raw is None:
        raise ValueRefused("no value")
    if is_numeric(datatype) or (datatype is None and not transform.is_identity):
        try:
            return _numeric_value(raw, datatype, transform)
        except OverflowError:  # an integer beyond any double, met by float arithmetic
            raise ValueRefused(f"integer too large for a {datatype or 'number'}") from None
    if datatype == _BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueRefused(f"not a boolean: {text[:40]!r}")
    if datatype == _DATETIME:
        if isinstance(raw, datetime):
            return raw.isoformat()
        return str(raw)
    if isinstance(raw, (dict, list, bytes)):
        raise ValueRefused(f"not a scalar: {type(raw).__name__}")
    if isinstance(raw, (bool, int, float)) and datatype is None:
        return raw
    return str(raw)


Converter = Callable[[object], Scalar]


def converter(datatype: str | None, transform: Transform) -> Converter:
    """``to_property_value`` for one binding's datatype and transform.

    The common case, a JSON number for a numeric property with no scale, offset or
    unit change, is answered after one type test; everything else (and every value
    the fast path is unsure of) goes through ``to_property_value``, so both give the
    same answer and the same refusals.
    """
    general: Converter = partial(to_property_value, datatype=datatype, transform=transform)
    if not transform.is_identity:
        return general
    if datatype in _FLOATS:

        def to_float(raw: object) -> Scalar:
            if type(raw) is float and raw - raw == 0.0:  # finite (inf - inf and NaN are NaN)
                return raw
            return general(raw)

        return to_float
    if datatype in _INTEGERS:

        def to_integer(raw: object) -> Scalar:
            if type(raw) is int:
                return raw
            return general(raw)

        return to_integer
    return general


def outside_deadband(value: Scalar, previous: Scalar | None, transform: Transform) -> bool:
    """Whether a new value differs enough from the last accepted one to be taken."""
    band = transform.deadband
    if band is None or previous is None:
        return True
    if isinstance(value, bool) or isinstance(previous, bool):
        return value != previous
    if isinstance(value, (int, float)) and isinstance(previous, (int, float)):
        return abs(value - previous) > band
    return value != previous
