"""Per-request DataLoaders: a nested query costs a few batched Cypher round trips,
not one per node. Built fresh for every request, so they keep nothing across
requests (the repository's view cache may answer their loads without a read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from graphtwin.aas.service import AasService, ShellEntry
from graphtwin.semantics.mapping import ResourceView
from graphtwin.twins.queries import TwinQueries

WalkKey = tuple[str, str, int]


@dataclass
class Loaders:
    description: DataLoader[str, ResourceView | None]
    inbound: DataLoader[str, list[tuple[str, str]]]
    children: DataLoader[str, list[ResourceView]]
    reachable: DataLoader[WalkKey, list[str]]
    # The AAS shells describing each asset (stored, or generated from nameplate data).
    shells: DataLoader[str, list[ShellEntry]]


def build_loaders(queries: TwinQueries, aas: AasService | None = None) -> Loaders:
    async def load_descriptions(iris: Sequence[str]) -> list[ResourceView | None]:
        return await queries.views(list(iris))

    async def load_inbound(iris: Sequence[str]) -> list[list[tuple[str, str]]]:
        return await queries.inbound(list(iris))

    async def load_reachable(keys: Sequence[WalkKey]) -> list[list[str]]:
        return await queries.reachable(list(keys))

    description = DataLoader(load_fn=load_descriptions)

    async def load_children(iris: Sequence[str]) -> list[list[ResourceView]]:
        found = await queries.children(list(iris))
        # Children come with their whole stored state: later reads of them
        # (a nested query's next level) need no second round trip.
        for views in found:
            for view in views:
                description.prime(view.iri, view)
        return found

    async def load_shells(iris: Sequence[str]) -> list[list[ShellEntry]]:
        if aas is None:
            return [[] for _ in iris]
        found = await aas.shells_of_many(list(iris))
        return [found[i] for i in iris]

    return Loaders(
        shells=DataLoader(load_fn=load_shells),
        description=description,
        inbound=DataLoader(load_fn=load_inbound),
        children=DataLoader(load_fn=load_children),
        reachable=DataLoader(load_fn=load_reachable),
    )
