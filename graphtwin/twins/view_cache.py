"""Resource views shared by requests, until this process writes to the graph.

Reading one asset costs a Bolt round trip and the engine's work for it, which
dominate a small GraphQL query. Views are read-only, so requests can share them.
The cache is only correct when every write to the graph goes through this
process: the repository drops the views a write touches (all of them for edits
and imports, whose relationship changes reach other resources' views; the
written assets for live values) before the write starts and again after it
ends, whether it committed or not. That holds for the embedded engine, whose data
dir this process holds alone; against a shared Neo4j it is off unless asked for.

Which resources are part of which (``partOf`` children, as IRIs) is kept too:
it changes only with edits and imports, which drop everything; live values
change properties only.

A load that was under way while anything was dropped does not fill the cache:
it may have read the graph before the write committed. Each drop moves the
generation on, and a load keeps its views only if the generation it started in
is still current.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TypeVar

from graphtwin.semantics.mapping import ResourceView

V = TypeVar("V")


class ViewCache:
    """At most ``size`` views by IRI, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("a view cache holds at least one view")
        self.size = size
        self.generation = 0
        self._views: OrderedDict[str, ResourceView] = OrderedDict()
        self._children: OrderedDict[str, list[str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._views)

    def lookup(self, iris: Iterable[str]) -> tuple[dict[str, ResourceView], list[str]]:
        """(the cached views, the IRIs that must be read)."""
        return _lookup(self._views, iris)

    def view(self, iri: str) -> ResourceView | None:
        """The cached view of ``iri``, if there is one."""
        found, _ = _lookup(self._views, (iri,))
        return found.get(iri)

    def keep(self, views: Mapping[str, ResourceView], generation: int) -> None:
        """Cache views read by a load that started in ``generation``."""
        if generation == self.generation:
            _keep(self._views, views, self.size)

    def children(self, parents: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
        """(the cached child IRIs of each parent, the parents that must be read)."""
        return _lookup(self._children, parents)

    def cached_children(self, parent: str) -> list[ResourceView] | None:
        """The views of ``parent``'s parts, if the cache holds the list and every view."""
        kids = self._children.get(parent)
        if kids is None:
            return None
        views = self._views
        found = [views.get(k) for k in kids]
        if any(v is None for v in found):
            return None
        return found  # type: ignore[return-value]  # no None left

    def keep_children(self, children: Mapping[str, list[str]], generation: int) -> None:
        """Cache child IRIs read by a load that started in ``generation``."""
        if generation == self.generation:
            _keep(self._children, children, self.size)

    def drop(self, iris: Iterable[str] | None = None) -> None:
        """Forget everything, or only the views of ``iris`` when nothing but their
        properties changed."""
        self.generation += 1
        if iris is None:
            self._views.clear()
            self._children.clear()
            return
        for iri in iris:
            self._views.pop(iri, None)


def _lookup(cached: OrderedDict[str, V], keys: Iterable[str]) -> tuple[dict[str, V], list[str]]:
    found: dict[str, V] = {}
    missing: list[str] = []
    for key in keys:
        value = cached.get(key)
        if value is None:
            missing.append(key)
        else:
            cached.move_to_end(key)
            found[key] = value
    return found, missing


def _keep(cached: OrderedDict[str, V], values: Mapping[str, V], size: int) -> None:
    for key, value in values.items():
        cached[key] = value
        cached.move_to_end(key)
    while len(cached) > size:
        cached.popitem(last=False)
