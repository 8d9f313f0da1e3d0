"""The AAS service: import and export of AAS v3.0 environments, and the read model
(``graphtwin.aas.port.AasReadModel``) the AAS REST API and GraphQL serve from.

Shells, submodels and concept descriptions are resources of the twin graph
(docs/aas.md); every import is one validated write through the twin writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from basyx.aas import model

from graphtwin.aas.cache import DecodedCache
from graphtwin.aas.codec import read_json, read_xml, write_json, write_xml
from graphtwin.aas.environment import Environment
from graphtwin.aas.exporter import AasExporter
from graphtwin.aas.files import FileStore
from graphtwin.aas.importer import AasImporter, AasImportResult
from graphtwin.aas.overlay import LiveValues
from graphtwin.aas.package import read_aasx, unpacked_size, write_aasx
from graphtwin.aas.reading import AasReader
from graphtwin.aas.records import AasRecord, AasRecords
from graphtwin.aas.vocab import Kind
from graphtwin.config import Settings
from graphtwin.errors import BadInput, NotFound, PayloadTooLarge
from graphtwin.semantics.vocab import GTB
from graphtwin.twins.repository import WritePlan
from graphtwin.twins.service import TwinService
from graphtwin.values import PropertyKey

FORMATS = ("aasx", "json", "xml")
# An AASX may unpack to this many times the upload limit (zip bombs stop here).
UNPACK_FACTOR = 10
# A document this large (unpacked) holds enough identifiables for the writer to
# validate them in its SHACL worker pool; the workers are started before parsing.
PRESTART_BYTES = 512 * 1024


def normalize_format(name: str) -> str:
    """:raises BadInput: not aasx, json or xml."""
    fmt = name.strip().lower().lstrip(".")
    if fmt not in FORMATS:
        raise BadInput(f"unknown AAS format {name!r}: use aasx, json or xml", path=("format",))
    return fmt


def format_for_filename(name: str) -> str:
    """:raises BadInput: the suffix is not .aasx, .json or .xml."""
    return normalize_format(PurePath(name).suffix or name)


@dataclass
class ShellEntry:
    """A shell of an asset, as GraphQL shows it: stored, or generated from the graph."""

    shell: model.AssetAdministrationShell
    submodels: list[model.Submodel]
    asset: str | None
    iri: str | None = None  # the resource, for a stored shell
    generated: bool = False
    concept_descriptions: list[model.ConceptDescription] = field(default_factory=list)


class AasService:
    def __init__(
        self,
        twins: TwinService,
        *,
        base: str,
        files: FileStore,
        max_upload_bytes: int,
    ) -> None:
        self.twins = twins
        self.records = AasRecords(twins, base)
        self.files = files
        self.max_upload_bytes = max_upload_bytes
        self.cache = DecodedCache(self._is_datatype_property)
        self.reader = AasReader(self.records, self.cache)
        self.importer = AasImporter(self.records, files, self.cache)
        self.exporter = AasExporter(self.reader, files)
        # Every write of the twin graph that can change what the AAS reads goes
        # through the writer (the live flush aside: graphtwin.aas.records).
        twins.writer.commit_listeners.append(self.on_commit)

    async def on_commit(self, plan: WritePlan) -> None:
        """Forget the records and asset values a committed write changed."""
        binding = str(GTB.Binding)
        ontology = self.twins.ontology
        bindings = bool(plan.deleted) or any(
            binding in ontology.ancestors(t)
            for d in (*plan.after.values(), *plan.before.values())
            for t in d.types
        )
        self.records.invalidate([*plan.after, *plan.deleted], bindings=bindings)

    @classmethod
    def from_settings(cls, twins: TwinService, settings: Settings) -> AasService:
        """Identifiables live under the first data namespace, supplementary files in
        ``<data dir>/aas-files``."""
        return cls(
            twins,
            base=settings.namespaces[0],
            files=FileStore(settings.data_dir / "aas-files"),
            max_upload_bytes=settings.max_upload_bytes,
        )

    def _is_datatype_property(self, iri: str) -> bool:
        meta = self.twins.ontology.properties.get(iri)
        return meta is not None and meta.kind == "datatype"

    @property
    def live(self) -> LiveValues | None:
        return self.reader.live

    @live.setter
    def live(self, values: LiveValues | None) -> None:
        """Attach the live runtime: bound Properties then show live values."""
        self.reader.live = values

    # -- AasReadModel ---------------------------------------------------------------
    async def _all(self, kind: Kind) -> list[model.Identifiable]:
        return [d.obj for d in await self.reader.decoded(await self.records.all(kind))]

    async def _one(self, kind: Kind, id_: str) -> model.Identifiable | None:
        record = (await self.records.by_ids(kind, [id_])).get(id_)
        if record is None:
            return None
        (decoded,) = await self.reader.decoded([record])
        return decoded.obj

    async def shells(self) -> list[model.AssetAdministrationShell]:
        """Every stored shell, by id. The objects are shared: do not change them."""
        return await self._all(Kind.SHELL)  # type: ignore[return-value]

    async def shell(self, id_: str) -> model.AssetAdministrationShell | None:
        return await self._one(Kind.SHELL, id_)  # type: ignore[return-value]

    async def submodels(self) -> list[model.Submodel]:
        """Every stored submodel, by id, bound Properties current."""
        return await self._all(Kind.SUBMODEL)  # type: ignore[return-value]

    async def submodel(self, id_: str) -> model.Submodel | None:
        return await self._one(Kind.SUBMODEL, id_)  # type: ignore[return-value]

    async def concept_descriptions(self) -> list[model.ConceptDescription]:
        return await self._all(Kind.CONCEPT_DESCRIPTION)  # type: ignore[return-value]

    async def supplementary_file(self, owner_id: str, path: str) -> tuple[bytes, str] | None:
        """The bytes and content type of a file a stored shell or submodel carries
        (a thumbnail, the target of a File element), as the REST API serves them."""
        for kind in (Kind.SHELL, Kind.SUBMODEL):
            record = (await self.records.by_ids(kind, [owner_id])).get(owner_id)
            if record is None:
                continue
            stored = record.files.get(path)
            if stored is None:
                return None
            try:
                return self.files.get(stored.sha256), stored.content_type
            except (OSError, NotFound):
                return None
        return None

    def live_key(self, submodel_id: str, id_short_path: str) -> PropertyKey | None:
        """The (asset, property) feeding a bound Property of a submodel read before."""
        return self.reader.live_key(submodel_id, id_short_path)

    # -- the graph side ---------------------------------------------------------------
    async def shell_entries(self, ids: Iterable[str] | None = None) -> list[ShellEntry]:
        """Stored shells (all, or those with these ids) with their submodels, by id.

        :raises BadInput: a stored document does not decode.
        """
        if ids is None:
            records = await self.records.all(Kind.SHELL)
        else:
            found = await self.records.by_ids(Kind.SHELL, ids)
            records = sorted(found.values(), key=lambda r: r.id)
        return await self._entries(records)

    async def _entries(self, records: list[AasRecord]) -> list[ShellEntry]:
        shells = await self.reader.decoded(records)
        submodel_records = await self.records.load(s for r in records for s in r.submodels)
        decoded = await self.reader.decoded(sorted(submodel_records.values(), key=lambda r: r.id))
        submodels = {d.record.iri: d.obj for d in decoded}
        return [
            ShellEntry(
                shell.obj,  # type: ignore[arg-type]
                [submodels[i] for i in shell.record.submodels if i in submodels],  # type: ignore[misc]
                shell.record.describes,
                iri=shell.record.iri,
            )
            for shell in shells
        ]

    async def shells_of(self, asset: str, *, generate: bool = True) -> list[ShellEntry]:
        """The shells describing ``asset``; with ``generate``, a machine without a
        stored shell gets the one generated from its nameplate data.

        :raises BadInput: a stored document does not decode.
        """
        return (await self.shells_of_many([asset], generate=generate))[asset]

    async def shells_of_many(
        self, assets: Sequence[str], *, generate: bool = True
    ) -> dict[str, list[ShellEntry]]:
        """``shells_of`` for many assets in a fixed number of round trips (GraphQL
        lists of assets go through a DataLoader to this)."""
        stored = await self.records.shells_describing(assets)
        out: dict[str, list[ShellEntry]] = {}
        for asset in assets:
            out[asset] = await self._entries(stored.get(asset, []))
        bare = [a for a in assets if not out[a]]
        if not generate or not bare:
            return out
        for asset, desc in zip(bare, await self.twins.queries.describe(bare), strict=True):
            made = self.exporter.generated(desc) if desc is not None else None
            if made is not None:
                out[asset] = [
                    ShellEntry(
                        made.shell,
                        made.submodels,
                        asset,
                        generated=True,
                        concept_descriptions=made.concept_descriptions,
                    )
                ]
        return out

    async def asset_of(self, shell_id: str) -> str | None:
        record = (await self.records.by_ids(Kind.SHELL, [shell_id])).get(shell_id)
        return record.describes if record is not None else None

    # -- import and export ------------------------------------------------------------
    def read(self, data: bytes, fmt: str) -> Environment:
        """Parse an AAS document (``aasx``, ``json`` or ``xml``) without storing it.

        :raises BadInput: the document is malformed (the message names the part,
            identifiable or element). :raises PayloadTooLarge: over the upload limit.
        """
        fmt = normalize_format(fmt)
        if len(data) > self.max_upload_bytes:
            raise PayloadTooLarge(
                f"the document has {len(data)} bytes, more than the limit of "
                f"{self.max_upload_bytes}"
            )
        size = unpacked_size(data) if fmt == "aasx" else len(data)
        self._prestart_validation(size)
        if fmt == "aasx":
            return read_aasx(data, max_unpacked=self.max_upload_bytes * UNPACK_FACTOR)
        if fmt == "json":
            return read_json(data)
        return read_xml(data)

    def _prestart_validation(self, size: int) -> None:
        """Start the SHACL worker processes of a large import while the document is
        parsed: spawning them takes seconds on a small machine, and otherwise that
        happens after the parse, in the write. Started once, they serve every
        later large write too."""
        validator = self.twins.validator
        if size < PRESTART_BYTES or validator.workers <= 1:
            return
        pool = validator.executor()
        for _ in range(validator.workers):
            pool.submit(int)  # a no-op task makes the pool spawn a worker

    async def import_bytes(
        self,
        data: bytes,
        fmt: str,
        *,
        link: Mapping[str, str] | None = None,
        replace: bool = False,
    ) -> AasImportResult:
        """Import an AAS v3.0 environment (AASX, JSON or XML) as one atomic write.

        ``link`` maps shell ids to the asset IRIs they describe (overriding the
        match by globalAssetId or serial number). With ``replace``, identifiables
        already stored are overwritten; otherwise they are a conflict.

        :raises BadInput: malformed or unsupported input, duplicate ids, dangling
            references, bad links. Nothing is written.
        :raises PayloadTooLarge: over the upload limit.
        :raises Conflict: an id is already stored and ``replace`` is not set.
        :raises ShapeViolation: the shapes refuse the result.
        """
        env = self.read(data, fmt)
        return await self.importer.run(env, link=link, replace=replace)

    async def export(self, iri: str, fmt: str) -> bytes:
        """The AAS environment of an asset and everything part of it, as ``aasx``,
        ``json`` or ``xml``.

        :raises NotFound: no asset ``iri``. :raises BadInput: not an asset, or an
            unknown format.
        """
        fmt = normalize_format(fmt)
        env = await self.exporter.environment(iri, with_files=fmt == "aasx")
        objects = list(env.identifiables())
        if fmt == "aasx":
            return write_aasx(objects, env.files)
        if fmt == "json":
            return write_json(objects)
        return write_xml(objects)
