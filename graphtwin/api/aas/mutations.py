"""AAS mutations: import an environment (AASX, JSON or XML) as one validated write."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import strawberry

from graphtwin.aas.importer import AasImportResult
from graphtwin.api.aas.types import AasFormat, require_aas
from graphtwin.api.context import TwinInfo
from graphtwin.api.errors import (
    BadInputError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ShapeViolationError,
    UnavailableError,
    to_result,
)
from graphtwin.auth.principal import Action
from graphtwin.errors import BadInput, TwinError


@strawberry.input(description="The asset a shell of the document describes.")
class AasLinkInput:
    shell_id: str
    asset: str


@strawberry.type(description="A shell linked to an asset, and how it was matched.")
class AasLink:
    shell_id: str
    asset: str
    by: str = strawberry.field(description="link, globalAssetId, serialNumber or kept")


@strawberry.type(description="A shell imported without a link to an asset.")
class AasUnlinked:
    shell_id: str
    reason: str


@strawberry.type(description="What an AAS import wrote.")
class AasImportSummary:
    shells: list[str]
    submodels: list[str]
    concept_descriptions: list[str]
    unchanged: list[str] = strawberry.field(
        description="Concept descriptions already stored with the same content"
    )
    linked: list[AasLink]
    unlinked: list[AasUnlinked]
    files: int = strawberry.field(description="Supplementary files stored")
    created: list[str] = strawberry.field(description="IRIs of the resources created")
    updated: list[str]


def summary(result: AasImportResult) -> AasImportSummary:
    return AasImportSummary(
        shells=result.shells,
        submodels=result.submodels,
        concept_descriptions=result.concept_descriptions,
        unchanged=result.unchanged,
        linked=[
            AasLink(shell_id=shell_id, asset=m.asset, by=m.by)
            for shell_id, m in sorted(result.linked.items())
        ],
        unlinked=[
            AasUnlinked(shell_id=shell_id, reason=why)
            for shell_id, why in sorted(result.unlinked.items())
        ],
        files=result.files,
        created=result.write.created,
        updated=result.write.updated,
    )


AasImportOutcome = Annotated[
    AasImportSummary
    | BadInputError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | UnavailableError
    | ShapeViolationError,
    strawberry.union("AasImportOutcome"),
]


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInput(f"data is not base64: {exc}", path=("data",)) from exc


@strawberry.type
class AasMutation:
    @strawberry.mutation(
        description="Import an AAS v3.0 environment (base64 of an AASX package, JSON or XML "
        "document) as one atomic, SHACL-validated write. Shells are linked to assets by "
        "`link`, else by globalAssetId or serial number; `replace` overwrites stored ids."
    )
    async def import_aas(
        self,
        info: TwinInfo,
        data: str,
        format: AasFormat,
        link: list[AasLinkInput] | None = None,
        replace: bool = False,
    ) -> AasImportOutcome:
        ctx = info.context
        try:
            ctx.services.authorizer.require(ctx.principal, Action.WRITE)
            result = await require_aas(info).import_bytes(
                _decode(data),
                format.value,
                link={item.shell_id: item.asset for item in link or []},
                replace=replace,
            )
        except TwinError as error:
            return to_result(error)
        ctx.loaders.description.clear_all()
        ctx.loaders.inbound.clear_all()
        ctx.loaders.reachable.clear_all()
        ctx.loaders.shells.clear_all()
        return summary(result)
