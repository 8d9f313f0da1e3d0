"""AAS queries: shells and submodels, and an export as base64."""

from __future__ import annotations

import base64

import strawberry

from graphtwin.api.aas.types import (
    AasFormat,
    AasShell,
    AasSubmodel,
    require_aas,
    shells_of,
    submodel_view,
)
from graphtwin.api.context import TwinInfo
from graphtwin.auth.principal import Action


@strawberry.type
class AasQuery:
    @strawberry.field(
        description="Stored shells, by id; with `asset`, the shells describing that asset "
        "(a machine without one gets the shell generated from its nameplate data)."
    )
    async def aas_shells(self, info: TwinInfo, asset: str | None = None) -> list[AasShell]:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        service = require_aas(info)
        if asset is not None:
            return await shells_of(info, asset)
        return [AasShell(entry=e) for e in await service.shell_entries()]

    @strawberry.field(description="One stored shell by its AAS id; null when there is none.")
    async def aas_shell(self, info: TwinInfo, id: str) -> AasShell | None:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        entries = await require_aas(info).shell_entries([id])
        return AasShell(entry=entries[0]) if entries else None

    @strawberry.field(description="One stored submodel by its AAS id; null when there is none.")
    async def aas_submodel(self, info: TwinInfo, id: str) -> AasSubmodel | None:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        submodel = await require_aas(info).submodel(id)
        return submodel_view(info, submodel) if submodel is not None else None

    @strawberry.field(
        description="An asset (site, line, machine, ...) and its parts as an AAS "
        "environment, base64-encoded (AASX by default)."
    )
    async def aas_export(self, info: TwinInfo, iri: str, format: AasFormat = AasFormat.AASX) -> str:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ)
        data = await require_aas(info).export(iri, format.value)
        return base64.b64encode(data).decode("ascii")
