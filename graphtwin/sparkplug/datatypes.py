"""Sparkplug B datatypes and how their values sit in the protobuf ``oneof value``.

Sparkplug carries every integer in an unsigned field (``int_value`` is uint32,
``long_value`` is uint64), so a signed metric is sent as two's complement and
must be read back *per datatype*: 255 is 255 for a UInt8 but -1 for an Int8.
DATA messages usually omit the datatype, so the session re-applies the datatype
learned from the birth certificate with ``coerce``.

Implementations differ in which field and width they use (Eclipse Tahu Java
puts UInt32 in ``long_value`` and sign-extends Int8 to 32 bits; the spec and the
Python client put the two's complement of the type's own width in
``int_value``), so decoding accepts either integer field and masks to the
type's width before interpreting the sign bit.
"""

from __future__ import annotations

import math
from enum import IntEnum

from graphtwin.errors import BadInput

# A decoded scalar; None stands for "no value" (null or unsupported).
Scalar = float | int | bool | str | bytes | None


class DataType(IntEnum):
    """Mirror of the proto's ``DataType`` enum (the values are the wire values)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


SIGNED_BITS = {DataType.Int8: 8, DataType.Int16: 16, DataType.Int32: 32, DataType.Int64: 64}
UNSIGNED_BITS = {DataType.UInt8: 8, DataType.UInt16: 16, DataType.UInt32: 32, DataType.UInt64: 64}
_FLOATS = frozenset({DataType.Float, DataType.Double})
_STRINGS = frozenset({DataType.String, DataType.Text, DataType.UUID})
_BYTES = frozenset({DataType.Bytes, DataType.File})
# Integer datatypes sent in the uint64 ``long_value``; the rest use ``int_value``.
_LONG_TYPES = frozenset({DataType.Int64, DataType.UInt64, DataType.DateTime})

# Scalar datatypes this package decodes; everything else (DataSet, Template,
# PropertySet*, the packed array types) is reported as unsupported.
SUPPORTED = frozenset(
    {
        *SIGNED_BITS,
        *UNSIGNED_BITS,
        *_FLOATS,
        *_STRINGS,
        *_BYTES,
        DataType.Boolean,
        DataType.DateTime,
    }
)


def is_supported(datatype: int | None) -> bool:
    """True for datatypes with a scalar value this package understands (or no datatype)."""
    return datatype is None or datatype == DataType.Unknown or datatype in SUPPORTED


def datatype_name(datatype: int) -> str:
    try:
        return DataType(datatype).name
    except ValueError:
        return f"datatype {datatype}"


def _to_signed(raw: int, bits: int) -> int:
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def coerce(raw: Scalar, datatype: int | None) -> Scalar:
    """Interpret a raw ``oneof`` value as ``datatype``; ``BadInput`` if it cannot be one.

    ``None`` passes through (a null stays null). Without a datatype, or with one
    this package does not decode, the raw value is returned unchanged.
    """
    if raw is None or datatype is None or datatype not in SUPPORTED:
        return raw
    kind = DataType(datatype)
    if kind in SIGNED_BITS or kind in UNSIGNED_BITS or kind is DataType.DateTime:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise BadInput(f"{kind.name} metric carries a {type(raw).__name__} value")
        bits = SIGNED_BITS.get(kind)
        return _to_signed(raw, bits) if bits else raw
    if kind in _FLOATS:
        if isinstance(raw, bool) or not isinstance(raw, float | int):
            raise BadInput(f"{kind.name} metric carries a {type(raw).__name__} value")
        return float(raw)
    if kind is DataType.Boolean:
        matches = isinstance(raw, bool)
    elif kind in _STRINGS:
        matches = isinstance(raw, str)
    else:  # Bytes, File
        matches = isinstance(raw, bytes)
    if not matches:
        raise BadInput(f"{kind.name} metric carries a {type(raw).__name__} value")
    return raw


def to_wire(datatype: DataType, value: float | int | bool | str | bytes) -> tuple[str, Scalar]:
    """The ``oneof`` field name and wire value for ``value`` sent as ``datatype``.

    Raises ``ValueError``: encoding is for our own publishers, so a value that
    does not fit its datatype is a programming error, not bad input.
    """
    if datatype in SIGNED_BITS or datatype in UNSIGNED_BITS or datatype is DataType.DateTime:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{datatype.name} needs an int, got {value!r}")
        field = "long_value" if datatype in _LONG_TYPES else "int_value"
        signed_bits = SIGNED_BITS.get(datatype)
        if signed_bits is not None:
            low, high = -(1 << (signed_bits - 1)), (1 << (signed_bits - 1)) - 1
            if not low <= value <= high:
                raise ValueError(f"{value} does not fit {datatype.name}")
            # Two's complement in the type's own width, as the spec describes.
            return field, value & ((1 << signed_bits) - 1)
        bits = UNSIGNED_BITS.get(datatype, 64)
        if not 0 <= value < (1 << bits):
            raise ValueError(f"{value} does not fit {datatype.name}")
        return field, value
    if datatype in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, float | int):
            raise ValueError(f"{datatype.name} needs a float, got {value!r}")
        if datatype is DataType.Float and math.isfinite(value) and abs(value) > 3.4028235e38:
            raise ValueError(f"{value} does not fit a 32-bit Float")
        return ("float_value" if datatype is DataType.Float else "double_value"), float(value)
    if datatype is DataType.Boolean and isinstance(value, bool):
        return "boolean_value", value
    if datatype in _STRINGS and isinstance(value, str):
        return "string_value", value
    if datatype in _BYTES and isinstance(value, bytes):
        return "bytes_value", value
    if datatype not in SUPPORTED:
        raise ValueError(f"encoding {datatype.name} metrics is not supported")
    raise ValueError(f"{datatype.name} cannot carry {value!r}")
