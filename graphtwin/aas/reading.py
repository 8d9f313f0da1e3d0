"""Reading stored identifiables as basyx objects, with bound Property values current.

Decoding goes through the ``DecodedCache``. A submodel with bound Properties
(graphtwin.aas.overlay) is refreshed on every read: the shell that uses it
names the asset, and each bound Property shows that asset's live value (when a
live runtime is attached) or else its value in the graph. ``live_key`` answers
which (asset, property) feeds a Property, for the AAS REST API's own overlay.

The shells and asset descriptions come from ``AasRecords``, kept until a write
changes them (see there why the live flush, which bypasses the writer, cannot
make a kept graph value stale). The one case the writer cannot announce: a
property shown live before whose live value is gone (the live runtime forgot
its binding, possibly after the AAS commit listener ran); the live flush may
have written the graph since that asset was read, so it is read again.
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
        # Properties shown with a live value since their asset was last read.
        self._shown_live: set[PropertyKey] = set()

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
        live: dict[PropertyKey, object] = {}
        wanted: set[str] = set()
        fresh: set[str] = set()
        for entry in decoded:
            asset = asset_of.get(entry.record.iri)
            if asset is None:
                continue
            for bound in entry.bound:
                key = (asset, bound.property)
                sample = self.live.value(key) if self.live else None
                if sample is not None and sample.value is not None:
                    live[key] = sample.value
                    continue
                wanted.add(asset)
                if key in self._shown_live:
                    fresh.add(asset)
        descriptions = await self.records.assets(wanted, fresh=fresh)
        self._shown_live.difference_update([k for k in self._shown_live if k[0] in fresh])
        self._shown_live.update(live)
        for entry in decoded:
            asset = asset_of.get(entry.record.iri)
            desc = descriptions.get(asset) if asset else None
            keys: dict[str, PropertyKey] = {}
            for bound in entry.bound:
                current: object = None
                if asset is not None:
                    key = keys[bound.path] = (asset, bound.property)
                    if key in live:
                        current = live[key]
                    elif desc is not None:
                        current = _first(desc.literals.get(bound.property, ()))
                value = aas_value(current, bound.element.value_type)
                bound.element.value = bound.original if value is None else value
            self._live_keys[entry.obj.id] = keys

    def live_key(self, submodel_id: str, id_short_path: str) -> PropertyKey | None:
        """The (asset, property) that feeds the Property at ``id_short_path`` of a
        submodel read before, or None when it is not bound."""
        return self._live_keys.get(submodel_id, {}).get(id_short_path)
