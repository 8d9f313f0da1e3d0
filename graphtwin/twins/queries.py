"""Reads of the asset graph, each batched over many IRIs (for per-request DataLoaders)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import XSD

from graphtwin.errors import BadInput
from graphtwin.semantics.description import Description
from graphtwin.semantics.mapping import ResourceView
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.vocab import GT
from graphtwin.twins.repository import ResourceRepository, quote

MAX_DEPTH = 12
MAX_PAGE = 1000
_NUMERIC = {
    str(XSD[t])
    for t in ("decimal", "double", "float", "integer", "int", "long", "nonNegativeInteger")
}
_OPERATORS = {"EQ": "=", "NE": "<>", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}


@dataclass(frozen=True)
class PropertyFilter:
    property: str  # IRI or prefixed name
    op: str  # EQ, NE, LT, LTE, GT, GTE, CONTAINS
    value: str


@dataclass
class AssetPage:
    iris: list[str]
    has_next: bool
    end_cursor: str | None


def encode_cursor(iri: str) -> str:
    return base64.urlsafe_b64encode(iri.encode()).decode()


def decode_cursor(cursor: str) -> str:
    """:raises BadInput: the cursor was not made by graphtwin."""
    try:
        iri = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput("invalid cursor", path=("after",)) from exc
    # Lenient decoders turn junk into "" and restart the list: refuse anything
    # that is not exactly what encode_cursor makes.
    if not iri or encode_cursor(iri) != cursor:
        raise BadInput("invalid cursor", path=("after",))
    return iri


class TwinQueries:
    def __init__(self, repository: ResourceRepository, ontology: OntologyIndex) -> None:
        self.repository = repository
        self.ontology = ontology

    @property
    def store(self) -> Any:
        return self.repository.store

    def expand(self, name: str, *, what: str = "term", path: tuple[str, ...] = ()) -> str:
        """An IRI from an IRI or a prefixed name (``gt:Machine``).

        :raises BadInput: the prefix is unknown (``path`` names the argument).
        """
        if "://" in name or name.startswith("urn:"):
            return name
        prefix, sep, local = name.partition(":")
        namespace = self.repository.prefixes.as_dict().get(prefix)
        if not sep or namespace is None:
            raise BadInput(f"unknown {what} {name!r}: use a full IRI or a known prefix", path=path)
        return namespace + local

    def expand_class(self, name: str, *, path: tuple[str, ...] = ("type",)) -> str:
        """:raises BadInput: the name is not a class of the loaded ontologies."""
        iri = self.expand(name, what="class", path=path)
        if not self.ontology.is_class(iri):
            raise BadInput(
                f"unknown class <{iri}>: it is not defined in the loaded ontologies", path=path
            )
        return iri

    def compact_key(self, iri: str) -> str:
        return self.repository.prefixes.compact(iri)

    async def describe(self, iris: Sequence[str]) -> list[Description | None]:
        found = await self.repository.load(iris)
        return [found.get(i) for i in iris]

    async def views(self, iris: Sequence[str]) -> list[ResourceView | None]:
        found = await self.repository.load_views(iris)
        return [found.get(i) for i in iris]

    async def children(self, iris: Sequence[str]) -> list[list[ResourceView]]:
        """For each IRI, views of the resources that are directly ``partOf`` it."""
        found = await self.repository.load_child_views(iris)
        return [sorted(found.get(i, []), key=lambda v: v.iri) for i in iris]

    def cached_view(self, iri: str) -> ResourceView | None:
        """``views`` of one IRI, if the view cache can answer without a read."""
        return self.repository.cached_view(iri)

    def cached_children(self, iri: str) -> list[ResourceView] | None:
        """``children`` of one IRI, if the view cache can answer without a read."""
        return self.repository.cached_child_views(iri)  # in IRI order, as children()

    async def inbound(self, iris: Sequence[str]) -> list[list[tuple[str, str]]]:
        """For each IRI, (predicate IRI, source IRI) of the links pointing at it."""
        rows = await self.store.read(
            "UNWIND $iris AS i MATCH (n:Resource {iri: i})<-[r]-(m:Resource) "
            "RETURN i AS iri, type(r) AS t, m.iri AS source",
            {"iris": sorted(set(iris))},
        )
        by_iri: dict[str, list[tuple[str, str]]] = {}
        for row in rows:
            predicate = self.repository.prefixes.expand(str(row["t"]))
            by_iri.setdefault(row["iri"], []).append((predicate, str(row["source"])))
        return [sorted(by_iri.get(i, [])) for i in iris]

    async def reachable(self, keys: Sequence[tuple[str, str, int]]) -> list[list[str]]:
        """For (iri, walk, depth) keys: IRIs reachable by ``walk``.

        Walks: ``components`` (inbound ``partOf`` or outbound ``hasPart``),
        ``downstream`` (outbound ``feeds``), ``upstream`` (inbound ``feeds``).
        One query per distinct (walk, depth), whatever the number of IRIs.
        """
        groups: dict[tuple[str, int], set[str]] = {}
        for iri, walk, depth in keys:
            groups.setdefault((walk, depth), set()).add(iri)
        results: dict[tuple[str, str, int], list[str]] = {}
        for (walk, depth), iris in groups.items():
            rows = await self.store.read(self._walk_query(walk, depth), {"iris": sorted(iris)})
            found: dict[str, list[str]] = {i: [] for i in iris}
            for row in rows:
                found[row["iri"]] = sorted(set(row["reached"]) - {row["iri"]})
            for iri in iris:
                results[(iri, walk, depth)] = found[iri]
        return [results[k] for k in keys]

    def _walk_query(self, walk: str, depth: int) -> str:
        depth = max(1, min(depth, MAX_DEPTH))
        compact = self.repository.prefixes.compact
        if walk == "components":
            # Data asserts partOf (child -> parent); hasPart, its inverse, may be
            # asserted by imported documents, so both directions count.
            part_of, has_part = quote(compact(str(GT.partOf))), quote(compact(str(GT.hasPart)))
            return (
                "UNWIND $iris AS i MATCH (n:Resource {iri: i}) "
                f"OPTIONAL MATCH (n)<-[:{part_of}*1..{depth}]-(a:Resource) "
                f"OPTIONAL MATCH (n)-[:{has_part}*1..{depth}]->(b:Resource) "
                "RETURN i AS iri, collect(DISTINCT a.iri) + collect(DISTINCT b.iri) AS reached"
            )
        feeds = quote(compact(str(GT.feeds)))
        arrow = f"-[:{feeds}*1..{depth}]->" if walk == "downstream" else f"<-[:{feeds}*1..{depth}]-"
        return (
            "UNWIND $iris AS i MATCH (n:Resource {iri: i}) "
            f"OPTIONAL MATCH (n){arrow}(m:Resource) "
            "RETURN i AS iri, collect(DISTINCT m.iri) AS reached"
        )

    async def sites(self) -> list[str]:
        label = quote(self.repository.prefixes.compact(str(GT.Site)))
        rows = await self.store.read(f"MATCH (n:{label}) RETURN n.iri AS iri ORDER BY n.iri")
        return [str(r["iri"]) for r in rows]

    async def list_assets(
        self,
        *,
        type_: str | None = None,
        site: str | None = None,
        filters: Sequence[PropertyFilter] = (),
        first: int = 50,
        after: str | None = None,
    ) -> AssetPage:
        """A page of asset IRIs in IRI order.

        :raises BadInput: unknown class or property, bad operator or cursor, or
            ``first`` out of range.
        """
        if not 1 <= first <= MAX_PAGE:
            raise BadInput(f"first must be between 1 and {MAX_PAGE}", path=("first",))
        class_iri = self.expand_class(type_ or str(GT.Asset))
        label = quote(self.repository.prefixes.compact(class_iri))
        where: list[str] = []
        params: dict[str, Any] = {"limit": first + 1}
        match = f"MATCH (n:{label})"
        if site is not None:
            part_of = quote(self.repository.prefixes.compact(str(GT.partOf)))
            match += f"-[:{part_of}*1..{MAX_DEPTH}]->(s:Resource {{iri: $site}})"
            params["site"] = site
        if after:
            where.append("n.iri > $after")
            params["after"] = decode_cursor(after)
        for index, f in enumerate(filters):
            where.append(self._filter_clause(f, index, params))
        query = match + (" WHERE " + " AND ".join(where) if where else "")
        query += " RETURN DISTINCT n.iri AS iri ORDER BY iri LIMIT $limit"
        rows = await self.store.read(query, params)
        iris = [str(r["iri"]) for r in rows]
        has_next = len(iris) > first
        iris = iris[:first]
        return AssetPage(iris, has_next, encode_cursor(iris[-1]) if iris else None)

    def _filter_clause(self, f: PropertyFilter, index: int, params: dict[str, Any]) -> str:
        prop_iri = self.expand(f.property, what="property")
        key = quote(self.repository.prefixes.compact(prop_iri))
        name = f"v{index}"
        declared = self.ontology.datatype_of(prop_iri)
        value: Any = f.value
        if declared in _NUMERIC:
            try:
                value = float(f.value)
            except ValueError as exc:
                raise BadInput(
                    f"filter on {f.property} needs a number, got {f.value!r}", path=("filter",)
                ) from exc
        params[name] = value
        op = f.op.upper()
        if op == "CONTAINS":
            return f"toString(n.{key}) CONTAINS ${name}"
        if op not in _OPERATORS:
            raise BadInput(f"unknown filter operator {f.op!r}", path=("filter", "op"))
        return f"n.{key} {_OPERATORS[op]} ${name}"
