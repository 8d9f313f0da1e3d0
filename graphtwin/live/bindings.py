"""Bindings: which live source feeds which property of which asset.

A binding is a resource of the twin graph (``gtb:Binding``, see
ontologies/graphtwin-binding.ttl); this module turns its stored description into
a typed :class:`Binding` the adapters can run. Everything a binding needs is
checked here, with the binding's IRI and the offending field in the error, so a
binding that cannot run is refused when it is written, not discovered later by a
silent adapter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rdflib import Literal

from graphtwin.errors import BadInput
from graphtwin.semantics.description import Description
from graphtwin.semantics.ontology import OntologyIndex, Unit
from graphtwin.semantics.vocab import GTB
from graphtwin.values import PropertyKey

if TYPE_CHECKING:
    from graphtwin.live.transform import Converter

OPCUA_POLICIES = ("None", "Basic256Sha256")
OPCUA_MODES = ("None", "Sign", "SignAndEncrypt")
PAYLOAD_FORMATS = ("json", "number", "string", "boolean")
_NODE_ID = re.compile(r"^(ns=\d+;|nsu=[^;]+;)?(i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$")


@dataclass(frozen=True)
class Transform:
    """Raw value -> property value: ``raw * scale + offset``, then unit conversion."""

    scale: float = 1.0
    offset: float = 0.0
    source_unit: Unit | None = None
    target_unit: Unit | None = None
    deadband: float | None = None

    @property
    def is_identity(self) -> bool:
        return (
            self.scale == 1.0
            and self.offset == 0.0
            and (self.source_unit is None or self.source_unit == self.target_unit)
        )


@dataclass(frozen=True)
class OpcUaSource:
    endpoint: str
    node_id: str
    sampling_interval_ms: float = 1000.0
    security_policy: str = "None"
    security_mode: str = "None"
    credential: str | None = None

    @property
    def group(self) -> str:
        """Monitored items are grouped per endpoint and security settings."""
        return f"{self.endpoint}|{self.security_policy}|{self.security_mode}|{self.credential}"


@dataclass(frozen=True)
class MqttSource:
    broker: str
    topic: str
    payload_format: str = "json"
    value_path: str | None = None
    timestamp_path: str | None = None
    command_topic: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class SparkplugSource:
    broker: str
    group_id: str
    edge_node: str
    device: str | None
    metric: str
    credential: str | None = None


Source = OpcUaSource | MqttSource | SparkplugSource


@dataclass(frozen=True)
class Binding:
    iri: str
    key: PropertyKey
    source: Source
    datatype: str | None = None
    transform: Transform = field(default_factory=Transform)
    writable: bool = False
    expected_period: float | None = None

    @cached_property
    def convert(self) -> Converter:
        """Raw source value -> property value (see ``transform.converter``), built once
        per binding rather than decided again for every value."""
        from graphtwin.live.transform import converter  # transform imports this module

        return converter(self.datatype, self.transform)

    @property
    def kind(self) -> str:
        if isinstance(self.source, OpcUaSource):
            return "opcua"
        if isinstance(self.source, MqttSource):
            return "mqtt"
        return "sparkplug"


class _Fields:
    """Typed access to one binding description's values, with errors that name it."""

    def __init__(self, desc: Description) -> None:
        self.desc = desc

    def _error(self, name: str, message: str) -> BadInput:
        return BadInput(f"binding <{self.desc.iri}>: gtb:{name} {message}", path=(self.desc.iri,))

    def literals(self, name: str) -> list[Literal]:
        return sorted(self.desc.literals.get(str(GTB[name]), ()))

    def text(self, name: str, *, required: bool = False) -> str | None:
        values = self.literals(name)
        if len(values) > 1:
            raise self._error(name, "has more than one value")
        if not values:
            if required:
                raise self._error(name, "is missing")
            return None
        text = str(values[0]).strip()
        if not text:
            raise self._error(name, "is empty")
        return text

    def number(self, name: str, *, positive: bool = False) -> float | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            value = float(text)
        except ValueError:
            raise self._error(name, f"must be a number, not {text!r}") from None
        if positive and not value > 0:
            raise self._error(name, f"must be greater than 0, not {text}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        text = self.text(name) or default
        if text not in allowed:
            raise self._error(name, f"must be one of {', '.join(allowed)}, not {text!r}")
        return text

    def iri(self, name: str, *, required: bool = False) -> str | None:
        predicate = str(GTB[name])
        values = sorted(
            self.desc.links.get(predicate, set()) | self.desc.refs.get(predicate, set())
        )
        if len(values) > 1:
            raise self._error(name, "has more than one value")
        if not values:
            if required:
                raise self._error(name, "is missing")
            return None
        return values[0]


def _broker(fields: _Fields, default: str | None) -> str:
    broker = fields.text("broker") or default
    if broker is None:
        raise fields._error("broker", "is missing and no GRAPHTWIN_MQTT_URL is configured")
    parts = urlsplit(broker)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise fields._error("broker", f"must be mqtt://host:port, not {broker!r}")
    return broker


def _check_topic(fields: _Fields, name: str, topic: str, *, wildcards: bool) -> None:
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and level != "#"):
            raise fields._error(name, f"has a wildcard inside a topic level: {topic!r}")
        if level == "#" and index != len(levels) - 1:
            raise fields._error(name, f"may use # only as the last level: {topic!r}")
        if level in ("+", "#") and not wildcards:
            raise fields._error(name, f"may not contain wildcards: {topic!r}")


