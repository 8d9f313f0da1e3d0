"""Sparkplug B: the official protobuf payload, topics and per-node session state.

Pure library code: no network, no threads. ``topic`` parses topic names,
``payload`` decodes/encodes payloads (``datatypes`` knows the wire encoding of
each datatype), ``session.SparkplugHost`` follows edge node sessions and turns
messages into the ``events`` the runtime acts on.
"""

from graphtwin.sparkplug.datatypes import DataType, Scalar
from graphtwin.sparkplug.events import (
    Event,
    Malformed,
    MetricKey,
    MetricsStale,
    MetricUpdate,
    RequestRebirth,
    StatusChange,
)
from graphtwin.sparkplug.payload import (
    BD_SEQ,
    REBIRTH,
    DecodedPayload,
    MetricSpec,
    MetricValue,
    decode_payload,
    encode_dbirth,
    encode_ddata,
    encode_ddeath,
    encode_nbirth,
    encode_ncmd_rebirth,
    encode_ndata,
    encode_ndeath,
)
from graphtwin.sparkplug.session import HostStats, SparkplugHost
from graphtwin.sparkplug.topic import (
    MessageType,
    SparkplugTopic,
    parse_topic,
    state_filter,
    topic_filter,
)

__all__ = [
    "BD_SEQ",
    "REBIRTH",
    "DataType",
    "DecodedPayload",
    "Event",
    "HostStats",
    "Malformed",
    "MessageType",
    "MetricKey",
    "MetricSpec",
    "MetricUpdate",
    "MetricValue",
    "MetricsStale",
    "RequestRebirth",
    "Scalar",
    "SparkplugHost",
    "SparkplugTopic",
    "StatusChange",
    "decode_payload",
    "encode_dbirth",
    "encode_ddata",
    "encode_ddeath",
    "encode_nbirth",
    "encode_ncmd_rebirth",
    "encode_ndata",
    "encode_ndeath",
    "parse_topic",
    "state_filter",
    "topic_filter",
]
