"""Asset mutations. Each is atomic and SHACL-validated; expected failures come back
as typed results (see ``graphtwin.api.errors``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from graphtwin.api.assets.types import Asset, load_asset
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
from graphtwin.errors import TwinError
from graphtwin.twins.service import PropertyInput
from graphtwin.twins.writer import WriteResult


@strawberry.input(description="A property value; typed by the property's range unless given.")
class PropertyValueInput:
    property: str
    value: str
    datatype: str | None = None
    language: str | None = None


@strawberry.type(description="What a write changed.")
class WriteSummary:
    created: list[str]
    updated: list[str]
    deleted: list[str]
    triples_added: int
    triples_removed: int
    focus_iri: strawberry.Private[str | None] = None

    @strawberry.field(description="The asset the mutation was about, as it is now.")
    async def asset(self, info: TwinInfo) -> Asset | None:
        return await load_asset(info, self.focus_iri) if self.focus_iri else None


WriteOutcome = Annotated[
    WriteSummary
    | BadInputError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | UnavailableError
    | ShapeViolationError,
    strawberry.union("WriteOutcome"),
]


def _inputs(values: list[PropertyValueInput] | None) -> list[PropertyInput]:
    return [PropertyInput(v.property, v.value, v.datatype, v.language) for v in values or []]


async def run_write(
    info: TwinInfo, focus: str | None, write: Callable[[], Awaitable[WriteResult]]
) -> WriteOutcome:
    ctx = info.context
    try:
        ctx.services.authorizer.require(ctx.principal, Action.WRITE)
        result = await write()
    except TwinError as error:
        return to_result(error)
    # Reads later in this request must see the write, not the loaders' caches. All
    # of them: a write also changes the inbound links and walks of unchanged assets
    # (and ``DataLoader.clear`` raises KeyError for a key that was never loaded).
    ctx.loaders.description.clear_all()
    ctx.loaders.inbound.clear_all()
    ctx.loaders.reachable.clear_all()
    ctx.loaders.children.clear_all()
    return WriteSummary(
        created=result.created,
        updated=result.updated,
        deleted=result.deleted,
        triples_added=result.triples_added,
        triples_removed=result.triples_removed,
        focus_iri=focus,
    )


@strawberry.type
class AssetMutation:
    @strawberry.mutation(description="Create an asset of a class, optionally part of a parent.")
    async def create_asset(
        self,
        info: TwinInfo,
        iri: str,
        type: str,
        label: str | None = None,
        part_of: str | None = None,
        properties: list[PropertyValueInput] | None = None,
    ) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(
            info,
            iri,
            lambda: twins.create_asset(
                iri, type, label=label, part_of=part_of, properties=_inputs(properties)
            ),
        )

    @strawberry.mutation(description="Replace an asset's label, class or given property values.")
    async def update_asset(
        self,
        info: TwinInfo,
        iri: str,
        label: str | None = None,
        type: str | None = None,
        properties: list[PropertyValueInput] | None = None,
    ) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(
            info,
            iri,
            lambda: twins.update_asset(
                iri, label=label, type_=type, properties=_inputs(properties)
            ),
        )

    @strawberry.mutation(description="Delete an asset (with cascade: and all its components).")
    async def delete_asset(self, info: TwinInfo, iri: str, cascade: bool = False) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(info, None, lambda: twins.delete_asset(iri, cascade=cascade))

    @strawberry.mutation(description="Set a datatype property, replacing its values.")
    async def set_property(
        self,
        info: TwinInfo,
        iri: str,
        property: str,
        value: str,
        datatype: str | None = None,
        language: str | None = None,
    ) -> WriteOutcome:
        twins = info.context.services.twins
        prop = PropertyInput(property, value, datatype, language)
        return await run_write(info, iri, lambda: twins.set_property(iri, prop))

    @strawberry.mutation(description="Remove every value of a datatype property.")
    async def remove_property(self, info: TwinInfo, iri: str, property: str) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(info, iri, lambda: twins.remove_property(iri, property))

    @strawberry.mutation(description="Link two assets by an object property (e.g. gt:feeds).")
    async def link(self, info: TwinInfo, source: str, predicate: str, target: str) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(info, source, lambda: twins.link(source, predicate, target))

    @strawberry.mutation(description="Remove a link between two assets.")
    async def unlink(
        self, info: TwinInfo, source: str, predicate: str, target: str
    ) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(info, source, lambda: twins.unlink(source, predicate, target))

    @strawberry.mutation(
        description="Import an RDF document (turtle, json-ld, n-triples); replace: the "
        "document's subjects lose their stored statements first."
    )
    async def import_rdf(
        self, info: TwinInfo, document: str, format: str = "turtle", replace: bool = False
    ) -> WriteOutcome:
        twins = info.context.services.twins
        return await run_write(
            info, None, lambda: twins.import_document(document, format, replace=replace)
        )
