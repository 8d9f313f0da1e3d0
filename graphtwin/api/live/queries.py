"""Live queries: history of a property, bindings ("where does this value come from?")
and the state of the sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from graphtwin.api.context import TwinInfo
from graphtwin.api.live.types import (
    Aggregate,
    Binding,
    History,
    HistoryBucket,
    HistoryPoint,
    SourceStatus,
    binding_view,
    history_aggregate,
    quality_of,
    require_live,
)
from graphtwin.auth.principal import Action
from graphtwin.errors import BadInput, SourceUnavailable
from graphtwin.history.port import MAX_POINTS

DEFAULT_POINTS = 10_000


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


@strawberry.type
class LiveQuery:
    @strawberry.field(
        description="Values of a property over [from, to): raw points, or buckets of "
        "`every` seconds aggregated with `aggregate` (default AVG)."
    )
    async def history(
        self,
        info: TwinInfo,
        asset: str,
        property: str,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime | None = None,
        every: float | None = None,
        aggregate: Aggregate | None = None,
        limit: int = DEFAULT_POINTS,
    ) -> History:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        history = ctx.services.history
        if history is None:
            raise SourceUnavailable("history is not kept by this server")
        prop = ctx.services.twins.queries.expand(property, what="property", path=("property",))
        start, end = _aware(from_), _aware(to or datetime.now(UTC))
        key = (asset, prop)
        if every is None:
            if aggregate is not None:
                raise BadInput("aggregate needs every (the bucket width)", path=("every",))
            if not 1 <= limit <= MAX_POINTS:
                raise BadInput(f"limit must be between 1 and {MAX_POINTS}", path=("limit",))
            points = await history.points(key, start, end, limit)
            return History(
                asset=asset,
                property=prop,
                aggregate=None,
                points=[
                    HistoryPoint(time=p.time, v=JSON(p.value), quality=quality_of(p.quality))
                    for p in points
                ],
                buckets=[],
            )
        if every <= 0:
            raise BadInput("every must be a positive number of seconds", path=("every",))
        chosen = aggregate or Aggregate.AVG
        buckets = await history.buckets(
            key, start, end, timedelta(seconds=every), history_aggregate(chosen)
        )
        return History(
            asset=asset,
            property=prop,
            aggregate=chosen,
            points=[],
            buckets=[
                HistoryBucket(start=b.start, end=b.end, v=JSON(b.value), count=b.count)
                for b in buckets
            ],
        )

    @strawberry.field(description="The binding that feeds a property, if any.")
    def binding(self, info: TwinInfo, asset: str, property: str) -> Binding | None:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        live = require_live(info)
        prop = ctx.services.twins.queries.expand(property, what="property", path=("property",))
        found = live.by_key.get((asset, prop))
        return binding_view(live, found) if found else None

    @strawberry.field(description="Running bindings, all or those of one asset.")
    def bindings(self, info: TwinInfo, asset: str | None = None) -> list[Binding]:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        live = require_live(info)
        chosen = (
            live.bindings_of(asset)
            if asset
            else sorted(live.bindings.values(), key=lambda b: b.iri)
        )
        return [binding_view(live, b) for b in chosen]

    @strawberry.field(description="The connections to live sources and their counters.")
    def sources(self, info: TwinInfo) -> list[SourceStatus]:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        live = require_live(info)
        return [
            SourceStatus(
                name=s.name,
                kind=s.kind,
                connected=s.connected,
                bindings=s.bindings,
                detail=s.detail,
                counters=JSON(s.counters),
            )
            for s in live.status()
        ]
