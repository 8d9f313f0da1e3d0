"""Reading stored identifiables as basyx objects, with bound Property values current.

Decoding goes through the ``DecodedCache``. A submodel with bound Properties
(graphtwin.aas.overlay) is refreshed on every read: the shell that uses it
names the asset, and each bound Property shows that asset's live value (when a
live runtime is attached) or else its value in the graph. ``live_key`` answers
which (asset, property) feeds a Property, for the AAS REST API's own overlay.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Literal

from graphtwin.aas.cache import Decoded, DecodedCache
from graphtwin.aas.overlay import LiveValues, aas_value
from graphtwin.aas.records import AasRecord, AasRecords
from graphtwin.values import PropertyKey


def _first(values: Iterable[Literal]) -> Literal | None:
    return min(values, key=str, default=None)


class AasReader:
    def __init__(self, records: AasRecords, cache: DecodedCache) -> None:
        self.records = records
        self.cache = cache
        self.live: LiveValues | None = None
        self._live_keys: dict[str, dict[str, PropertyKey]] = {}

    async def decoded(self, records: Iterable[AasRecord]) -> list[Decoded]:
        """The decoded objects of ``records`` (same order), bound values refreshed.

        :raises BadInput: a stored document does not decode.
        """
        out = [self.cache.get(r) for r in records]
        await self.refresh([d for d in out if d.bound])
        return out

    async def refresh(self, decoded: list[Decoded]) -> None:
        if not decoded:
            return
        users = await self.records.shells_using(d.record.iri for d in decoded)
        asset_of = {
            submodel: next((s.describes for s in shells if s.describes), None)
            for submodel, shells in users.items()
        }
        assets = sorted({a for a in asset_of.values() if a})
        found = await self.records.twins.queries.describe(assets)
        descriptions = {d.iri: d for d in found if d is not None}
        for entry in decoded:
            asset = asset_of.get(entry.record.iri)
            desc = descriptions.get(asset) if asset else None
            keys: dict[str, PropertyKey] = {}
            for bound in entry.bound:
                current: object = None
                if asset is not None:
                    keys[bound.path] = (asset, bound.property)
                    sample = self.live.value((asset, bound.property)) if self.live else None
                    if sample is not None and sample.value is not None:
                        current = sample.value
                    elif desc is not None:
                        current = _first(desc.literals.get(bound.property, ()))
                value = aas_value(current, bound.element.value_type)
                bound.element.value = bound.original if value is None else value
            self._live_keys[entry.obj.id] = keys

    def live_key(self, submodel_id: str, id_short_path: str) -> PropertyKey | None:
        """The (asset, property) that feeds the Property at ``id_short_path`` of a
        submodel read before, or None when it is not bound."""
        return self._live_keys.get(submodel_id, {}).get(id_short_path)
