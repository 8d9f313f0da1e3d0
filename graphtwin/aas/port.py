"""What the AAS REST API and GraphQL read: identifiables as basyx-python-sdk objects.

Implemented over the twin graph by ``graphtwin.aas.service.AasService``; any
object store with the same methods serves too (tests use basyx's DictObjectStore
through ``StoreReadModel``).

The objects returned may be shared between readers (``AasService`` caches decoded
documents): serialize them, do not change them. ``AasService`` also answers
``live_key(submodel_id, id_short_path)``: the (asset, property) that feeds a bound
Property (docs/aas.md, "Bound Properties").
"""

from __future__ import annotations

from typing import Protocol

from basyx.aas import model


class AasReadModel(Protocol):
    async def shells(self) -> list[model.AssetAdministrationShell]:
        """Every shell, in a stable order (by id)."""

    async def shell(self, id_: str) -> model.AssetAdministrationShell | None: ...

    async def submodels(self) -> list[model.Submodel]:
        """Every submodel, in a stable order (by id)."""

    async def submodel(self, id_: str) -> model.Submodel | None: ...

    async def concept_descriptions(self) -> list[model.ConceptDescription]: ...


class StoreReadModel:
    """An ``AasReadModel`` over an in-memory basyx object store."""

    def __init__(self, store: model.DictObjectStore[model.Identifiable]) -> None:
        self.store = store

    def _all(self, kind: type) -> list:  # type: ignore[type-arg]
        return sorted((o for o in self.store if isinstance(o, kind)), key=lambda o: o.id)

    async def shells(self) -> list[model.AssetAdministrationShell]:
        return self._all(model.AssetAdministrationShell)

    async def shell(self, id_: str) -> model.AssetAdministrationShell | None:
        found = self.store.get(id_)
        return found if isinstance(found, model.AssetAdministrationShell) else None

    async def submodels(self) -> list[model.Submodel]:
        return self._all(model.Submodel)

    async def submodel(self, id_: str) -> model.Submodel | None:
        found = self.store.get(id_)
        return found if isinstance(found, model.Submodel) else None

    async def concept_descriptions(self) -> list[model.ConceptDescription]:
        return self._all(model.ConceptDescription)
