"""Sparkplug B payload codec: datatypes, nulls, control metrics and bad input."""

from __future__ import annotations

import contextlib
import math
import random

import pytest

from graphtwin.errors import BadInput, PayloadTooLarge
from graphtwin.sparkplug import sparkplug_b_pb2 as pb
from graphtwin.sparkplug.datatypes import DataType, coerce, to_wire
from graphtwin.sparkplug.payload import (
    BD_SEQ,
    REBIRTH,
    MetricSpec,
    decode_payload,
    encode_dbirth,
    encode_ddata,
    encode_ddeath,
    encode_nbirth,
    encode_ncmd_rebirth,
    encode_ndata,
    encode_ndeath,
)

SCALARS: list[tuple[DataType, object]] = [
    (DataType.Int8, -128),
    (DataType.Int8, -1),
    (DataType.Int8, 127),
    (DataType.Int16, -32768),
    (DataType.Int16, -2),
    (DataType.Int16, 32767),
    (DataType.Int32, -(2**31)),
    (DataType.Int32, -3),
    (DataType.Int32, 2**31 - 1),
    (DataType.Int64, -(2**63)),
    (DataType.Int64, -4),
    (DataType.Int64, 2**63 - 1),
    (DataType.UInt8, 255),
    (DataType.UInt16, 65535),
    (DataType.UInt32, 2**32 - 1),
    (DataType.UInt64, 2**64 - 1),
    (DataType.UInt64, 0),
    (DataType.Float, 1.5),
    (DataType.Float, -0.25),
    (DataType.Double, 71.3),
    (DataType.Double, -1e300),
    (DataType.Boolean, True),
    (DataType.Boolean, False),
    (DataType.String, "producing"),
    (DataType.String, "Grüße ✓"),
    (DataType.Text, "long text"),
    (DataType.UUID, "0b4e3b4a-6b4f-4b8e-9d5c-2f1f1d3f4a5b"),
    (DataType.DateTime, 1_795_000_000_123),
    (DataType.Bytes, b"\x00\x01\xff"),
    (DataType.File, b"file body"),
]


def test_datatype_enum_mirrors_the_proto() -> None:
    for member in DataType:
        assert pb.DataType.Value(member.name) == member.value
    assert len(DataType) == len(pb.DataType.keys())


@pytest.mark.parametrize(("datatype", "value"), SCALARS)
def test_scalar_round_trip(datatype: DataType, value: object) -> None:
    spec = MetricSpec("m", datatype, value, alias=7, timestamp_ms=1234)  # type: ignore[arg-type]
    decoded = decode_payload(encode_ddata([spec], seq=9, timestamp_ms=99))
    assert decoded.seq == 9
    assert decoded.timestamp_ms == 99
    [metric] = decoded.metrics
    assert (metric.name, metric.alias, metric.timestamp_ms) == ("m", 7, 1234)
    assert metric.datatype == datatype
    assert metric.value == value
    assert type(metric.value) is type(value)
    assert not metric.is_null
    assert metric.supported


def test_signed_values_are_twos_complement_in_the_types_width() -> None:
    assert to_wire(DataType.Int8, -1) == ("int_value", 0xFF)
    assert to_wire(DataType.Int16, -1) == ("int_value", 0xFFFF)
    assert to_wire(DataType.Int32, -1) == ("int_value", 0xFFFF_FFFF)
    assert to_wire(DataType.Int64, -1) == ("long_value", 2**64 - 1)
    assert to_wire(DataType.UInt32, 2**32 - 1) == ("int_value", 2**32 - 1)


def test_decoding_accepts_sign_extended_and_long_field_integers() -> None:
    # Eclipse Tahu Java sign-extends Int8/Int16 into the uint32 and sends UInt32
    # in long_value; both must decode to the same numbers.
    message = pb.Payload(seq=0)
    message.metrics.add(name="a", datatype=DataType.Int8, int_value=0xFFFF_FFFE)
    message.metrics.add(name="b", datatype=DataType.Int16, int_value=0xFFFF_8000)
    message.metrics.add(name="c", datatype=DataType.UInt32, long_value=4_000_000_000)
    message.metrics.add(name="d", datatype=DataType.Int32, long_value=2**64 - 5)
    decoded = decode_payload(message.SerializeToString())
    assert [m.value for m in decoded.metrics] == [-2, -32768, 4_000_000_000, -5]


def test_alias_only_data_leaves_raw_value_for_the_session_to_coerce() -> None:
    spec = MetricSpec("temperature", DataType.Int16, -40, alias=3)
    [metric] = decode_payload(encode_ddata([spec], seq=1, alias_only=True)).metrics
    assert metric.name is None
    assert metric.datatype is None
    assert metric.alias == 3
    assert metric.value == 65536 - 40
    assert coerce(metric.value, DataType.Int16) == -40


def test_float_is_single_precision() -> None:
    [metric] = decode_payload(encode_ndata([MetricSpec("f", DataType.Float, 0.1)], seq=0)).metrics
    assert isinstance(metric.value, float)
    assert math.isclose(metric.value, 0.1, rel_tol=1e-7)


@pytest.mark.parametrize("datatype", [DataType.Double, DataType.String, DataType.Int32])
def test_null_metrics(datatype: DataType) -> None:
    [metric] = decode_payload(encode_ndata([MetricSpec("n", datatype, None)], seq=0)).metrics
    assert metric.is_null
    assert metric.value is None
    assert metric.datatype == datatype


