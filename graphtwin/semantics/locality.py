"""What a resource's shapes can see: the resource, its neighbours, its ancestors.

The shapes in shapes/ look at most one link away from a focus node, plus its
``gt:partOf`` ancestry (a machine's line, an asset's site). A write is validated
against exactly that neighbourhood, and a large write can be split into chunks
of focus nodes that are validated independently (and in parallel).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphtwin.semantics.description import Description
from graphtwin.semantics.vocab import GT

_PART_OF = str(GT.partOf)


class Neighbourhoods:
    """Neighbourhoods of focus nodes within a fixed set of descriptions."""

    def __init__(self, descriptions: Mapping[str, Description]) -> None:
        self.descriptions = descriptions
        self._inbound: dict[str, set[str]] = {}
        for iri, desc in descriptions.items():
            for targets in desc.links.values():
                for target in targets:
                    self._inbound.setdefault(target, set()).add(iri)

    def around(self, focus: Iterable[str]) -> list[Description]:
        """Descriptions of the focus nodes, their neighbours and partOf ancestors."""
        wanted: set[str] = set()
        for iri in focus:
            wanted.add(iri)
            desc = self.descriptions.get(iri)
            if desc is not None:
                for targets in desc.links.values():
                    wanted |= targets
            wanted |= self._inbound.get(iri, set())
            wanted |= self._ancestors(iri)
        return [self.descriptions[i] for i in sorted(wanted) if i in self.descriptions]

    def _ancestors(self, iri: str) -> set[str]:
        seen: set[str] = set()
        todo = [iri]
        while todo:
            desc = self.descriptions.get(todo.pop())
            if desc is None:
                continue
            for parent in desc.links.get(_PART_OF, ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def chunks(self, focus: Iterable[str], size: int) -> list[tuple[list[str], list[Description]]]:
        """Focus nodes in chunks of ``size`` with the descriptions each chunk needs.

        Focus IRIs are taken in IRI order, which keeps a plant's hierarchy together
        (site/line/station/machine), so chunks share few neighbours.
        """
        ordered = sorted(set(focus))
        return [
            (ordered[i : i + size], self.around(ordered[i : i + size]))
            for i in range(0, len(ordered), size)
        ]