def _opcua(fields: _Fields) -> OpcUaSource:
    endpoint = fields.text("endpoint", required=True) or ""
    if not endpoint.startswith("opc.tcp://") or not urlsplit(endpoint).hostname:
        raise fields._error("endpoint", f"must be opc.tcp://host:port/..., not {endpoint!r}")
    node_id = fields.text("nodeId", required=True) or ""
    if not _NODE_ID.match(node_id):
        raise fields._error("nodeId", f"is not an OPC UA NodeId (e.g. ns=2;s=Name): {node_id!r}")
    policy = fields.choice("securityPolicy", OPCUA_POLICIES, "None")
    mode = fields.choice("securityMode", OPCUA_MODES, "None" if policy == "None" else "Sign")
    if (policy == "None") != (mode == "None"):
        raise fields._error("securityMode", f"{mode} does not go with security policy {policy}")
    return OpcUaSource(
        endpoint=endpoint,
        node_id=node_id,
        sampling_interval_ms=fields.number("samplingInterval", positive=True) or 1000.0,
        security_policy=policy,
        security_mode=mode,
        credential=fields.text("credential"),
    )


def _mqtt(fields: _Fields, default_broker: str | None) -> MqttSource:
    topic = fields.text("topic", required=True) or ""
    _check_topic(fields, "topic", topic, wildcards=True)
    payload_format = fields.choice("payloadFormat", PAYLOAD_FORMATS, "json")
    value_path = fields.text("valuePath")
    if payload_format != "json" and (value_path or fields.text("timestampPath")):
        raise fields._error("valuePath", f"only applies to json payloads, not {payload_format}")
    command = fields.text("commandTopic")
    if command is not None:
        _check_topic(fields, "commandTopic", command, wildcards=False)
    return MqttSource(
        broker=_broker(fields, default_broker),
        topic=topic,
        payload_format=payload_format,
        value_path=value_path or ("value" if payload_format == "json" else None),
        timestamp_path=fields.text("timestampPath"),
        command_topic=command,
        credential=fields.text("credential"),
    )


def _sparkplug(fields: _Fields, default_broker: str | None) -> SparkplugSource:
    ids = {}
    for name in ("groupId", "edgeNode", "metric"):
        ids[name] = fields.text(name, required=True) or ""
    device = fields.text("device")
    for name, value in [*ids.items(), ("device", device or "")]:
        if name != "metric" and any(c in value for c in "/+#"):
            raise fields._error(name, f"may not contain '/', '+' or '#': {value!r}")
    return SparkplugSource(
        broker=_broker(fields, default_broker),
        group_id=ids["groupId"],
        edge_node=ids["edgeNode"],
        device=device,
        metric=ids["metric"],
        credential=fields.text("credential"),
    )


