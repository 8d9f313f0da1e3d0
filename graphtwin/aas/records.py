"""Stored AAS identifiables: reading the resources of the twin graph that hold them.

One resource per shell, submodel and concept description (see
ontologies/graphtwin-aas.ttl); its IRI is computed from the AAS id, so lookups by
id need no query.

What is read is kept until a write changes it, so a repeated read of an unchanged
submodel makes no round trip to the graph engine. Every write of the twin graph
but one goes through ``ChangeWriter``, whose commit listener (``AasService``)
calls ``invalidate`` with the IRIs of the committed plan:

- records (shells, submodels, concept descriptions, or the absence of one) are
  kept by IRI and forgotten when their IRI is in ``plan.after`` or
  ``plan.deleted``; a record is its resource's own description (document, files,
  outbound ``submodel``/``describes`` links), so nothing else changes it;
- the derived lookups (which shells use a submodel, the IRIs of a class) depend
  on other resources' links and types, and are dropped on every commit;
- asset descriptions (the graph values of bound Properties) are kept by IRI too.
  The one write that bypasses the writer is the live flush
  (``ResourceRepository.write_values``), and it writes only properties that are
  live-bound *and* have a value in the live cache (``LiveRuntime.flush`` skips
  keys without a binding and samples without a value; ingest never produces a
  sample without a value), which the reader shows instead of the graph value. A
  flushed value can only surface after the live cache forgets the key, i.e.
  after its binding is removed or changed -- a write through the writer that
  also drops every kept asset description (``invalidate(..., bindings=True)``);
  and the reader re-reads an asset whose property it served live before but no
  longer can (``AasReader``), which covers the live runtime forgetting the key
  in its own commit listener after ours ran.

A read that started before a commit does not store what it read (a generation
counter), so an invalidation cannot be undone by a slow read. Between the graph
commit and the listener (inside ``ChangeWriter.apply``, before it returns) a
read may still see the previous state, as a read concurrent with the write.
The cache assumes this process is the only writer of the graph, as the writer's
serialization already does.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from rdflib import Literal

from graphtwin.aas.vocab import AAS_ID, GTAAS, Kind, resource_iri
from graphtwin.semantics.description import Description
from graphtwin.twins.service import TwinService

_DOCUMENT = str(GTAAS.document)
_FILES = str(GTAAS.files)
_SUBMODEL = str(GTAAS.submodel)
_DESCRIBES = str(GTAAS.describes)

V = TypeVar("V")


@dataclass(frozen=True)
class StoredFile:
    """A supplementary file an identifiable uses: its digest in the file store."""

    sha256: str
    content_type: str


def files_literal(files: Mapping[str, StoredFile]) -> Literal:
    table = {path: {"sha256": f.sha256, "contentType": f.content_type} for path, f in files.items()}
    return Literal(json.dumps(table, sort_keys=True, separators=(",", ":")))


@dataclass
class AasRecord:
    iri: str
    kind: Kind
    id: str
    document: str
    files: dict[str, StoredFile] = field(default_factory=dict)
    # Shells only: IRIs of the linked submodels, and the asset described.
    submodels: list[str] = field(default_factory=list)
    describes: str | None = None

    @classmethod
    def from_description(cls, desc: Description) -> AasRecord | None:
        kind = next((k for k in Kind if k.class_iri in desc.types), None)
        document = _one(desc, _DOCUMENT)
        if kind is None or document is None:
            return None
        files_text = _one(desc, _FILES)
        table = json.loads(files_text) if files_text else {}
        describes = sorted(desc.links.get(_DESCRIBES, ()))
        return cls(
            iri=desc.iri,
            kind=kind,
            id=_one(desc, str(AAS_ID)) or "",
            document=document,
            files={p: StoredFile(f["sha256"], f["contentType"]) for p, f in table.items()},
            submodels=sorted(desc.links.get(_SUBMODEL, ())),
            describes=describes[0] if describes else None,
        )


def _one(desc: Description, predicate: str) -> str | None:
    values = desc.literals.get(predicate)
    return str(min(values)) if values else None


class AasRecords:
    """Reads AAS resources through the twin repository, kept until a write changes them."""

    def __init__(self, twins: TwinService, base: str, *, size: int = 50_000) -> None:
        self.twins = twins
        self.base = base
        self.size = size
        self._generation = 0
        self._records: dict[str, AasRecord | None] = {}
        self._assets: dict[str, Description | None] = {}
        self._users: dict[str, list[str]] = {}
        self._class_iris: dict[Kind, list[str]] = {}

    # -- the cache ------------------------------------------------------------------
    def invalidate(self, iris: Iterable[str], *, bindings: bool = False) -> None:
        """Forget what a committed write changed: the resources ``iris`` and every
        derived lookup; with ``bindings`` (the write touched a live binding or
        deleted resources), every kept asset description too."""
        self._generation += 1
        for iri in iris:
            self._records.pop(iri, None)
            self._assets.pop(iri, None)
        if bindings:
            self._assets.clear()
        self._users.clear()
        self._class_iris.clear()

    def clear(self) -> None:
        self.invalidate((), bindings=True)
        self._records.clear()

    def _keep(self, table: dict[str, V], found: Mapping[str, V], generation: int) -> None:
        """Store what a read started at ``generation`` found, unless a commit came since."""
        if generation != self._generation:
            return
        if len(table) + len(found) > self.size:
            table.clear()
        table.update(found)

    def iri(self, kind: Kind, id_: str) -> str:
        return resource_iri(self.base, kind, id_)

    async def load(self, iris: Iterable[str], *, fresh: bool = False) -> dict[str, AasRecord]:
        """The stored identifiables among ``iris``, by IRI. The records are shared:
        do not change them. ``fresh`` reads them from the graph (what a write
        decides on)."""
        wanted = set(iris)
        kept = {} if fresh else {i: self._records[i] for i in wanted if i in self._records}
        missing = wanted - kept.keys()
        if missing:
            generation = self._generation
            found = await self.twins.repository.load(missing)
            read = {
                i: AasRecord.from_description(found[i]) if i in found else None for i in missing
            }
            self._keep(self._records, read, generation)
            kept.update(read)
        return {i: r for i, r in kept.items() if r is not None}

    async def assets(
        self, iris: Iterable[str], *, fresh: Collection[str] = ()
    ) -> dict[str, Description]:
        """Descriptions of the resources ``iris`` (those that exist), read again from
        the graph for those in ``fresh``. Shared: do not change them."""
        wanted = set(iris)
        kept = {i: self._assets[i] for i in wanted if i in self._assets and i not in fresh}
        missing = wanted - kept.keys()
        if missing:
            generation = self._generation
            found = await self.twins.repository.load(missing)
            loaded = {i: found.get(i) for i in missing}
            self._keep(self._assets, loaded, generation)
            kept.update(loaded)
        return {i: d for i, d in kept.items() if d is not None}

    async def by_ids(self, kind: Kind, ids: Iterable[str]) -> dict[str, AasRecord]:
        """Stored identifiables of ``kind`` by AAS id."""
        records = await self.load(self.iri(kind, i) for i in set(ids))
        return {r.id: r for r in records.values() if r.kind is kind}

    async def all(self, kind: Kind) -> list[AasRecord]:
        """Every stored identifiable of ``kind``, ordered by AAS id."""
        iris = self._class_iris.get(kind)
        if iris is None:
            generation = self._generation
            iris = await self.twins.repository.iris_with_class(kind.class_iri)
            if generation == self._generation:
                self._class_iris[kind] = iris
        records = await self.load(iris)
        return sorted((r for r in records.values() if r.kind is kind), key=lambda r: r.id)

    async def shells_describing(self, assets: Iterable[str]) -> dict[str, list[AasRecord]]:
        """For each asset IRI, the stored shells that describe it (by shell id)."""
        wanted = sorted(set(assets))
        inbound = await self.twins.queries.inbound(wanted)
        by_shell: dict[str, list[str]] = {}
        for asset, links in zip(wanted, inbound, strict=True):
            for predicate, source in links:
                if predicate == _DESCRIBES:
                    by_shell.setdefault(source, []).append(asset)
        records = await self.load(by_shell)
        out: dict[str, list[AasRecord]] = {a: [] for a in wanted}
        for iri, record in records.items():
            for asset in by_shell[iri]:
                out[asset].append(record)
        return {a: sorted(rs, key=lambda r: r.id) for a, rs in out.items()}

    async def shells_using(self, submodels: Iterable[str]) -> dict[str, list[AasRecord]]:
        """For each submodel IRI, the stored shells that reference it."""
        wanted = sorted(set(submodels))
        users = {s: self._users[s] for s in wanted if s in self._users}
        missing = [s for s in wanted if s not in users]
        if missing:
            generation = self._generation
            inbound = await self.twins.queries.inbound(missing)
            found = {
                submodel: [s for p, s in links if p == _SUBMODEL]
                for submodel, links in zip(missing, inbound, strict=True)
            }
            self._keep(self._users, found, generation)
            users.update(found)
        records = await self.load({s for shells in users.values() for s in shells})
        return {
            sm: sorted((records[s] for s in shells if s in records), key=lambda r: r.id)
            for sm, shells in users.items()
        }
