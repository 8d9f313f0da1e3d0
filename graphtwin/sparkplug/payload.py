"""The Sparkplug B payload codec: protobuf bytes <-> plain dataclasses.

Decoding is the trust boundary for everything an edge node publishes, so it
turns every failure (truncated bytes, oversized payloads, a value that contradicts
its datatype, invalid UTF-8) into ``BadInput`` with a readable message; callers
never see protobuf's own exceptions.

What is decoded: the scalar datatypes (Int8..UInt64, Float, Double, Boolean,
String, Text, UUID, DateTime as epoch milliseconds, Bytes, File). DataSet,
Template, PropertySet and the array types are *not* decoded: such a metric comes
back with ``value=None`` and ``supported=False`` so that its name and alias are
still known (a later DATA message for it is not an "unknown alias").

Encoding is for the demo publisher and tests: ``encode_nbirth`` & co. build
spec-shaped payloads from ``MetricSpec`` values.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from graphtwin.errors import BadInput, PayloadTooLarge
from graphtwin.sparkplug import sparkplug_b_pb2 as pb
from graphtwin.sparkplug.datatypes import DataType, Scalar, coerce, is_supported, to_wire

DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024

# Metric names the spec reserves for session control.
BD_SEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"

# oneof fields holding a scalar; the others (dataset, template, extension) are unsupported.
_SCALAR_FIELDS = frozenset(
    {
        "int_value",
        "long_value",
        "float_value",
        "double_value",
        "boolean_value",
        "string_value",
        "bytes_value",
    }
)


@dataclass(frozen=True)
class MetricValue:
    """One decoded metric.

    ``name`` is usually only present in births; DATA messages may identify the
    metric by ``alias`` alone. ``datatype`` is usually only present in births
    too, in which case integer values are still raw (unsigned) and the session
    re-applies the birth datatype. ``is_null`` is true for an explicit null and
    for a metric that carries no value at all.
    """

    name: str | None
    alias: int | None
    timestamp_ms: int | None
    datatype: int | None
    value: Scalar
    is_null: bool
    supported: bool = True
    is_historical: bool = False
    is_transient: bool = False


@dataclass(frozen=True)
class DecodedPayload:
    timestamp_ms: int | None
    seq: int | None
    metrics: list[MetricValue] = field(default_factory=list)

    def metric(self, name: str) -> MetricValue | None:
        """The first metric called ``name`` (births and deaths name every metric)."""
        return next((m for m in self.metrics if m.name == name), None)


def _text(value: object, what: str) -> str:
    # upb hands back bytes for a proto2 string that is not valid UTF-8.
    if not isinstance(value, str):
        raise BadInput(f"Sparkplug payload: {what} is not valid UTF-8")
    return value


def _decode_metric(index: int, metric: pb.Payload.Metric) -> MetricValue:
    name = _text(metric.name, f"name of metric #{index}") if metric.HasField("name") else None
    label = repr(name) if name is not None else f"#{index}"
    datatype = metric.datatype if metric.HasField("datatype") else None
    which = metric.WhichOneof("value")
    supported = is_supported(datatype) and (which is None or which in _SCALAR_FIELDS)
    value: Scalar = None
    if supported and which is not None and not metric.is_null:
        raw = getattr(metric, which)
        if which == "string_value":
            raw = _text(raw, f"string value of metric {label}")
        try:
            value = coerce(raw, datatype)
        except BadInput as exc:
            raise BadInput(f"Sparkplug payload: metric {label}: {exc.message}") from None
    return MetricValue(
        name=name,
        alias=metric.alias if metric.HasField("alias") else None,
        timestamp_ms=metric.timestamp if metric.HasField("timestamp") else None,
        datatype=datatype,
        value=value,
        is_null=metric.is_null or (supported and value is None),
        supported=supported,
        is_historical=metric.is_historical,
        is_transient=metric.is_transient,
    )


def decode_payload(data: bytes, *, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> DecodedPayload:
    """Decode a Sparkplug B payload; ``BadInput`` for anything malformed or too large."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"Sparkplug payload of {len(data)} bytes exceeds the limit of {max_bytes}"
        )
    message = pb.Payload()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise BadInput(f"Sparkplug payload is not a valid protobuf Payload: {exc}") from None
    return DecodedPayload(
        timestamp_ms=message.timestamp if message.HasField("timestamp") else None,
        seq=message.seq if message.HasField("seq") else None,
        metrics=[_decode_metric(i, m) for i, m in enumerate(message.metrics)],
    )


