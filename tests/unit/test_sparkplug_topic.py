"""Sparkplug B topic parsing, formatting and subscription filters."""

from __future__ import annotations

import pytest

from graphtwin.errors import BadInput
from graphtwin.sparkplug.topic import (
    MessageType,
    SparkplugTopic,
    parse_topic,
    state_filter,
    topic_filter,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spBv1.0/acme/NBIRTH/line-1", SparkplugTopic("acme", MessageType.NBIRTH, "line-1")),
        ("spBv1.0/acme/NDEATH/line-1", SparkplugTopic("acme", MessageType.NDEATH, "line-1")),
        ("spBv1.0/acme/NDATA/line-1", SparkplugTopic("acme", MessageType.NDATA, "line-1")),
        ("spBv1.0/acme/NCMD/line-1", SparkplugTopic("acme", MessageType.NCMD, "line-1")),
        (
            "spBv1.0/acme/DBIRTH/line-1/press-1",
            SparkplugTopic("acme", MessageType.DBIRTH, "line-1", "press-1"),
        ),
        (
            "spBv1.0/acme/DDEATH/line-1/press-1",
            SparkplugTopic("acme", MessageType.DDEATH, "line-1", "press-1"),
        ),
        (
            "spBv1.0/acme/DDATA/line-1/press-1",
            SparkplugTopic("acme", MessageType.DDATA, "line-1", "press-1"),
        ),
        (
            "spBv1.0/acme/DCMD/line-1/press-1",
            SparkplugTopic("acme", MessageType.DCMD, "line-1", "press-1"),
        ),
        ("spBv1.0/STATE/scada-host", SparkplugTopic.state("scada-host")),
    ],
)
def test_parse_and_format_round_trip(text: str, expected: SparkplugTopic) -> None:
    parsed = parse_topic(text)
    assert parsed == expected
    assert str(parsed) == text


def test_topic_accessors() -> None:
    topic = parse_topic("spBv1.0/acme/DDATA/line-1/press-1")
    assert topic.node == ("acme", "line-1")
    assert topic.kind.is_device
    assert not MessageType.NDATA.is_device
    assert parse_topic("spBv1.0/STATE/h1").host_id == "h1"
    with pytest.raises(ValueError, match="no host id"):
        _ = topic.host_id


@pytest.mark.parametrize(
    "text",
    [
        "",
        "spBv1.0",
        "spAv1.0/acme/NDATA/line-1",
        "spBv1.0/acme/NDATA",
        "spBv1.0/acme/NDATA/line-1/dev/extra",
        "spBv1.0/acme/NOPE/line-1",
        "spBv1.0/acme/ndata/line-1",
        "spBv1.0//NDATA/line-1",
        "spBv1.0/acme/NDATA/",
        "spBv1.0/acme/NDATA/line-1/",  # empty device id
        "spBv1.0/acme/NDATA/line-1/press-1",  # node message with a device
        "spBv1.0/acme/DDATA/line-1",  # device message without a device
        "spBv1.0/acme/NDATA/line+1",
        "spBv1.0/acme/NDATA/#",
        "spBv1.0/STATE",
        "spBv1.0/STATE/",
        "spBv1.0/STATE/a/b",
        "spBv1.0/acme/STATE/line-1",
        "STATE/scada-host",  # Sparkplug 2.2 form, outside the namespace
    ],
)
def test_malformed_topics_are_bad_input(text: str) -> None:
    with pytest.raises(BadInput):
        parse_topic(text)


def test_constructing_an_invalid_topic_is_bad_input() -> None:
    with pytest.raises(BadInput):
        SparkplugTopic("acme", MessageType.DDATA, "line-1")
    with pytest.raises(BadInput):
        SparkplugTopic("a/b", MessageType.NDATA, "line-1")
    with pytest.raises(BadInput):
        SparkplugTopic("acme", MessageType.STATE, "host")


def test_topic_filters() -> None:
    assert topic_filter() == "spBv1.0/+/+/+/#"
    assert topic_filter(group="acme") == "spBv1.0/acme/+/+/#"
    assert topic_filter(group="acme", edge_node="line-1") == "spBv1.0/acme/+/line-1/#"
    assert topic_filter("acme", MessageType.NCMD, "line-1", None) == "spBv1.0/acme/NCMD/line-1"
    assert topic_filter("acme", "DCMD", "line-1", "+") == "spBv1.0/acme/DCMD/line-1/+"
    assert state_filter() == "spBv1.0/STATE/+"
    assert state_filter("scada") == "spBv1.0/STATE/scada"
    with pytest.raises(BadInput):
        topic_filter(group="a/b")
    with pytest.raises(BadInput):
        topic_filter(kind="BOGUS")
    with pytest.raises(BadInput):
        topic_filter(kind="STATE")
    with pytest.raises(BadInput):
        topic_filter(edge_node="#")
