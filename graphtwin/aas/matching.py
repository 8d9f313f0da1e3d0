"""Which plant asset an imported shell describes.

In order: an explicit link (``--link SHELL_ID=IRI``), the shell's globalAssetId
when it is the IRI of an asset of the twin, a specificAssetId named SerialNumber
(any case) equal to the ``gt:serialNumber`` of exactly one asset. A shell that
matches none is imported without a link and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from basyx.aas import model

from graphtwin.errors import BadInput
from graphtwin.semantics.vocab import GT
from graphtwin.twins.repository import quote
from graphtwin.twins.service import TwinService

SERIAL_NAME = "serialnumber"


@dataclass(frozen=True)
class Match:
    asset: str
    # "link", "globalAssetId", "serialNumber", or "kept" (a replaced shell keeps its link)
    by: str


def serials_of(shell: model.AssetAdministrationShell) -> list[str]:
    return [
        s.value
        for s in shell.asset_information.specific_asset_id
        if s.name.strip().lower() == SERIAL_NAME
    ]


class ShellMatcher:
    def __init__(self, twins: TwinService) -> None:
        self.twins = twins

    async def assets(self, iris: Iterable[str]) -> set[str]:
        """Those of ``iris`` that are stored assets (of ``gt:Asset`` or a subclass)."""
        wanted = sorted({i for i in iris if self.twins.policy.is_data(i)})
        found = await self.twins.queries.describe(wanted)
        asset = str(GT.Asset)
        ontology = self.twins.ontology
        return {
            d.iri
            for d in found
            if d is not None and any(asset in ontology.ancestors(t) for t in d.types)
        }

    async def by_serial(self, serials: Iterable[str]) -> dict[str, list[str]]:
        """Asset IRIs by serial number, for the serials asked."""
        wanted = sorted(set(serials))
        if not wanted:
            return {}
        compact = self.twins.repository.prefixes.compact
        label, key = quote(compact(str(GT.Asset))), quote(compact(str(GT.serialNumber)))
        rows = await self.twins.repository.store.read(
            f"MATCH (n:{label}) WHERE n.{key} IN $serials RETURN n.iri AS iri, n.{key} AS serial",
            {"serials": wanted},
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(str(row["serial"]), []).append(str(row["iri"]))
        return {s: sorted(iris) for s, iris in found.items()}

    async def match(
        self,
        shells: list[model.AssetAdministrationShell],
        link: Mapping[str, str],
        previous: Mapping[str, str],
    ) -> tuple[dict[str, Match], dict[str, str]]:
        """(matches by shell id, reasons by shell id for those left unlinked).

        ``previous``: the assets replaced shells described; kept when nothing else
        matches.

        :raises BadInput: an explicit link names a shell not in the document, or a
            target that is not an asset of the twin.
        """
        ids = {s.id for s in shells}
        for shell_id, target in sorted(link.items()):
            if shell_id not in ids:
                raise BadInput(
                    f"link {shell_id}={target}: the document has no shell {shell_id!r}",
                    path=("link",),
                )
        linked_assets = await self.assets(link.values())
        for shell_id, target in sorted(link.items()):
            if target not in linked_assets:
                raise BadInput(
                    f"link {shell_id}={target}: <{target}> is not an asset of the twin",
                    path=("link",),
                )
        global_ids = {
            s.asset_information.global_asset_id
            for s in shells
            if s.asset_information.global_asset_id
        }
        by_global = await self.assets(i for i in global_ids if i is not None)
        serials = await self.by_serial(v for s in shells for v in serials_of(s))
        matches: dict[str, Match] = {}
        unlinked: dict[str, str] = {}
        for shell in shells:
            global_id = shell.asset_information.global_asset_id
            candidates = sorted({a for v in serials_of(shell) for a in serials.get(v, [])})
            if shell.id in link:
                matches[shell.id] = Match(link[shell.id], "link")
            elif global_id in by_global:
                matches[shell.id] = Match(str(global_id), "globalAssetId")
            elif len(candidates) == 1:
                matches[shell.id] = Match(candidates[0], "serialNumber")
            elif shell.id in previous:
                matches[shell.id] = Match(previous[shell.id], "kept")
            elif len(candidates) > 1:
                unlinked[shell.id] = (
                    f"serial number {serials_of(shell)[0]!r} is shared by {len(candidates)} "
                    "assets; link the shell explicitly"
                )
            else:
                unlinked[shell.id] = "no asset has its globalAssetId as IRI or its serial number"
        return matches, unlinked