def _transform(fields: _Fields, ontology: OntologyIndex, prop: str) -> Transform:
    target = ontology.unit_of(prop)
    source_iri = fields.iri("sourceUnit")
    source: Unit | None = None
    if source_iri is not None:
        source = ontology.units.get(source_iri)
        if source is None or source.multiplier is None:
            raise fields._error("sourceUnit", f"<{source_iri}> is not a unit with a QUDT factor")
        if target is None or target.multiplier is None:
            raise fields._error("sourceUnit", f"is set but <{prop}> has no unit to convert to")
        if not set(source.quantity_kinds) & set(target.quantity_kinds):
            raise fields._error(
                "sourceUnit", f"<{source_iri}> cannot be converted to <{target.iri}>"
            )
    deadband = fields.number("deadband")
    if deadband is not None and deadband < 0:
        raise fields._error("deadband", "must not be negative")
    scale = fields.number("scale")
    return Transform(
        scale=1.0 if scale is None else scale,
        offset=fields.number("offset") or 0.0,
        source_unit=source,
        target_unit=target,
        deadband=deadband,
    )


def parse_binding(
    desc: Description, ontology: OntologyIndex, *, default_broker: str | None = None
) -> Binding:
    """The runnable binding a stored or submitted description stands for.

    :raises BadInput: naming the binding and the field that is wrong or missing.
    """
    fields = _Fields(desc)
    kinds = {t for t in desc.types if str(GTB.Binding) in ontology.ancestors(t)}
    asset = fields.iri("asset", required=True) or ""
    prop = fields.iri("property", required=True) or ""
    meta = ontology.properties.get(prop)
    if meta is None or meta.kind != "datatype":
        raise fields._error("property", f"<{prop}> is not a datatype property of the ontologies")
    if str(GTB.OpcUaBinding) in kinds:
        source: Source = _opcua(fields)
    elif str(GTB.MqttBinding) in kinds:
        source = _mqtt(fields, default_broker)
    elif str(GTB.SparkplugBinding) in kinds:
        source = _sparkplug(fields, default_broker)
    else:
        raise BadInput(
            f"binding <{desc.iri}> must be a gtb:OpcUaBinding, gtb:MqttBinding or "
            "gtb:SparkplugBinding",
            path=(desc.iri,),
        )
    writable_text = fields.text("writable")
    writable = writable_text in ("true", "1")
    if writable and isinstance(source, MqttSource) and source.command_topic is None:
        raise fields._error("writable", "needs a gtb:commandTopic on an MQTT binding")
    if writable and isinstance(source, SparkplugSource):
        raise fields._error("writable", "is not supported for Sparkplug B bindings yet")
    return Binding(
        iri=desc.iri,
        key=(asset, prop),
        source=source,
        datatype=ontology.datatype_of(prop),
        transform=_transform(fields, ontology, prop),
        writable=writable,
        expected_period=fields.number("expectedPeriod", positive=True),
    )


def is_binding(desc: Description, ontology: OntologyIndex) -> bool:
    return any(str(GTB.Binding) in ontology.ancestors(t) for t in desc.types)


def binding_types(ontology: OntologyIndex) -> list[str]:
    return ontology.subclasses(str(GTB.Binding))


def unique_keys(bindings: Iterable[Binding]) -> dict[PropertyKey, Binding]:
    """Bindings by the property they feed.

    :raises BadInput: two bindings feed the same property of the same asset.
    """
    out: dict[PropertyKey, Binding] = {}
    for binding in bindings:
        other = out.get(binding.key)
        if other is not None and other.iri != binding.iri:
            raise BadInput(
                f"bindings <{other.iri}> and <{binding.iri}> both feed <{binding.key[1]}> of "
                f"<{binding.key[0]}>: a property has at most one source",
                path=(binding.iri,),
            )
        out[binding.key] = binding
    return out