# --- encoding -----------------------------------------------------------------


@dataclass(frozen=True)
class MetricSpec:
    """A metric to publish. ``value=None`` publishes an explicit null."""

    name: str
    datatype: DataType
    value: float | int | bool | str | bytes | None
    alias: int | None = None
    timestamp_ms: int | None = None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_seq(seq: int) -> None:
    if not 0 <= seq <= 255:
        raise ValueError(f"Sparkplug seq must be 0..255, got {seq}")


def _add_metric(message: pb.Payload, spec: MetricSpec, *, alias_only: bool, ts: int) -> None:
    metric = message.metrics.add()
    if alias_only and spec.alias is not None:
        # What edge nodes do after the birth: alias only, no name and no datatype.
        metric.alias = spec.alias
    else:
        metric.name = spec.name
        metric.datatype = spec.datatype
        if spec.alias is not None:
            metric.alias = spec.alias
    metric.timestamp = spec.timestamp_ms if spec.timestamp_ms is not None else ts
    if spec.value is None:
        metric.is_null = True
        return
    field_name, wire = to_wire(spec.datatype, spec.value)
    setattr(metric, field_name, wire)


def _encode(
    metrics: Iterable[MetricSpec],
    *,
    seq: int | None,
    timestamp_ms: int | None,
    alias_only: bool = False,
) -> bytes:
    ts = timestamp_ms if timestamp_ms is not None else now_ms()
    message = pb.Payload(timestamp=ts)
    if seq is not None:
        _check_seq(seq)
        message.seq = seq
    for spec in metrics:
        _add_metric(message, spec, alias_only=alias_only, ts=ts)
    return message.SerializeToString()


def _bd_seq_metric(bd_seq: int) -> MetricSpec:
    if not 0 <= bd_seq <= 255:
        raise ValueError(f"bdSeq must be 0..255, got {bd_seq}")
    return MetricSpec(BD_SEQ, DataType.UInt64, bd_seq)


def encode_nbirth(
    metrics: Iterable[MetricSpec],
    *,
    bd_seq: int,
    seq: int = 0,
    timestamp_ms: int | None = None,
) -> bytes:
    """NBIRTH: ``bdSeq`` and ``Node Control/Rebirth`` first, then the node's metrics."""
    given = list(metrics)
    names = {spec.name for spec in given}
    control = [_bd_seq_metric(bd_seq)] if BD_SEQ not in names else []
    if REBIRTH not in names:
        control.append(MetricSpec(REBIRTH, DataType.Boolean, False))
    return _encode([*control, *given], seq=seq, timestamp_ms=timestamp_ms)


def encode_dbirth(
    metrics: Iterable[MetricSpec], *, seq: int, timestamp_ms: int | None = None
) -> bytes:
    return _encode(metrics, seq=seq, timestamp_ms=timestamp_ms)


def encode_ndata(
    metrics: Iterable[MetricSpec],
    *,
    seq: int,
    timestamp_ms: int | None = None,
    alias_only: bool = False,
) -> bytes:
    """NDATA; ``alias_only`` sends aliased metrics without name and datatype."""
    return _encode(metrics, seq=seq, timestamp_ms=timestamp_ms, alias_only=alias_only)


def encode_ddata(
    metrics: Iterable[MetricSpec],
    *,
    seq: int,
    timestamp_ms: int | None = None,
    alias_only: bool = False,
) -> bytes:
    """DDATA; ``alias_only`` sends aliased metrics without name and datatype."""
    return _encode(metrics, seq=seq, timestamp_ms=timestamp_ms, alias_only=alias_only)


def encode_ddeath(*, seq: int, timestamp_ms: int | None = None) -> bytes:
    return _encode([], seq=seq, timestamp_ms=timestamp_ms)


def encode_ndeath(bd_seq: int, *, timestamp_ms: int | None = None) -> bytes:
    """NDEATH carries only ``bdSeq`` and no ``seq`` (it is usually the MQTT will)."""
    return _encode([_bd_seq_metric(bd_seq)], seq=None, timestamp_ms=timestamp_ms)


def encode_ncmd_rebirth(*, timestamp_ms: int | None = None) -> bytes:
    """The NCMD a host sends to make an edge node republish its births."""
    return _encode(
        [MetricSpec(REBIRTH, DataType.Boolean, True)], seq=None, timestamp_ms=timestamp_ms
    )
