"""Stored AAS identifiables: reading the resources of the twin graph that hold them.

One resource per shell, submodel and concept description (see
ontologies/graphtwin-aas.ttl); its IRI is computed from the AAS id, so lookups by
id need no query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rdflib import Literal

from graphtwin.aas.vocab import AAS_ID, GTAAS, Kind, resource_iri
from graphtwin.semantics.description import Description
from graphtwin.twins.service import TwinService

_DOCUMENT = str(GTAAS.document)
_FILES = str(GTAAS.files)
_SUBMODEL = str(GTAAS.submodel)
_DESCRIBES = str(GTAAS.describes)


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
    """Reads AAS resources through the twin repository."""

    def __init__(self, twins: TwinService, base: str) -> None:
        self.twins = twins
        self.base = base

    def iri(self, kind: Kind, id_: str) -> str:
        return resource_iri(self.base, kind, id_)

    async def load(self, iris: Iterable[str]) -> dict[str, AasRecord]:
        found = await self.twins.repository.load(iris)
        records = {}
        for iri, desc in found.items():
            record = AasRecord.from_description(desc)
            if record is not None:
                records[iri] = record
        return records

    async def by_ids(self, kind: Kind, ids: Iterable[str]) -> dict[str, AasRecord]:
        """Stored identifiables of ``kind`` by AAS id."""
        records = await self.load(self.iri(kind, i) for i in set(ids))
        return {r.id: r for r in records.values() if r.kind is kind}

    async def all(self, kind: Kind) -> list[AasRecord]:
        """Every stored identifiable of ``kind``, ordered by AAS id."""
        iris = await self.twins.repository.iris_with_class(kind.class_iri)
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
        inbound = await self.twins.queries.inbound(wanted)
        users: dict[str, list[str]] = {}
        for submodel, links in zip(wanted, inbound, strict=True):
            users[submodel] = [s for p, s in links if p == _SUBMODEL]
        records = await self.load({s for shells in users.values() for s in shells})
        return {
            sm: sorted((records[s] for s in shells if s in records), key=lambda r: r.id)
            for sm, shells in users.items()
        }
