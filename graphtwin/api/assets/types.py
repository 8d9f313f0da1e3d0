"""GraphQL types of assets. Every field that reaches the graph goes through a loader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from rdflib import RDFS
from strawberry.scalars import JSON

from graphtwin.api.completion import SharedRecords
from graphtwin.api.context import TwinInfo
from graphtwin.semantics.mapping import ResourceView, ValueView
from graphtwin.semantics.vocab import GT

if TYPE_CHECKING:
    from graphtwin.api.aas.types import AasShell, AasSubmodel
    from graphtwin.api.live.types import Binding, LiveValue
    from graphtwin.api.ontology.types import OntologyClass

_LIVE = "graphtwin.api.live.types"
_AAS = "graphtwin.api.aas.types"

MAX_WALK_DEPTH = 12
_LABEL = str(RDFS.label)
_HAS_PART = str(GT.hasPart)
# Lists of named properties kept per view (one per distinct list of names).
_NAMED_SELECTIONS = 8


def _by_text(value: ValueView) -> tuple[str, str]:
    return (value.lexical, value.language or "")


@strawberry.type(description="A unit of measure (QUDT).")
class Unit:
    iri: str
    symbol: str | None
    label: str | None


@strawberry.type(description="A language-tagged or plain text value.")
class Text:
    value: str
    language: str | None


@strawberry.type(description="One value of a datatype property.")
class PropertyValue:
    property: str = strawberry.field(description="IRI of the property")
    name: str = strawberry.field(description="Prefixed name, e.g. gt:temperature")
    label: str | None
    value: str = strawberry.field(description="Lexical form of the literal")
    datatype: str | None
    language: str | None
    unit: Unit | None
    asset_iri: strawberry.Private[str] = ""

    @strawberry.field(description="The live value when the property is bound to a source.")
    def live(self, info: TwinInfo) -> Annotated[LiveValue, strawberry.lazy(_LIVE)] | None:
        return _live_value(info, self.asset_iri, self.property)


def _live_value(info: TwinInfo, asset: str, prop: str) -> LiveValue | None:
    from graphtwin.api.live.types import live_value

    live = info.context.services.live
    sample = live.value((asset, prop)) if live is not None else None
    return live_value(info, sample) if sample is not None else None


@strawberry.type(description="A link to another asset.")
class Relationship:
    predicate: str
    name: str
    direction: str = strawberry.field(description="OUT (this asset is the subject) or IN")
    asset_iri: str

    @strawberry.field(description="The asset at the other end.")
    async def asset(self, info: TwinInfo) -> Asset | None:
        return await load_asset(info, self.asset_iri)


@strawberry.type(description="A reference to an IRI outside the asset graph (a vocabulary term).")
class Reference:
    predicate: str
    name: str
    iri: str


def curie(info: TwinInfo, iri: str) -> str:
    prefixes = info.context.services.twins.repository.prefixes
    compact = prefixes.compact(iri)
    prefix, _, local = compact.partition("__")
    return f"{prefix}:{local}" if local else iri


def pick_text(values: list[ValueView], language: str | None) -> str | None:
    if not values:
        return None
    ordered = sorted(values, key=lambda v: (v.language or "", v.lexical))
    for wanted in (language, None, "en"):
        for value in ordered:
            if value.language == wanted:
                return value.lexical
    return ordered[0].lexical


async def load_asset(info: TwinInfo, iri: str) -> Asset | None:
    desc = await info.context.loaders.description.load(iri)
    return Asset(desc=desc) if desc is not None else None


async def load_assets(info: TwinInfo, iris: list[str]) -> list[Asset]:
    found = await info.context.loaders.description.load_many(iris)
    return [Asset(desc=d) for d in found if d is not None]


@strawberry.type(description="A twin: a site, area, line, station, machine, component or sensor.")
class Asset:
    desc: strawberry.Private[ResourceView]

    @strawberry.field
    def iri(self) -> str:
        return self.desc.iri

    @strawberry.field(description="rdfs:label in the given language (else plain, else English).")
    def label(self, language: str | None = None) -> str | None:
        return pick_text(self.desc.values.get(_LABEL, []), language)

    @strawberry.field(description="Every rdfs:label with its language.")
    def labels(self) -> list[Text]:
        values = self.desc.values.get(_LABEL, [])
        return [Text(value=v.lexical, language=v.language) for v in sorted(values, key=_by_text)]

    @strawberry.field(description="Asserted classes.")
    def types(
        self, info: TwinInfo
    ) -> list[Annotated[OntologyClass, strawberry.lazy("graphtwin.api.ontology.types")]]:
        from graphtwin.api.ontology.types import class_view

        ontology = info.context.services.ontology
        return [class_view(ontology, t) for t in sorted(self.desc.types)]

    @strawberry.field(description="True if the asset is an instance of the class or a subclass.")
    def is_a(self, info: TwinInfo, class_iri: str) -> bool:
        twins = info.context.services.twins
        wanted = twins.queries.expand(class_iri, what="class")
        ontology = info.context.services.ontology
        return any(wanted in ontology.ancestors(t) for t in self.desc.types)

    @strawberry.field(description="Datatype property values (all, or those named).")
    def properties(self, info: TwinInfo, names: list[str] | None = None) -> list[PropertyValue]:
        # Built once per view and selection of names: a cached view serves many
        # requests. Read-only after (SharedRecords also keeps its completed form).
        derived = self.desc.derived
        key = ("properties", tuple(names) if names else None)
        found: list[PropertyValue] | None = derived.get(key)
        if found is not None:
            return found
        everything: list[PropertyValue] | None = derived.get(("properties", None))
        if everything is None:
            everything = SharedRecords(
                self._value(info, predicate, value)
                for predicate in sorted(self.desc.values)
                if predicate != _LABEL
                for value in sorted(self.desc.values[predicate], key=_by_text)
            )
            derived[("properties", None)] = everything
        if not names:
            return everything
        twins = info.context.services.twins
        wanted = {twins.queries.expand(n, what="property") for n in names}
        found = SharedRecords(p for p in everything if p.property in wanted)
        named = [k for k in derived if isinstance(k, tuple) and k[0] == "properties" and k[1]]
        if len(named) >= _NAMED_SELECTIONS:
            for k in named:  # bounded: a client cannot grow a cached view without end
                del derived[k]
        derived[key] = found
        return found

    @strawberry.field(
        description="Datatype property values as one JSON object keyed by prefixed name "
        "(numbers and booleans as JSON values, a list where a property has several): "
        "the cheap way to read many properties of many assets."
    )
    def property_map(self, info: TwinInfo, names: list[str] | None = None) -> JSON:
        twins = info.context.services.twins
        wanted = {twins.queries.expand(n, what="property") for n in names} if names else None
        out: dict[str, object] = {}
        for predicate, values in self.desc.values.items():
            if predicate == _LABEL or (wanted is not None and predicate not in wanted):
                continue
            natives = [v.native for v in sorted(values, key=_by_text)]
            out[curie(info, predicate)] = natives[0] if len(natives) == 1 else natives
        return JSON(out)

    @strawberry.field(description="The value of one property (the first, if it has several).")
    def property(self, info: TwinInfo, name: str) -> PropertyValue | None:
        values = self.properties(info, [name])
        return values[0] if values else None

    @strawberry.field(
        description="Current value of a bound property from the live cache "
        "(value, unit, source and server time, quality); null when it is not bound."
    )
    def value(
        self, info: TwinInfo, property: str
    ) -> Annotated[LiveValue, strawberry.lazy(_LIVE)] | None:
        prop = info.context.services.twins.queries.expand(property, what="property")
        return _live_value(info, self.desc.iri, prop)

    @strawberry.field(description="Current values of all bound properties of this asset.")
    def values(self, info: TwinInfo) -> list[Annotated[LiveValue, strawberry.lazy(_LIVE)]]:
        live = info.context.services.live
        if live is None:
            return []
        found = [
            _live_value(info, self.desc.iri, b.key[1]) for b in live.bindings_of(self.desc.iri)
        ]
        return [v for v in found if v is not None]

    @strawberry.field(
        description="Bindings feeding this asset's properties (where values come from)."
    )
    def bindings(self, info: TwinInfo) -> list[Annotated[Binding, strawberry.lazy(_LIVE)]]:
        from graphtwin.api.live.types import binding_view

        live = info.context.services.live
        if live is None:
            return []
        return [binding_view(live, b) for b in live.bindings_of(self.desc.iri)]

    @strawberry.field(
        description="Asset Administration Shells describing this asset; a machine without "
        "a stored one gets the shell generated from its nameplate data (Digital Nameplate, "
        "Technical Data)."
    )
    async def shells(self, info: TwinInfo) -> list[Annotated[AasShell, strawberry.lazy(_AAS)]]:
        from graphtwin.api.aas.types import shells_of

        return await shells_of(info, self.desc.iri)

    @strawberry.field(description="The submodels of this asset's shells.")
    async def submodels(
        self, info: TwinInfo
    ) -> list[Annotated[AasSubmodel, strawberry.lazy(_AAS)]]:
        from graphtwin.api.aas.types import submodels_of

        return await submodels_of(info, self.desc.iri)

    def _value(self, info: TwinInfo, predicate: str, value: ValueView) -> PropertyValue:
        ontology = info.context.services.ontology
        meta = ontology.properties.get(predicate)
        unit = ontology.unit_of(predicate)
        return PropertyValue(
            property=predicate,
            name=curie(info, predicate),
            label=meta.label if meta else None,
            value=value.lexical,
            datatype=value.datatype,
            language=value.language,
            unit=Unit(iri=unit.iri, symbol=unit.symbol, label=unit.label) if unit else None,
            asset_iri=self.desc.iri,
        )

    @strawberry.field(description="References to vocabulary terms or external IRIs.")
    def references(self, info: TwinInfo) -> list[Reference]:
        return [
            Reference(predicate=p, name=curie(info, p), iri=o)
            for p in sorted(self.desc.refs)
            for o in sorted(self.desc.refs[p])
        ]

    @strawberry.field(description="Links to other assets, outgoing and/or incoming.")
    async def relationships(
        self, info: TwinInfo, predicate: str | None = None, direction: str | None = None
    ) -> list[Relationship]:
        twins = info.context.services.twins
        wanted = twins.queries.expand(predicate, what="property") if predicate else None
        out: list[Relationship] = []
        if direction in (None, "OUT"):
            for p in sorted(self.desc.links):
                if wanted is None or p == wanted:
                    out += [
                        Relationship(predicate=p, name=curie(info, p), direction="OUT", asset_iri=o)
                        for o in sorted(self.desc.links[p])
                    ]
        if direction in (None, "IN"):
            for p, source in await info.context.loaders.inbound.load(self.desc.iri):
                if wanted is None or p == wanted:
                    out.append(
                        Relationship(
                            predicate=p, name=curie(info, p), direction="IN", asset_iri=source
                        )
                    )
        return out

    @strawberry.field(description="The asset this one is part of (gt:partOf).")
    async def parent(self, info: TwinInfo) -> Asset | None:
        parents = self.desc.links.get(str(GT.partOf), [])
        return await load_asset(info, parents[0]) if parents else None

    @strawberry.field(description="Direct parts (inverse of gt:partOf).")
    def parts(self, info: TwinInfo) -> list[Asset]:
        # From the view cache without awaiting when it knows them: a walk down a
        # plant then costs no coroutine per asset. hasPart may be asserted the
        # other way round by imported documents; those are loaded.
        cached = info.context.services.twins.queries.cached_children(self.desc.iri)
        if cached is not None and not self._asserted_parts({v.iri for v in cached}):
            return [Asset(desc=view) for view in cached]
        # graphql-core awaits what a resolver returns when it is awaitable.
        return self._loaded_parts(info)  # type: ignore[return-value]

    def _asserted_parts(self, known: set[str]) -> list[str]:
        return [i for i in self.desc.links.get(_HAS_PART, ()) if i not in known]

    async def _loaded_parts(self, info: TwinInfo) -> list[Asset]:
        children = await info.context.loaders.children.load(self.desc.iri)
        parts = [Asset(desc=view) for view in children]
        extra = self._asserted_parts({view.iri for view in children})
        return parts + await load_assets(info, extra)

    @strawberry.field(description="All parts, transitively along gt:hasPart/gt:partOf.")
    async def components(self, info: TwinInfo, depth: int = MAX_WALK_DEPTH) -> list[Asset]:
        iris = await info.context.loaders.reachable.load((self.desc.iri, "components", depth))
        return await load_assets(info, iris)

    @strawberry.field(description="Stations or buffers downstream along the material flow.")
    async def downstream(self, info: TwinInfo, depth: int = 1) -> list[Asset]:
        iris = await info.context.loaders.reachable.load((self.desc.iri, "downstream", depth))
        return await load_assets(info, iris)

    @strawberry.field(description="Stations or buffers upstream along the material flow.")
    async def upstream(self, info: TwinInfo, depth: int = 1) -> list[Asset]:
        iris = await info.context.loaders.reachable.load((self.desc.iri, "upstream", depth))
        return await load_assets(info, iris)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class AssetEdge:
    cursor: str
    node: Asset


@strawberry.type(description="A page of assets in IRI order (Relay-style cursor pagination).")
class AssetConnection:
    edges: list[AssetEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Asset]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="A condition on a datatype property's value.")
class PropertyFilterInput:
    property: str
    op: str = strawberry.field(default="EQ", description="EQ, NE, LT, LTE, GT, GTE or CONTAINS")
    value: str = ""
