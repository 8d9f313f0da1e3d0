"""Subscriptions over WebSocket (graphql-transport-ws): live values as they change.

Filtered on the server: one property, one asset, or every asset under a line or
site (its ``partOf`` descendants, resolved once when the subscription starts).
Each subscription coalesces per property, so a slow client gets the latest value
of each property rather than a growing backlog.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from graphtwin.api.assets.types import MAX_WALK_DEPTH
from graphtwin.api.context import TwinInfo
from graphtwin.api.live.types import LiveValue, live_value, require_live, site_of
from graphtwin.auth.principal import Action
from graphtwin.errors import BadInput


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Values as they change: of one property (asset + property), of one "
        "asset, or of every asset under a line or site (under). With nothing given: all."
    )
    async def values(
        self,
        info: TwinInfo,
        asset: str | None = None,
        property: str | None = None,
        under: str | None = None,
    ) -> AsyncGenerator[LiveValue, None]:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ, site_of(under or asset))
        live = require_live(info)
        queries = ctx.services.twins.queries
        if property is not None and asset is None:
            raise BadInput("property needs asset", path=("asset",))
        if under is not None and asset is not None:
            raise BadInput("give asset or under, not both", path=("under",))
        if property is not None and asset is not None:
            key = (asset, queries.expand(property, what="property", path=("property",)))
            subscription = live.cache.subscribe(keys=[key])
        elif asset is not None:
            subscription = live.cache.subscribe(assets=[asset])
        elif under is not None:
            if (await queries.views([under]))[0] is None:
                raise BadInput(f"no asset <{under}>", path=("under",))
            below = (await queries.reachable([(under, "components", MAX_WALK_DEPTH)]))[0]
            subscription = live.cache.subscribe(assets=[under, *below])
        else:
            subscription = live.cache.subscribe()
        try:
            async for sample in subscription.samples():
                yield live_value(info, sample)
        finally:
            live.cache.unsubscribe(subscription)
