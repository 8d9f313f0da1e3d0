"""Importing an AAS environment: checks, then one change set through the twin writer.

Everything that can be refused is refused before anything is written: ids that
are taken (unless ``replace``), dangling model references, bad links. The
identifiables then become resources (graphtwin.aas.vocab, docs/aas.md) in one
``ChangeWriter.apply``: SHACL-validated and atomic like every write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model
from basyx.aas.util import traversal
from rdflib import RDF, Literal, URIRef

from graphtwin.aas.cache import DecodedCache
from graphtwin.aas.codec import to_document
from graphtwin.aas.environment import Environment, name_of
from graphtwin.aas.files import FileStore
from graphtwin.aas.matching import Match, ShellMatcher
from graphtwin.aas.package import is_package_path
from graphtwin.aas.records import AasRecord, AasRecords, StoredFile, files_literal
from graphtwin.aas.references import KIND_OF_KEY, model_references, reference_text
from graphtwin.aas.vocab import AAS_ID, AAS_ID_SHORT, GTAAS, Kind
from graphtwin.errors import BadInput, Conflict
from graphtwin.semantics.changeset import ChangeSet
from graphtwin.semantics.description import Triple
from graphtwin.twins.writer import WriteResult


@dataclass
class AasImportResult:
    shells: list[str] = field(default_factory=list)
    submodels: list[str] = field(default_factory=list)
    concept_descriptions: list[str] = field(default_factory=list)
    # Concept descriptions already stored with the very same content (not rewritten).
    unchanged: list[str] = field(default_factory=list)
    # Shell id -> the asset it describes, and how it was matched.
    linked: dict[str, Match] = field(default_factory=dict)
    # Shell id -> why no asset was linked.
    unlinked: dict[str, str] = field(default_factory=dict)
    files: int = 0
    write: WriteResult = field(default_factory=WriteResult)


def files_used(obj: model.Identifiable, env: Environment) -> list[str]:
    """Package paths of ``env.files`` that File elements or the thumbnail refer to
    (File elements found the way basyx's AASX reader and writer find them)."""
    paths: list[str | None] = []
    if isinstance(obj, model.Submodel):
        paths = [e.value for e in traversal.walk_submodel(obj) if isinstance(e, model.File)]
    elif isinstance(obj, model.AssetAdministrationShell):
        thumbnail = obj.asset_information.default_thumbnail
        paths = [thumbnail.path if thumbnail is not None else None]
    return sorted({p for p in paths if p and is_package_path(p) and p in env.files})


def semantic_text(obj: model.Identifiable) -> str | None:
    ref = obj.semantic_id if isinstance(obj, model.HasSemantics) else None
    return ref.key[0].value if ref is not None and ref.key else None


class AasImporter:
    def __init__(self, records: AasRecords, files: FileStore, cache: DecodedCache) -> None:
        self.records = records
        self.twins = records.twins
        self.files = files
        self.cache = cache
        self.matcher = ShellMatcher(records.twins)
        # One AAS import at a time: a failed import removes the files it added,
        # which must not be files a concurrent import relies on.
        self._lock = asyncio.Lock()

    async def run(
        self, env: Environment, *, link: Mapping[str, str] | None = None, replace: bool = False
    ) -> AasImportResult:
        """Import ``env`` as one write.

        :raises BadInput: nothing to import, a dangling model reference, a bad
            link, or the write's own checks (see ``ChangeWriter.apply``).
        :raises Conflict: an id is already stored and ``replace`` is not set.
        :raises ShapeViolation: the shapes refuse the result.
        """
        if not any(True for _ in env.identifiables()):
            raise BadInput("the document holds no shells, submodels or concept descriptions")
        async with self._lock:
            return await self._run(env, dict(link or {}), replace)

    async def _run(self, env: Environment, link: dict[str, str], replace: bool) -> AasImportResult:
        result = AasImportResult()
        # Ids are unique within the environment (checked when it was read).
        iris = {obj.id: self.records.iri(Kind.of(obj), obj.id) for obj in env.identifiables()}
        documents = {obj.id: to_document(obj) for obj in env.identifiables()}
        stored = await self.records.load(iris.values(), fresh=True)  # decides the write
        writing: list[model.Identifiable] = []
        for obj in env.identifiables():
            old = stored.get(iris[obj.id])
            if old is None:
                writing.append(obj)
            elif old.kind is Kind.CONCEPT_DESCRIPTION and old.document == documents[obj.id]:
                # Concept descriptions are shared dictionaries: the same one again is fine.
                result.unchanged.append(obj.id)
            elif replace:
                writing.append(obj)
            else:
                raise Conflict(
                    f"{name_of(obj)} is already stored; import with replace to overwrite it, "
                    "nothing was written",
                    path=(obj.id,),
                )
        await self._check_references(env, writing)
        previous = {
            shell.id: old.describes
            for shell in env.shells
            if (old := stored.get(iris[shell.id])) is not None and old.describes is not None
        }
        result.linked, result.unlinked = await self.matcher.match(env.shells, link, previous)

        added: list[str] = []
        try:
            tables = {obj.id: self._store_files(obj, env, added) for obj in writing}
            change = ChangeSet(
                replace={iris[o.id] for o in writing if iris[o.id] in stored},
                must_not_exist={iris[o.id] for o in writing if iris[o.id] not in stored},
            )
            for obj in writing:
                change.add += self._triples(
                    obj, iris[obj.id], documents[obj.id], tables[obj.id], result
                )
            result.write = await self.twins.writer.apply(change)
        except BaseException:
            for digest in added:
                self.files.discard(digest)
            raise
        result.files = len({f.sha256 for table in tables.values() for f in table.values()})
        lists = {
            Kind.SHELL: result.shells,
            Kind.SUBMODEL: result.submodels,
            Kind.CONCEPT_DESCRIPTION: result.concept_descriptions,
        }
        for obj in writing:
            kind = Kind.of(obj)
            lists[kind].append(obj.id)
            match = result.linked.get(obj.id)
            record = AasRecord(
                iris[obj.id],
                kind,
                obj.id,
                documents[obj.id],
                tables[obj.id],
                submodels=self._submodel_iris(obj),
                describes=match.asset if match else None,
            )
            self.cache.put(record, obj)  # the next read needs no decoding
        return result

    def _store_files(
        self, obj: model.Identifiable, env: Environment, added: list[str]
    ) -> dict[str, StoredFile]:
        """Put the files ``obj`` uses into the file store; new digests go to ``added``."""
        table = {}
        for path in files_used(obj, env):
            found = env.files[path]
            digest, new = self.files.put(found.data)
            if new:
                added.append(digest)
            table[path] = StoredFile(digest, found.content_type)
        return table

    def _submodel_iris(self, obj: model.Identifiable) -> list[str]:
        if not isinstance(obj, model.AssetAdministrationShell):
            return []
        return sorted(self.records.iri(Kind.SUBMODEL, ref.key[0].value) for ref in obj.submodel)

    def _triples(
        self,
        obj: model.Identifiable,
        iri: str,
        document: str,
        files: dict[str, StoredFile],
        result: AasImportResult,
    ) -> list[Triple]:
        subject = URIRef(iri)
        triples: list[Triple] = [
            (subject, RDF.type, URIRef(Kind.of(obj).class_iri)),
            (subject, AAS_ID, Literal(obj.id)),
            (subject, GTAAS.document, Literal(document)),
        ]
        if obj.id_short:
            triples.append((subject, AAS_ID_SHORT, Literal(obj.id_short)))
        semantic = semantic_text(obj)
        if semantic:
            triples.append((subject, GTAAS.semanticId, Literal(semantic)))
        if files:
            triples.append((subject, GTAAS.files, files_literal(files)))
        if isinstance(obj, model.AssetAdministrationShell):
            global_id = obj.asset_information.global_asset_id
            if global_id:
                triples.append((subject, GTAAS.globalAssetId, Literal(global_id)))
            for target in self._submodel_iris(obj):
                triples.append((subject, GTAAS.submodel, URIRef(target)))
            match = result.linked.get(obj.id)
            if match is not None:
                triples.append((subject, GTAAS.describes, URIRef(match.asset)))
        return triples

    async def _check_references(self, env: Environment, writing: list[model.Identifiable]) -> None:
        """:raises BadInput: a model reference names an identifiable that is neither in
        the document nor stored, or an element of the document that does not exist."""
        in_document = {(Kind.of(o), o.id) for o in env.identifiables()}
        store = env.store()
        elsewhere: list[tuple[model.Identifiable, str, model.ModelReference[Any], str]] = []
        for obj in writing:
            for where, ref in model_references(obj):
                kind = KIND_OF_KEY.get(ref.key[0].type)
                if kind is None:
                    continue
                if (kind, ref.key[0].value) not in in_document:
                    elsewhere.append((obj, where, ref, self.records.iri(kind, ref.key[0].value)))
                    continue
                if len(ref.key) > 1:
                    try:
                        ref.resolve(store)
                    except (KeyError, TypeError, ValueError, IndexError) as exc:
                        raise BadInput(
                            f"{name_of(obj)}, {where}: dangling reference to "
                            f"{reference_text(ref)} ({exc}); nothing was written",
                            path=(obj.id,),
                        ) from exc
        existing = await self.twins.repository.existing(e[3] for e in elsewhere)
        for obj, where, ref, iri in elsewhere:
            if iri not in existing:
                raise BadInput(
                    f"{name_of(obj)}, {where}: dangling reference to {reference_text(ref)}, "
                    "which is neither in the document nor stored; nothing was written",
                    path=(obj.id,),
                )
