"""GraphQL types of Asset Administration Shells: shells, submodels, their elements."""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder
from strawberry.scalars import JSON

from graphtwin.aas.environment import element_path
from graphtwin.aas.references import reference_text, walk_elements
from graphtwin.aas.service import AasService, ShellEntry
from graphtwin.aas.vocab import Kind
from graphtwin.api.context import TwinInfo
from graphtwin.errors import SourceUnavailable

if TYPE_CHECKING:
    from graphtwin.api.assets.types import Asset


@strawberry.enum(description="AAS serializations graphtwin reads and writes (AAS v3.0).")
class AasFormat(enum.Enum):
    AASX = "aasx"
    JSON = "json"
    XML = "xml"


def require_aas(info: TwinInfo) -> AasService:
    """:raises SourceUnavailable: this server runs without the AAS service."""
    service = info.context.services.aas
    if service is None:
        raise SourceUnavailable("Asset Administration Shells are not served by this server")
    return service


def document(obj: object) -> JSON:
    """The AAS JSON of a basyx object."""
    return JSON(json.loads(json.dumps(obj, cls=AASToJsonEncoder)))


def _semantic(obj: model.HasSemantics) -> str | None:
    ref = obj.semantic_id
    return ref.key[0].value if ref is not None and ref.key else None


def _value(element: model.SubmodelElement) -> Any:
    if isinstance(element, model.Property):
        return None if element.value is None else model.datatypes.xsd_repr(element.value)
    if isinstance(element, model.MultiLanguageProperty):
        return dict(element.value) if element.value is not None else None
    if isinstance(element, model.Range):
        return {
            side: None if v is None else model.datatypes.xsd_repr(v)
            for side, v in (("min", element.min), ("max", element.max))
        }
    if isinstance(element, model.File):
        return {"contentType": element.content_type, "value": element.value}
    if isinstance(element, model.Blob):
        return {"contentType": element.content_type}
    if isinstance(element, model.ReferenceElement):
        return reference_text(element.value) if element.value is not None else None
    if isinstance(element, model.Entity):
        return {"entityType": element.entity_type.name, "globalAssetId": element.global_asset_id}
    return None


@strawberry.type(description="A submodel element, anywhere in its submodel's tree.")
class AasElement:
    path: str = strawberry.field(description="idShort path: Coll.Child, List[0]")
    id_short: str | None
    model_type: str
    semantic_id: str | None
    value_type: str | None
    value: JSON | None = strawberry.field(
        description="Property: the value as text; MultiLanguageProperty: {language: text}; "
        "Range: {min, max}; File: {contentType, value}; ReferenceElement: its keys; "
        "Entity: {entityType, globalAssetId}; otherwise null."
    )
    bound_property: str | None = strawberry.field(
        description="The ontology property of the described asset this Property shows "
        "(set when its semanticId names one); bind that property to feed it live."
    )


@strawberry.type(description="A submodel (AAS v3.0).")
class AasSubmodel:
    obj: strawberry.Private[model.Submodel]
    iri: str | None = strawberry.field(description="The twin-graph resource; null if generated")
    generated: bool = strawberry.field(description="Generated from the graph, not stored")

    @strawberry.field
    def id(self) -> str:
        return self.obj.id

    @strawberry.field
    def id_short(self) -> str | None:
        return str(self.obj.id_short) if self.obj.id_short else None

    @strawberry.field(description="The first key of the semanticId (IRI or IRDI).")
    def semantic_id(self) -> str | None:
        return _semantic(self.obj)

    @strawberry.field(description="Every submodel element, depth first.")
    def elements(self, info: TwinInfo) -> list[AasElement]:
        service = info.context.services.aas
        out: list[AasElement] = []
        for element in walk_elements(self.obj):
            path = element_path(element)
            key = service.live_key(self.obj.id, path) if service and not self.generated else None
            value_type = getattr(element, "value_type", None)
            out.append(
                AasElement(
                    path=path,
                    id_short=element.id_short,
                    model_type=type(element).__name__,
                    semantic_id=_semantic(element),
                    value_type=model.datatypes.XSD_TYPE_NAMES.get(value_type)
                    if value_type
                    else None,
                    value=_value(element),
                    bound_property=key[1] if key else None,
                )
            )
        return out

    @strawberry.field(description="The submodel's AAS JSON (v3.0), bound values current.")
    def json(self) -> JSON:
        return document(self.obj)


@strawberry.type(description="A specificAssetId of a shell's asset information.")
class AasSpecificAssetId:
    name: str
    value: str


@strawberry.type(description="An Asset Administration Shell (AAS v3.0).")
class AasShell:
    entry: strawberry.Private[ShellEntry]

    @strawberry.field
    def id(self) -> str:
        return self.entry.shell.id

    @strawberry.field
    def id_short(self) -> str | None:
        id_short = self.entry.shell.id_short
        return str(id_short) if id_short else None

    @strawberry.field(description="The twin-graph resource; null for a generated shell.")
    def iri(self) -> str | None:
        return self.entry.iri

    @strawberry.field(
        description="True for a shell generated from the asset's nameplate data (Digital "
        "Nameplate, Technical Data) because none is stored."
    )
    def generated(self) -> bool:
        return self.entry.generated

    @strawberry.field
    def global_asset_id(self) -> str | None:
        global_id: str | None = self.entry.shell.asset_information.global_asset_id
        return global_id

    @strawberry.field
    def specific_asset_ids(self) -> list[AasSpecificAssetId]:
        ids = self.entry.shell.asset_information.specific_asset_id
        return [AasSpecificAssetId(name=s.name, value=s.value) for s in ids]

    @strawberry.field(description="The asset of the twin this shell describes.")
    async def asset(
        self, info: TwinInfo
    ) -> Annotated[Asset, strawberry.lazy("graphtwin.api.assets.types")] | None:
        from graphtwin.api.assets.types import load_asset

        return await load_asset(info, self.entry.asset) if self.entry.asset else None

    @strawberry.field
    def submodels(self, info: TwinInfo) -> list[AasSubmodel]:
        return [
            submodel_view(info, s, generated=self.entry.generated) for s in self.entry.submodels
        ]

    @strawberry.field(description="The shell's AAS JSON (v3.0).")
    def json(self) -> JSON:
        return document(self.entry.shell)


def submodel_view(info: TwinInfo, obj: model.Submodel, *, generated: bool = False) -> AasSubmodel:
    service = info.context.services.aas
    iri = None if generated or service is None else service.records.iri(Kind.SUBMODEL, obj.id)
    return AasSubmodel(obj=obj, iri=iri, generated=generated)


def submodel_views(info: TwinInfo, entry: ShellEntry) -> list[AasSubmodel]:
    return [submodel_view(info, s, generated=entry.generated) for s in entry.submodels]


async def shells_of(info: TwinInfo, asset: str) -> list[AasShell]:
    # Through the request's loader: a list of assets costs a few round trips, not
    # a few per asset.
    return [AasShell(entry=e) for e in await info.context.loaders.shells.load(asset)]


async def submodels_of(info: TwinInfo, asset: str) -> list[AasSubmodel]:
    return [s for shell in await shells_of(info, asset) for s in submodel_views(info, shell.entry)]
