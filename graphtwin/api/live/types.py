"""GraphQL types of live data: current values, history, bindings."""

from __future__ import annotations

import enum
from dataclasses import asdict
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from graphtwin.api.assets.types import Unit, curie
from graphtwin.api.context import TwinInfo
from graphtwin.errors import SourceUnavailable
from graphtwin.history.port import Aggregate as HistoryAggregate
from graphtwin.live.bindings import Binding as RuntimeBinding
from graphtwin.live.runtime import LiveRuntime
from graphtwin.values import Quality as SampleQuality
from graphtwin.values import Sample


@strawberry.enum(description="Quality of a live value (OPC UA classes, plus STALE).")
class Quality(enum.Enum):
    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"
    STALE = "stale"


@strawberry.enum(description="How history buckets are aggregated.")
class Aggregate(enum.Enum):
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    LAST = "last"
    COUNT = "count"


def history_aggregate(aggregate: Aggregate) -> HistoryAggregate:
    return HistoryAggregate[aggregate.name]


@strawberry.type(description="The current value of a bound property, from the live cache.")
class LiveValue:
    asset: str
    property: str
    name: str = strawberry.field(description="Prefixed name of the property")
    v: JSON | None = strawberry.field(description="The value (number, boolean or text)")
    unit: Unit | None
    source_time: datetime
    server_time: datetime
    quality: Quality


def live_value(info: TwinInfo, sample: Sample) -> LiveValue:
    unit = info.context.services.ontology.unit_of(sample.key[1])
    return LiveValue(
        asset=sample.key[0],
        property=sample.key[1],
        name=curie(info, sample.key[1]),
        v=JSON(sample.value),
        unit=Unit(iri=unit.iri, symbol=unit.symbol, label=unit.label) if unit else None,
        source_time=sample.source_time,
        server_time=sample.server_time,
        quality=Quality(sample.quality.value),
    )


@strawberry.type(description="Where a property's value comes from.")
class Binding:
    iri: str
    kind: str = strawberry.field(description="opcua, mqtt or sparkplug")
    asset: str
    property: str
    source: JSON = strawberry.field(description="The source's settings (no secrets)")
    transform: JSON = strawberry.field(description="Scale, offset, units and deadband")
    writable: bool
    expected_period: float | None
    connected: bool = strawberry.field(description="Whether its source is connected now")
    refused: int = strawberry.field(description="Values refused so far (malformed, wrong type)")


def binding_view(live: LiveRuntime, binding: RuntimeBinding) -> Binding:
    transform = binding.transform
    status = {s.name: s.connected for s in live.status()}
    source = asdict(binding.source)
    connected = status.get(str(source.get("endpoint") or source.get("broker")), False)
    return Binding(
        iri=binding.iri,
        kind=binding.kind,
        asset=binding.key[0],
        property=binding.key[1],
        source=JSON(source),
        transform=JSON(
            {
                "scale": transform.scale,
                "offset": transform.offset,
                "sourceUnit": transform.source_unit.iri if transform.source_unit else None,
                "unit": transform.target_unit.iri if transform.target_unit else None,
                "deadband": transform.deadband,
            }
        ),
        writable=binding.writable,
        expected_period=binding.expected_period,
        connected=connected,
        refused=live.ingest.refused.get(binding.iri, 0),
    )


@strawberry.type(description="A connection to a live source.")
class SourceStatus:
    name: str
    kind: str
    connected: bool
    bindings: int
    detail: str
    counters: JSON


@strawberry.type(description="One stored value.")
class HistoryPoint:
    time: datetime
    v: JSON | None
    quality: Quality


@strawberry.type(description="One downsampling bucket [start, end).")
class HistoryBucket:
    start: datetime
    end: datetime
    v: JSON | None
    count: int


@strawberry.type(description="History of one property over a time range.")
class History:
    asset: str
    property: str
    aggregate: Aggregate | None
    points: list[HistoryPoint] = strawberry.field(description="Raw points (no every given)")
    buckets: list[HistoryBucket] = strawberry.field(description="Buckets (every given)")


def require_live(info: TwinInfo) -> LiveRuntime:
    live = info.context.services.live
    if live is None:
        raise SourceUnavailable("live data is not running on this server")
    return live


def quality_of(q: SampleQuality) -> Quality:
    return Quality(q.value)


def site_of(asset: str | None) -> str | None:
    """The site IRI an asset IRI lives under (gts:SiteNamespaceShape), for scoping."""
    marker = "/sites/"
    if asset is None or marker not in asset:
        return None
    head, _, tail = asset.partition(marker)
    return f"{head}{marker}{tail.split('/', 1)[0]}"
