"""Exporting the AAS view of a part of the plant as one environment.

For an asset (a site, a line, a machine, ...) and everything ``gt:partOf`` it
transitively: the stored shells describing those assets with their submodels;
for machines without a stored shell, a generated one (Digital Nameplate,
Technical Data, graphtwin.aas.nameplate); the concept descriptions the
semanticIds refer to (stored ones first, else generated); and the supplementary
files of the stored identifiables.
"""

from __future__ import annotations

import copy
import logging
import posixpath

from basyx.aas import model
from basyx.aas.util import traversal

from graphtwin.aas.environment import Environment, SupplementaryFile
from graphtwin.aas.files import FileStore
from graphtwin.aas.nameplate import GeneratedShell, generate
from graphtwin.aas.reading import AasReader
from graphtwin.aas.records import AasRecord
from graphtwin.aas.references import semantic_ids
from graphtwin.aas.vocab import Kind
from graphtwin.errors import BadInput, NotFound
from graphtwin.semantics.description import Description
from graphtwin.semantics.vocab import GT

log = logging.getLogger(__name__)

MAX_DEPTH = 12


class AasExporter:
    def __init__(self, reader: AasReader, files: FileStore) -> None:
        self.reader = reader
        self.records = reader.records
        self.twins = reader.records.twins
        self.files = files

    async def assets_below(self, iri: str) -> list[Description]:
        """``iri`` and every asset part of it, described.

        :raises NotFound: no resource ``iri``. :raises BadInput: it is not an asset.
        """
        (root,) = await self.twins.queries.describe([iri])
        if root is None:
            raise NotFound(f"no asset <{iri}>", path=("iri",))
        if not self._is_a(root, str(GT.Asset)):
            raise BadInput(f"<{iri}> is not an asset of the twin", path=("iri",))
        (below,) = await self.twins.queries.reachable([(iri, "components", MAX_DEPTH)])
        found = await self.twins.queries.describe(sorted(below))
        return [root, *(d for d in found if d is not None and self._is_a(d, str(GT.Asset)))]

    def _is_a(self, desc: Description, class_iri: str) -> bool:
        ontology = self.twins.ontology
        return any(class_iri in ontology.ancestors(t) for t in desc.types)

    def generated(self, asset: Description) -> GeneratedShell | None:
        """The generated shell of a machine (None for other assets or without
        nameplate data)."""
        if not self._is_a(asset, str(GT.Machine)):
            return None
        return generate(asset, self.twins.ontology)

    async def environment(self, iri: str, *, with_files: bool = True) -> Environment:
        """The environment of ``iri`` and its parts (``with_files``: and the
        supplementary files, for a package).

        :raises NotFound: no asset ``iri``.
        :raises BadInput: not an asset, or a stored document that does not decode.
        """
        assets = await self.assets_below(iri)
        stored = await self.records.shells_describing(a.iri for a in assets)
        env = Environment()
        shell_records: list[AasRecord] = []
        generated: list[GeneratedShell] = []
        for asset in assets:
            if stored.get(asset.iri):
                shell_records += stored[asset.iri]
            elif (made := self.generated(asset)) is not None:
                generated.append(made)
        shell_records = sorted({r.iri: r for r in shell_records}.values(), key=lambda r: r.id)
        submodel_iris = sorted({s for r in shell_records for s in r.submodels})
        submodel_records = sorted(
            (await self.records.load(submodel_iris)).values(), key=lambda r: r.id
        )
        chosen = await self.reader.decoded([*shell_records, *submodel_records])
        for made in generated:
            env.shells.append(made.shell)
            env.submodels += made.submodels
        ids = set().union(set(), *(semantic_ids(d.obj) for d in chosen))
        ids |= set().union(set(), *(semantic_ids(s) for s in env.submodels))
        concepts = await self.records.by_ids(Kind.CONCEPT_DESCRIPTION, ids)
        concept_records = sorted(concepts.values(), key=lambda r: r.id)
        chosen += await self.reader.decoded(concept_records)
        stored_ids = set(concepts)
        generated_concepts = {
            cd.id: cd
            for made in generated
            for cd in made.concept_descriptions
            if cd.id not in stored_ids
        }
        env.concept_descriptions += [generated_concepts[i] for i in sorted(generated_concepts)]
        claimed: dict[str, str] = {}
        for entry in chosen:
            obj = entry.obj
            if with_files:
                obj = self._with_files(obj, entry.record, env, claimed)
            env.add(obj)
        env.check_unique_ids()
        return env

    def _with_files(
        self,
        obj: model.Identifiable,
        record: AasRecord,
        env: Environment,
        claimed: dict[str, str],
    ) -> model.Identifiable:
        """``obj`` with its supplementary files added to ``env``. Two files under
        one package path get distinct paths (in a copy of the object)."""
        renamed: dict[str, str] = {}
        for path, stored in sorted(record.files.items()):
            target = path
            counter = 1
            while claimed.get(target, stored.sha256) != stored.sha256:
                stem, ext = posixpath.splitext(path)
                target = f"{stem}-{counter}{ext}"
                counter += 1
            try:
                data = self.files.get(stored.sha256)
            except NotFound:
                log.warning(
                    "%s: supplementary file %s (%s) is missing", record.id, path, stored.sha256
                )
                continue
            claimed[target] = stored.sha256
            env.files[target] = SupplementaryFile(stored.content_type, data)
            if target != path:
                renamed[path] = target
        if not renamed:
            return obj
        obj = copy.deepcopy(obj)
        if isinstance(obj, model.Submodel):
            for element in traversal.walk_submodel(obj):
                if isinstance(element, model.File) and element.value in renamed:
                    element.value = renamed[element.value]
        elif isinstance(obj, model.AssetAdministrationShell):
            thumbnail = obj.asset_information.default_thumbnail
            if thumbnail is not None and thumbnail.path in renamed:
                thumbnail.path = renamed[thumbnail.path]
        return obj
