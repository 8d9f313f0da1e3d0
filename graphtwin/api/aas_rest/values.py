"""Property values as the two JSON forms need them.

The normal serialization carries a value as its XSD lexical string
(``"value": "21.5"``); the ValueOnly form as the JSON type its ``valueType``
maps to (Part 2 §11.4.3: numbers, booleans, and strings for everything else).
A live value arrives as a plain scalar and is first cast to the Property's type.
"""

from __future__ import annotations

import decimal
import logging
import math
from typing import Any

from basyx.aas import model

from graphtwin.values import Scalar

log = logging.getLogger(__name__)


def _scalar_lexical(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return repr(value)
    return str(value)


def cast_live(prop: model.Property, value: Scalar) -> Any:
    """``value`` as an instance of the Property's value type, or None if it does not fit."""
    if isinstance(value, float) and value.is_integer() and issubclass(prop.value_type, int):
        value = int(value)  # an integral reading for an integer property
    try:
        return model.datatypes.from_xsd(_scalar_lexical(value), prop.value_type)
    except (ValueError, TypeError):
        log.debug("live value %r does not fit %s of %s", value, prop.value_type, prop.id_short)
        return None


def lexical(value: Any) -> str:
    """The XSD lexical form, as the normal JSON serialization writes values."""
    return str(model.datatypes.xsd_repr(value))


def json_value(value: Any) -> Any:
    """A typed value in the ValueOnly form: JSON number or boolean where the type is one."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float | decimal.Decimal):
        # JSON has no INF or NaN: those stay lexical strings.
        return float(value) if math.isfinite(value) else lexical(value)
    if isinstance(value, str):
        return value
    return lexical(value)