def test_metric_without_value_counts_as_null() -> None:
    message = pb.Payload(seq=0)
    message.metrics.add(name="empty", datatype=DataType.Double)
    [metric] = decode_payload(message.SerializeToString()).metrics
    assert metric.is_null
    assert metric.value is None


def test_unsupported_datatypes_are_flagged_not_decoded() -> None:
    message = pb.Payload(seq=0)
    dataset = message.metrics.add(name="table", alias=4, datatype=DataType.DataSet)
    dataset.dataset_value.num_of_columns = 1
    message.metrics.add(name="udt", datatype=DataType.Template).template_value.version = "1"
    message.metrics.add(name="arr", datatype=DataType.Int32Array, bytes_value=b"\x01\x00\x00\x00")
    metrics = decode_payload(message.SerializeToString()).metrics
    assert [(m.name, m.value, m.supported, m.is_null) for m in metrics] == [
        ("table", None, False, False),
        ("udt", None, False, False),
        ("arr", None, False, False),
    ]
    assert metrics[0].alias == 4


def test_nbirth_has_bd_seq_and_rebirth_control() -> None:
    decoded = decode_payload(
        encode_nbirth([MetricSpec("uptime", DataType.Int64, 5)], bd_seq=7, timestamp_ms=1)
    )
    assert decoded.seq == 0
    assert [m.name for m in decoded.metrics] == [BD_SEQ, REBIRTH, "uptime"]
    bd_seq = decoded.metric(BD_SEQ)
    assert bd_seq is not None
    assert (bd_seq.datatype, bd_seq.value) == (DataType.UInt64, 7)
    rebirth = decoded.metric(REBIRTH)
    assert rebirth is not None
    assert (rebirth.datatype, rebirth.value) == (DataType.Boolean, False)


def test_ndeath_carries_only_bd_seq_and_no_seq() -> None:
    decoded = decode_payload(encode_ndeath(42))
    assert decoded.seq is None
    assert [(m.name, m.value) for m in decoded.metrics] == [(BD_SEQ, 42)]


def test_ncmd_rebirth_and_dbirth_and_ddeath() -> None:
    ncmd = decode_payload(encode_ncmd_rebirth())
    assert [(m.name, m.value) for m in ncmd.metrics] == [(REBIRTH, True)]
    assert ncmd.seq is None
    dbirth = decode_payload(encode_dbirth([MetricSpec("t", DataType.Double, 1.0)], seq=3))
    assert dbirth.seq == 3
    assert dbirth.timestamp_ms is not None
    ddeath = decode_payload(encode_ddeath(seq=4))
    assert (ddeath.seq, ddeath.metrics) == (4, [])


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (DataType.Int8, 128),
        (DataType.Int8, -129),
        (DataType.UInt8, 256),
        (DataType.UInt16, -1),
        (DataType.UInt64, 2**64),
        (DataType.Int32, 1.5),
        (DataType.Int32, True),
        (DataType.Double, "x"),
        (DataType.Boolean, 1),
        (DataType.String, b"x"),
        (DataType.Float, 1e39),
        (DataType.DataSet, 1),
    ],
)
def test_encoding_a_value_that_does_not_fit_is_a_value_error(
    datatype: DataType, value: object
) -> None:
    with pytest.raises(ValueError):
        encode_ndata([MetricSpec("m", datatype, value)], seq=0)  # type: ignore[arg-type]


def test_encoder_checks_seq_and_bd_seq_range() -> None:
    with pytest.raises(ValueError):
        encode_ndata([], seq=256)
    with pytest.raises(ValueError):
        encode_nbirth([], bd_seq=-1)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        b"\x12\x05abc",  # truncated metrics field
        b"\x12",  # field header without its length
        b"\x12\x02\x12\x09",  # metric whose nested field runs past its end
        b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # overlong varint
    ],
)
def test_malformed_bytes_are_bad_input(data: bytes) -> None:
    with pytest.raises(BadInput, match="not a valid protobuf"):
        decode_payload(data)


def test_value_contradicting_its_datatype_is_bad_input() -> None:
    message = pb.Payload(seq=0)
    message.metrics.add(name="t", datatype=DataType.Double, string_value="hot")
    with pytest.raises(BadInput, match=r"metric 't'.*Double.*str"):
        decode_payload(message.SerializeToString())


def test_invalid_utf8_is_bad_input() -> None:
    metric = b"\x0a\x02\xff\xfe"  # name = invalid UTF-8
    data = b"\x12" + bytes([len(metric)]) + metric
    with pytest.raises(BadInput, match="UTF-8"):
        decode_payload(data)


def test_oversized_payload_is_bad_input() -> None:
    data = encode_ndata([MetricSpec("blob", DataType.Bytes, b"x" * 2000)], seq=0)
    with pytest.raises(PayloadTooLarge, match="exceeds the limit of 1000"):
        decode_payload(data, max_bytes=1000)
    assert issubclass(PayloadTooLarge, BadInput)
    big = encode_ndata([MetricSpec("blob", DataType.Bytes, b"x" * (1024 * 1024))], seq=0)
    with pytest.raises(BadInput):
        decode_payload(big)


def test_random_garbage_only_ever_raises_bad_input() -> None:
    rng = random.Random(7)
    valid = encode_nbirth(
        [MetricSpec("t", DataType.Int32, -5, alias=1), MetricSpec("s", DataType.String, "x")],
        bd_seq=1,
    )
    for _ in range(3000):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        else:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 4)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            data = bytes(mutated)
        with contextlib.suppress(BadInput):
            decode_payload(data)
