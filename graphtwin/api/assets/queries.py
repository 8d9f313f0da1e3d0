"""Asset queries: sites, one asset, and filtered, paginated lists."""

from __future__ import annotations

import strawberry

from graphtwin.api.assets.types import (
    Asset,
    AssetConnection,
    AssetEdge,
    PageInfo,
    PropertyFilterInput,
    load_asset,
    load_assets,
)
from graphtwin.api.context import TwinInfo
from graphtwin.auth.principal import Action
from graphtwin.twins.queries import PropertyFilter, encode_cursor


@strawberry.type
class AssetQuery:
    @strawberry.field(description="Every site.")
    async def sites(self, info: TwinInfo) -> list[Asset]:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        iris = await ctx.services.twins.queries.sites()
        return await load_assets(info, iris)

    @strawberry.field(description="One asset by IRI; null when there is none.")
    def asset(self, info: TwinInfo, iri: str) -> Asset | None:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        # From the view cache without awaiting when it has the asset (no DataLoader
        # batch, no extra turn of the event loop); else loaded.
        cached = ctx.services.twins.queries.cached_view(iri)
        if cached is not None:
            return Asset(desc=cached)
        # graphql-core awaits what a resolver returns when it is awaitable.
        return load_asset(info, iri)  # type: ignore[return-value]

    @strawberry.field(description="Assets of a class (default gt:Asset), optionally within a site.")
    async def assets(
        self,
        info: TwinInfo,
        type: str | None = None,
        site: str | None = None,
        filter: list[PropertyFilterInput] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AssetConnection:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ, site)
        page = await ctx.services.twins.queries.list_assets(
            type_=type,
            site=site,
            filters=[PropertyFilter(f.property, f.op, f.value) for f in filter or []],
            first=first,
            after=after,
        )
        assets = await load_assets(info, page.iris)
        return AssetConnection(
            edges=[AssetEdge(cursor=encode_cursor(a.desc.iri), node=a) for a in assets],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )
