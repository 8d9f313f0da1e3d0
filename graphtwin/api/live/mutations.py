"""Live mutations: add and remove bindings at runtime, and write values to sources.

A binding is written like any other resource: through the change set path, with
the shapes in shapes/binding-shapes.ttl and the runtime's own checks before
commit; the runtime then starts or stops it without a restart.
"""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from rdflib import RDF, XSD, Graph, Literal, URIRef
from strawberry.scalars import JSON

from graphtwin.api.assets.mutations import WriteOutcome, run_write
from graphtwin.api.context import TwinInfo
from graphtwin.api.errors import (
    BadInputError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    to_result,
)
from graphtwin.api.live.types import LiveValue, live_value, require_live, site_of
from graphtwin.auth.principal import Action
from graphtwin.errors import BadInput, Conflict, TwinError
from graphtwin.semantics.vocab import GTB
from graphtwin.twins.writer import WriteResult


@strawberry.enum
class SourceKind(enum.Enum):
    OPCUA = "opcua"
    MQTT = "mqtt"
    SPARKPLUG = "sparkplug"


_CLASSES = {
    SourceKind.OPCUA: GTB.OpcUaBinding,
    SourceKind.MQTT: GTB.MqttBinding,
    SourceKind.SPARKPLUG: GTB.SparkplugBinding,
}

# Input field -> (binding property, datatype); a field left out is not written.
_FIELDS: dict[str, tuple[URIRef, URIRef]] = {
    "endpoint": (GTB.endpoint, XSD.anyURI),
    "node_id": (GTB.nodeId, XSD.string),
    "sampling_interval": (GTB.samplingInterval, XSD.decimal),
    "security_policy": (GTB.securityPolicy, XSD.string),
    "security_mode": (GTB.securityMode, XSD.string),
    "credential": (GTB.credential, XSD.string),
    "broker": (GTB.broker, XSD.anyURI),
    "topic": (GTB.topic, XSD.string),
    "payload_format": (GTB.payloadFormat, XSD.string),
    "value_path": (GTB.valuePath, XSD.string),
    "timestamp_path": (GTB.timestampPath, XSD.string),
    "command_topic": (GTB.commandTopic, XSD.string),
    "group_id": (GTB.groupId, XSD.string),
    "edge_node": (GTB.edgeNode, XSD.string),
    "device": (GTB.device, XSD.string),
    "metric": (GTB.metric, XSD.string),
    "scale": (GTB.scale, XSD.double),
    "offset": (GTB.offset, XSD.double),
    "deadband": (GTB.deadband, XSD.double),
    "expected_period": (GTB.expectedPeriod, XSD.decimal),
    "writable": (GTB.writable, XSD.boolean),
}


@strawberry.input(
    description="A binding: the asset and property it feeds, the source kind and the "
    "source's fields (OPC UA: endpoint, nodeId, samplingInterval, securityPolicy, "
    "securityMode, credential; MQTT: broker, topic, payloadFormat, valuePath, "
    "timestampPath, commandTopic; Sparkplug B: broker, groupId, edgeNode, device, metric)."
)
class BindingInput:
    iri: str
    kind: SourceKind
    asset: str
    property: str
    endpoint: str | None = None
    node_id: str | None = None
    sampling_interval: float | None = None
    security_policy: str | None = None
    security_mode: str | None = None
    credential: str | None = None
    broker: str | None = None
    topic: str | None = None
    payload_format: str | None = None
    value_path: str | None = None
    timestamp_path: str | None = None
    command_topic: str | None = None
    group_id: str | None = None
    edge_node: str | None = None
    device: str | None = None
    metric: str | None = None
    scale: float | None = None
    offset: float | None = None
    source_unit: str | None = None
    deadband: float | None = None
    expected_period: float | None = None
    writable: bool | None = None


def binding_graph(info: TwinInfo, given: BindingInput) -> Graph:
    queries = info.context.services.twins.queries
    node = URIRef(given.iri)
    graph = Graph()
    graph.add((node, RDF.type, _CLASSES[given.kind]))
    graph.add((node, GTB.asset, URIRef(given.asset)))
    prop = queries.expand(given.property, what="property", path=("input", "property"))
    graph.add((node, GTB.property, URIRef(prop)))
    if given.source_unit:
        unit = queries.expand(given.source_unit, what="unit", path=("input", "sourceUnit"))
        graph.add((node, GTB.sourceUnit, URIRef(unit)))
    for name, (predicate, datatype) in _FIELDS.items():
        value = getattr(given, name)
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        # Plain literals for text: the shapes' sh:in lists compare terms exactly.
        literal = Literal(text) if datatype == XSD.string else Literal(text, datatype=datatype)
        graph.add((node, predicate, literal))
    return graph


WriteValueOutcome = Annotated[
    LiveValue | BadInputError | NotFoundError | ForbiddenError | UnavailableError,
    strawberry.union("WriteValueOutcome"),
]


@strawberry.type
class LiveMutation:
    @strawberry.mutation(description="Add a binding; it runs as soon as it is committed.")
    async def add_binding(self, info: TwinInfo, input: BindingInput) -> WriteOutcome:
        twins = info.context.services.twins

        async def write() -> WriteResult:
            if await twins.repository.existing([input.iri]):
                raise Conflict(f"<{input.iri}> already exists", path=("input", "iri"))
            return await twins.import_graph(binding_graph(info, input))

        return await run_write(info, None, write)

    @strawberry.mutation(description="Remove a binding; its source stops feeding the property.")
    async def remove_binding(self, info: TwinInfo, iri: str) -> WriteOutcome:
        twins = info.context.services.twins

        async def write() -> WriteResult:
            live = require_live(info)
            if iri not in live.bindings and (await twins.queries.describe([iri]))[0] is None:
                raise BadInput(f"no binding <{iri}>", path=("iri",))
            return await twins.delete_asset(iri)

        return await run_write(info, None, write)

    @strawberry.mutation(
        description="Write a value to the source behind a writable bound property "
        "(OPC UA write, or MQTT publish to the binding's command topic)."
    )
    async def write_value(
        self, info: TwinInfo, asset: str, property: str, value: JSON
    ) -> WriteValueOutcome:
        ctx = info.context
        try:
            ctx.services.authorizer.require(ctx.principal, Action.WRITE, site_of(asset))
            live = require_live(info)
            prop = ctx.services.twins.queries.expand(property, what="property", path=("property",))
            sample = await live.write_value((asset, prop), value)
        except TwinError as error:
            return to_result(error)  # type: ignore[return-value]
        return live_value(info, sample)
