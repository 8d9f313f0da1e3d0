"""Descriptions in and out of the property graph, in batched Cypher.

Every method costs a fixed number of round trips whatever the number of IRIs:
IRIs travel as one list parameter and are ``UNWIND``-ed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from graphtwin.graph.port import GraphStore, Statement
from graphtwin.semantics.description import Description
from graphtwin.semantics.mapping import GraphMapping, LinkRecord, NodeRecord, ResourceView
from graphtwin.semantics.prefixes import PrefixTable
from graphtwin.semantics.vocab import GT
from graphtwin.twins.view_cache import ViewCache

PREFIX_LABEL = "GraphtwinPrefix"
# Deep enough for site > area > line > station > machine > component > sensor.
MAX_ANCESTRY = 12
BATCH = 2000

_LOAD = """
UNWIND $iris AS i
MATCH (n:Resource {iri: i})
OPTIONAL MATCH (n)-[r]->(m:Resource)
RETURN n.iri AS iri, properties(n) AS props, collect({t: type(r), o: m.iri}) AS links
"""


def _link_pairs(row: dict[str, Any]) -> list[tuple[str, str]]:
    # OPTIONAL MATCH with no relationship yields one {t: null, o: null} entry.
    return [(str(x["t"]), str(x["o"])) for x in row["links"] if x.get("t") and x.get("o")]


def quote(name: str) -> str:
    """A label, type or key as a Cypher identifier (backticks doubled inside)."""
    return "`" + name.replace("`", "``") + "`"


def chunks(rows: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@dataclass
class WritePlan:
    """The final state of changed resources, against what was stored before."""

    before: dict[str, Description] = field(default_factory=dict)
    after: dict[str, Description] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


class ResourceRepository:
    def __init__(
        self, store: GraphStore, mapping: GraphMapping, *, view_cache: ViewCache | None = None
    ) -> None:
        self.store = store
        self.mapping = mapping
        # Shared read-only views; only when every graph write goes through here.
        self.view_cache = view_cache

    @property
    def prefixes(self) -> PrefixTable:
        return self.mapping.prefixes

    async def load_prefixes(self) -> None:
        """Add the prefixes stored in the graph to the mapping's table."""
        rows = await self.store.read(
            f"MATCH (p:{PREFIX_LABEL}) RETURN p.prefix AS prefix, p.namespace AS namespace"
        )
        for row in rows:
            self.prefixes.adopt_stored(str(row["prefix"]), str(row["namespace"]))
        # Defaults in use are written with the next write, so compact names stay
        # readable even if the ontologies' prefixes change later.
        self.prefixes.mark_all_pending({str(row["prefix"]) for row in rows})

    async def load(self, iris: Iterable[str]) -> dict[str, Description]:
        wanted = sorted(set(iris))
        if not wanted:
            return {}
        rows = await self.store.read(_LOAD, {"iris": wanted})
        return {row["iri"]: self.description_from_row(row) for row in rows}

    def description_from_row(self, row: dict[str, Any]) -> Description:
        return self.mapping.from_node(row["props"], _link_pairs(row))

    async def load_views(self, iris: Iterable[str]) -> dict[str, ResourceView]:
        """Like ``load``, as read-only views (what GraphQL reads use); from the view
        cache where it has them."""
        wanted = sorted(set(iris))
        if not wanted:
            return {}
        cache = self.view_cache
        if cache is None:
            return await self._read_views(wanted)
        found, missing = cache.lookup(wanted)
        if missing:
            generation = cache.generation
            loaded = await self._read_views(missing)
            cache.keep(loaded, generation)
            found.update(loaded)
        return found

    async def _read_views(self, wanted: list[str]) -> dict[str, ResourceView]:
        rows = await self.store.read(_LOAD, {"iris": wanted})
        return {row["iri"]: self.mapping.view(row["props"], _link_pairs(row)) for row in rows}

    @asynccontextmanager
    async def _writing(self, iris: Iterable[str] | None = None) -> AsyncIterator[None]:
        """Around a graph write: cached views it may change are dropped before it
        starts and after it ends, committed or not (see ``ViewCache``)."""
        cache = self.view_cache
        touched = None if iris is None else list(iris)
        if cache is not None:
            cache.drop(touched)
        try:
            yield
        finally:
            if cache is not None:
                cache.drop(touched)

    async def load_child_views(self, iris: Iterable[str]) -> dict[str, list[ResourceView]]:
        """Views of the resources that are ``partOf`` each IRI, in one round trip
        (none when the view cache knows the children and holds their views)."""
        wanted = sorted(set(iris))
        if not wanted:
            return {}
        cache = self.view_cache
        if cache is None:
            return await self._read_child_views(wanted)
        known, missing = cache.children(wanted)
        views = await self.load_views(iri for kids in known.values() for iri in kids)
        children = {
            parent: [views[k] for k in kids if k in views] for parent, kids in known.items()
        }
        if missing:
            generation = cache.generation
            loaded = await self._read_child_views(missing)
            kids_of = {p: sorted(v.iri for v in loaded.get(p, [])) for p in missing}
            cache.keep({v.iri: v for vs in loaded.values() for v in vs}, generation)
            cache.keep_children(kids_of, generation)
            children.update(loaded)
        return {parent: kids for parent, kids in children.items() if kids}

    def cached_view(self, iri: str) -> ResourceView | None:
        """``load_views`` for one IRI without awaiting, when the view cache has it."""
        cache = self.view_cache
        return cache.view(iri) if cache is not None else None

    def cached_child_views(self, iri: str) -> list[ResourceView] | None:
        """``load_child_views`` for one IRI without awaiting, when the view cache
        holds the answer (a resolver can then skip the DataLoader); by IRI."""
        cache = self.view_cache
        return cache.cached_children(iri) if cache is not None else None

    async def _read_child_views(self, wanted: list[str]) -> dict[str, list[ResourceView]]:
        part_of = quote(self.prefixes.compact(str(GT.partOf)))
        rows = await self.store.read(
            f"UNWIND $iris AS i MATCH (:Resource {{iri: i}})<-[:{part_of}]-(n:Resource) "
            "OPTIONAL MATCH (n)-[r]->(m:Resource) "
            "RETURN i AS parent, n.iri AS iri, properties(n) AS props, "
            "collect({t: type(r), o: m.iri}) AS links",
            {"iris": wanted},
        )
        children: dict[str, list[ResourceView]] = {}
        for row in rows:
            view = self.mapping.view(row["props"], _link_pairs(row))
            children.setdefault(str(row["parent"]), []).append(view)
        return children

    async def existing(self, iris: Iterable[str]) -> set[str]:
        wanted = sorted(set(iris))
        if not wanted:
            return set()
        rows = await self.store.read(
            "UNWIND $iris AS i MATCH (n:Resource {iri: i}) RETURN n.iri AS iri", {"iris": wanted}
        )
        return {str(r["iri"]) for r in rows}

    async def neighbours(self, iris: Iterable[str]) -> set[str]:
        """IRIs one link away (either direction) and every ``partOf`` ancestor."""
        wanted = sorted(set(iris))
        if not wanted:
            return set()
        adjacent = await self.store.read(
            "UNWIND $iris AS i MATCH (n:Resource {iri: i})--(m:Resource) "
            "RETURN DISTINCT m.iri AS iri",
            {"iris": wanted},
        )
        part_of = quote(self.prefixes.compact(str(GT.partOf)))
        ancestors = await self.store.read(
            f"UNWIND $iris AS i MATCH (n:Resource {{iri: i}})-[:{part_of}*1..{MAX_ANCESTRY}]->"
            "(a:Resource) RETURN DISTINCT a.iri AS iri",
            {"iris": wanted},
        )
        return {str(r["iri"]) for r in adjacent + ancestors}

    # -- writing ---------------------------------------------------------------
    async def inbound_links(self, iris: Iterable[str]) -> list[LinkRecord]:
        """Stored relationships pointing at ``iris``, from resources outside them."""
        wanted = sorted(set(iris))
        if not wanted:
            return []
        rows = await self.store.read(
            "UNWIND $iris AS i MATCH (n:Resource {iri: i})<-[r]-(m:Resource) "
            "WHERE NOT m.iri IN $iris RETURN m.iri AS s, type(r) AS t, i AS o",
            {"iris": wanted},
        )
        return [LinkRecord(str(r["s"]), str(r["t"]), str(r["o"])) for r in rows]

    def statements(
        self, plan: WritePlan, kept_inbound: Sequence[LinkRecord] = ()
    ) -> list[Statement]:
        """Cypher that turns the stored state of ``plan.before`` into ``plan.after``.

        ``kept_inbound`` are the stored links into resources that must be re-created
        (see ``relabelled``); they are put back after the re-creation.
        """
        statements: list[Statement] = []
        recreated = self.relabelled(plan)
        doomed = sorted(plan.deleted | recreated)
        for batch in chunks(doomed):
            statements.append(
                (
                    "UNWIND $iris AS i MATCH (n:Resource {iri: i}) DETACH DELETE n",
                    {"iris": list(batch)},
                )
            )
        created: list[NodeRecord] = []
        updated: list[NodeRecord] = []
        add_links: list[LinkRecord] = []
        drop_links: list[LinkRecord] = []
        for iri, desc in plan.after.items():
            rows = self.mapping.to_rows(desc)
            old = plan.before.get(iri)
            if old is None or iri in recreated:
                created.append(rows.node)
                add_links.extend(rows.links)
                continue
            updated.append(rows.node)
            new_links = {(link.type, link.target) for link in rows.links}
            old_links = {(link.type, link.target) for link in self.mapping.to_rows(old).links}
            add_links += [LinkRecord(iri, t, o) for t, o in sorted(new_links - old_links)]
            drop_links += [LinkRecord(iri, t, o) for t, o in sorted(old_links - new_links)]
        add_links += [link for link in kept_inbound if link.source not in plan.after]
        statements += self._create_statements(created)
        statements += self._update_statements(updated)
        statements += self._link_statements(drop_links, "DELETE")
        statements += self._link_statements(add_links, "CREATE")
        # Last: compacting the rows above may have minted prefixes.
        return self._prefix_statements(self.prefixes.pending()) + statements

    def relabelled(self, plan: WritePlan) -> set[str]:
        """Stored resources whose labels change.

        ArcadeDB keeps labels as the record's type and re-creates the record to
        change them, which its unique index then refuses; so such nodes are deleted
        and created again (with their links) in the same transaction, on both engines.
        """
        changed: set[str] = set()
        for iri, desc in plan.after.items():
            old = plan.before.get(iri)
            if old is not None and self.mapping.labels_for(old.types) != self.mapping.labels_for(
                desc.types
            ):
                changed.add(iri)
        return changed

    def _prefix_statements(self, new_prefixes: dict[str, str]) -> list[Statement]:
        if not new_prefixes:
            return []
        rows = [{"prefix": p, "namespace": ns} for p, ns in sorted(new_prefixes.items())]
        return [
            (
                f"UNWIND $rows AS r MERGE (p:{PREFIX_LABEL} {{prefix: r.prefix}}) "
                "SET p.namespace = r.namespace",
                {"rows": rows},
            )
        ]

    def _create_statements(self, created: list[NodeRecord]) -> list[Statement]:
        # Nodes are created with all their labels at once (ArcadeDB cannot add a
        # label inside a batched MERGE), one statement per label set.
        by_labels: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for node in created:
            by_labels.setdefault(tuple(node.labels), []).append(node.props)
        out: list[Statement] = []
        for labels, props in sorted(by_labels.items()):
            label_text = ":".join(quote(label) for label in labels)
            for batch in chunks(props):
                out.append(
                    (f"UNWIND $rows AS r CREATE (n:{label_text}) SET n = r", {"rows": list(batch)})
                )
        return out

    def _update_statements(self, updated: list[NodeRecord]) -> list[Statement]:
        return [
            (
                "UNWIND $rows AS r MATCH (n:Resource {iri: r.iri}) SET n = r",
                {"rows": list(batch)},
            )
            for batch in chunks([node.props for node in updated])
        ]

    def _link_statements(self, links: list[LinkRecord], verb: str) -> list[Statement]:
        by_type: dict[str, list[dict[str, str]]] = {}
        for link in links:
            by_type.setdefault(link.type, []).append({"s": link.source, "o": link.target})
        out: list[Statement] = []
        for rel_type, rows in sorted(by_type.items()):
            for batch in chunks(rows):
                if verb == "CREATE":
                    query = (
                        "UNWIND $rows AS r MATCH (a:Resource {iri: r.s}) "
                        f"MATCH (b:Resource {{iri: r.o}}) CREATE (a)-[:{quote(rel_type)}]->(b)"
                    )
                else:
                    query = (
                        f"UNWIND $rows AS r MATCH (a:Resource {{iri: r.s}})-[x:{quote(rel_type)}]->"
                        "(b:Resource {iri: r.o}) DELETE x"
                    )
                out.append((query, {"rows": list(batch)}))
        return out

    async def write(self, plan: WritePlan) -> None:
        pending = self.prefixes.pending()
        kept_inbound = await self.inbound_links(self.relabelled(plan))
        statements = self.statements(plan, kept_inbound)
        if statements:
            # Edits reach other resources' views too (relationships to a
            # deleted resource go with it): drop them all.
            async with self._writing():
                await self.store.write(statements)
            self.prefixes.persisted(self.prefixes.pending() | pending)

    # -- live values ------------------------------------------------------------
    async def iris_with_class(self, class_iri: str) -> list[str]:
        """IRIs of the stored resources of a class (or a subclass), in order."""
        label = quote(self.prefixes.compact(class_iri))
        rows = await self.store.read(f"MATCH (n:{label}) RETURN n.iri AS iri ORDER BY iri")
        return [str(r["iri"]) for r in rows]

    async def write_values(self, values: Sequence[tuple[str, str, Any]]) -> None:
        """Set (asset IRI, property IRI, native value) in one transaction.

        The live flush's write: one ``UNWIND`` per property, never a statement per
        value, and no SHACL: live values are measurements already coerced to the
        property's datatype, not edits of the twin. Assets that are gone are skipped.
        """
        by_key: dict[str, list[dict[str, Any]]] = {}
        for iri, predicate, value in values:
            by_key.setdefault(self.prefixes.compact(predicate), []).append({"iri": iri, "v": value})
        statements: list[Statement] = self._prefix_statements(self.prefixes.pending())
        for key, rows in sorted(by_key.items()):
            for batch in chunks(rows):
                statements.append(
                    (
                        "UNWIND $rows AS r MATCH (n:Resource {iri: r.iri}) "
                        f"SET n.{quote(key)} = r.v",
                        {"rows": list(batch)},
                    )
                )
        if statements:
            pending = self.prefixes.pending()
            # Only properties of these assets change.
            async with self._writing({iri for iri, _, _ in values}):
                await self.store.write(statements)
            self.prefixes.persisted(pending)

    async def drop_exact_forms(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Forget the exact literal forms (``_lits``) kept for (asset, property) pairs.

        A live value replaces whatever literal was imported; a kept exact form would
        otherwise shadow it on reads and exports.
        """
        keys: dict[str, set[str]] = {}
        for iri, predicate in pairs:
            keys.setdefault(iri, set()).add(self.prefixes.compact(predicate))
        if not keys:
            return
        rows = await self.store.read(
            "UNWIND $iris AS i MATCH (n:Resource {iri: i}) WHERE n._lits IS NOT NULL "
            "RETURN n.iri AS iri, n._lits AS lits",
            {"iris": sorted(keys)},
        )
        updates = []
        for row in rows:
            exact = json.loads(row["lits"])
            if not keys[row["iri"]] & set(exact):
                continue
            for key in keys[row["iri"]]:
                exact.pop(key, None)
            updates.append({"iri": row["iri"], "lits": json.dumps(exact) if exact else None})
        if updates:
            async with self._writing(u["iri"] for u in updates):
                await self.store.write(
                    [
                        (
                            "UNWIND $rows AS r MATCH (n:Resource {iri: r.iri}) "
                            "SET n._lits = r.lits",
                            {"rows": updates},
                        )
                    ]
                )
