"""Live values without a broker: payload decoding, transforms, binding checks, the cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rdflib import RDF, XSD, Literal, URIRef

from graphtwin.errors import BadInput
from graphtwin.live.bindings import MqttSource, Transform, parse_binding
from graphtwin.live.cache import LiveCache
from graphtwin.live.payload import PayloadRefused, decode
from graphtwin.live.transform import (
    ValueRefused,
    converter,
    outside_deadband,
    to_property_value,
    to_source_value,
)
from graphtwin.semantics.description import Description
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.vocab import GT, GTB, UNIT
from graphtwin.values import Quality, Sample

ONTOLOGY = OntologyIndex.load(Path(__file__).resolve().parents[2] / "ontologies")
DECIMAL, INTEGER, BOOLEAN = str(XSD.decimal), str(XSD.integer), str(XSD.boolean)
JSON_SOURCE = MqttSource("mqtt://h:1", "t", "json", "data.v", "ts")


def test_json_value_and_timestamp() -> None:
    raw, stamp = decode(b'{"data": {"v": 3.5}, "ts": "2026-11-22T10:00:00.250Z"}', JSON_SOURCE)
    assert raw == 3.5
    assert stamp == datetime(2026, 11, 22, 10, 0, 0, 250000, tzinfo=UTC)
    raw, stamp = decode(b'{"data": {"v": 1}, "ts": 1763805600000}', JSON_SOURCE)
    assert stamp == datetime(2025, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"data": {}}', "no 'v'"),
        (b'{"data": {"v": {"x": 1}}, "ts": 1}', "not a scalar"),
        (b'{"data": {"v": 1}, "ts": "yesterday"}', "ISO 8601"),
        (b'{"data": {"v": 1}, "ts": true}', "boolean"),
        (b"\xff\xfe", "invalid JSON"),
        (b" " * 300_000, "exceeds"),
    ],
)
def test_malformed_json_payloads_are_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRefused, match=reason):
        decode(payload, JSON_SOURCE)


def test_plain_number_payload() -> None:
    source = MqttSource("mqtt://h:1", "t", "number")
    assert decode(b" 42 ", source) == (42, None)
    assert decode(b"-1.5e3", source) == (-1500.0, None)
    with pytest.raises(PayloadRefused, match="not a number"):
        decode(b"forty", source)


def test_unit_conversion_scale_and_offset() -> None:
    fahrenheit = Transform(
        source_unit=ONTOLOGY.units[str(UNIT.DEG_F)], target_unit=ONTOLOGY.units[str(UNIT.DEG_C)]
    )
    assert to_property_value(212, DECIMAL, fahrenheit) == pytest.approx(100.0)
    assert to_source_value(100.0, fahrenheit) == pytest.approx(212.0)
    millis = Transform(
        scale=2.0,
        offset=10.0,
        source_unit=ONTOLOGY.units[str(UNIT.MilliSEC)],
        target_unit=ONTOLOGY.units[str(UNIT.SEC)],
    )
    assert to_property_value("1000", DECIMAL, millis) == pytest.approx(2.01)
    assert to_source_value(2.01, millis) == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("raw", "datatype", "expected"),
    [
        (7.0, INTEGER, 7),
        ("12", INTEGER, 12),
        (True, BOOLEAN, True),
        ("off", BOOLEAN, False),
        (3, DECIMAL, 3.0),
        (3.5, None, 3.5),
        (42, str(XSD.string), "42"),
    ],
)
def test_values_are_coerced_to_the_property_datatype(
    raw: object, datatype: str | None, expected: object
) -> None:
    value = to_property_value(raw, datatype, Transform())
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "datatype"),
    [(7.5, INTEGER), ("hot", DECIMAL), (float("nan"), DECIMAL), ("maybe", BOOLEAN), (None, None)],
)
def test_values_of_the_wrong_type_are_refused(raw: object, datatype: str | None) -> None:
    with pytest.raises(ValueRefused):
        to_property_value(raw, datatype, Transform())


def test_an_integer_too_large_for_a_double_is_refused_not_an_error() -> None:
    """``float(10**400)`` raised OverflowError, which is no ValueRefused: the message
    was logged as a crash instead of counted against its binding."""
    with pytest.raises(ValueRefused, match="too large"):
        to_property_value(10**400, DECIMAL, Transform())
    with pytest.raises(ValueRefused, match="too large"):
        converter(DECIMAL, Transform())(10**400)


RAW_VALUES: list[object] = [
    *(0, 7, -3, 2**70, 10**400, True, False),
    *(3.5, -0.0, 7.0, float("inf"), float("-inf"), float("nan")),
    *("12", "1.5", " 4 ", "hot", "on", "", None, [1], {"a": 1}, b"x"),
]


@pytest.mark.parametrize(
    "datatype",
    [DECIMAL, str(XSD.double), str(XSD.float), INTEGER, str(XSD.long), BOOLEAN, None],
)
@pytest.mark.parametrize(
    "transform", [Transform(), Transform(scale=2.0, offset=1.0)], ids=["identity", "scaled"]
)
def test_a_bindings_converter_answers_like_to_property_value(
    datatype: str | None, transform: Transform
) -> None:
    """The per-binding fast paths give the same value, type and refusal as the general
    conversion, for every kind of raw value a payload can carry."""
    convert = converter(datatype, transform)
    for raw in RAW_VALUES:
        try:
            expected: object = to_property_value(raw, datatype, transform)
        except ValueRefused as exc:
            with pytest.raises(ValueRefused) as refused:
                convert(raw)
            assert str(refused.value) == str(exc)
            continue
        value = convert(raw)
        assert type(value) is type(expected), raw
        assert value == expected or (value != value and expected != expected), raw


def test_deadband() -> None:
    band = Transform(deadband=0.5)
    assert not outside_deadband(20.3, 20.0, band)
    assert outside_deadband(20.6, 20.0, band)
    assert outside_deadband("idle", "producing", band)
    assert outside_deadband(1.0, None, band)


def binding(kind: URIRef, **fields: object) -> Description:
    desc = Description(iri="https://acme.example/b/1", types={str(kind)})
    desc.links[str(GTB.asset)] = {"https://acme.example/sites/s/m"}
    desc.refs[str(GTB.property)] = {str(GT.temperature)}
    for name, value in fields.items():
        if isinstance(value, URIRef):
            desc.refs[str(GTB[name])] = {str(value)}
        else:
            desc.literals[str(GTB[name])] = {Literal(value)}
    return desc


def test_a_valid_opcua_binding_parses() -> None:
    parsed = parse_binding(
        binding(GTB.OpcUaBinding, endpoint="opc.tcp://plc:4840", nodeId="ns=2;s=Press.T"),
        ONTOLOGY,
    )
    assert parsed.kind == "opcua"
    assert parsed.key == ("https://acme.example/sites/s/m", str(GT.temperature))
    assert parsed.datatype == DECIMAL


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (GTB.OpcUaBinding, {"endpoint": "http://plc", "nodeId": "ns=2;s=x"}, "opc.tcp://"),
        (GTB.OpcUaBinding, {"endpoint": "opc.tcp://plc:1", "nodeId": "Press.T"}, "NodeId"),
        (
            GTB.OpcUaBinding,
            {
                "endpoint": "opc.tcp://plc:1",
                "nodeId": "i=5",
                "securityPolicy": "Basic256Sha256",
                "securityMode": "None",
            },
            "does not go with",
        ),
        (GTB.MqttBinding, {"topic": "a/#/b"}, "only as the last level"),
        (GTB.MqttBinding, {"topic": "a/b+/c"}, "wildcard inside"),
        (GTB.MqttBinding, {"topic": "a", "payloadFormat": "xml"}, "one of"),
        (GTB.MqttBinding, {"topic": "a", "writable": "true"}, "commandTopic"),
        (GTB.MqttBinding, {"topic": "a", "broker": "http://x"}, "mqtt://host:port"),
        (GTB.MqttBinding, {"topic": "a", "sourceUnit": UNIT.KiloW}, "cannot be converted"),
        (GTB.SparkplugBinding, {"groupId": "g", "edgeNode": "e/1", "metric": "m"}, "may not"),
        (GTB.SparkplugBinding, {"groupId": "g", "metric": "m"}, "edgeNode is missing"),
        (GTB.Binding, {}, "must be a gtb:OpcUaBinding"),
    ],
)
def test_bindings_that_could_not_run_are_refused(
    kind: URIRef, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        parse_binding(binding(kind, **fields), ONTOLOGY, default_broker="mqtt://127.0.0.1:1883")


def test_a_binding_to_a_non_datatype_property_is_refused() -> None:
    desc = binding(GTB.MqttBinding, topic="a")
    desc.refs[str(GTB.property)] = {str(GT.partOf)}
    with pytest.raises(BadInput, match="not a datatype property"):
        parse_binding(desc, ONTOLOGY, default_broker="mqtt://127.0.0.1:1883")
    assert str(RDF.type)  # the module's namespace is loaded


def sample(asset: str, value: float, quality: Quality = Quality.GOOD) -> Sample:
    now = datetime.now(UTC)
    return Sample((asset, str(GT.temperature)), value, now, now, quality)


async def test_cache_fans_out_filtered_and_coalesced() -> None:
    cache = LiveCache()
    cache.attach(asyncio.get_running_loop())
    one = cache.subscribe(assets=["a"])
    everything = cache.subscribe()
    for value in (1.0, 2.0, 3.0):
        cache.put(sample("a", value))
    cache.put(sample("b", 9.0))
    await asyncio.sleep(0)
    assert [s.value for s in one.pending.values()] == [3.0]  # coalesced per property
    assert {s.key[0] for s in everything.pending.values()} == {"a", "b"}
    cache.mark([("a", str(GT.temperature))], Quality.STALE)
    await asyncio.sleep(0)
    assert one.pending[("a", str(GT.temperature))].quality is Quality.STALE
    assert cache.take_dirty().keys() == {("a", str(GT.temperature)), ("b", str(GT.temperature))}
    cache.unsubscribe(one)
    assert cache.subscriptions == 1
