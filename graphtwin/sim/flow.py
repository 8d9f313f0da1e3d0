"""The material flow of a line: ``gt:feeds`` among its stations and buffers, checked
and put in order.

Pure functions of plain data, so the rules are easy to read and to test: station ->
buffer -> station is the normal case, station -> station is a direct hand-over (an
implicit buffer of one part), buffer -> buffer is refused. The flow must be acyclic,
start at stations and end at stations.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graphtwin.errors import BadInput
from graphtwin.sim.spec import BufferSpec, Origin

HANDOVER_CAPACITY = 1


@dataclass(frozen=True)
class Node:
    iri: str
    label: str
    is_station: bool
    capacity: int = 0  # buffers only


@dataclass(frozen=True)
class Flow:
    """Stations in material-flow order with their input and output buffer ids."""

    order: tuple[str, ...]  # station IRIs, topologically sorted
    inputs: Mapping[str, tuple[str, ...]]
    outputs: Mapping[str, tuple[str, ...]]
    buffers: tuple[BufferSpec, ...]
    origins: tuple[Origin, ...]


def handover_id(source: str, target: str) -> str:
    return f"{source} -> {target}"


def _name(node: Node) -> str:
    kind = "station" if node.is_station else "buffer"
    return f"{kind} {node.label} <{node.iri}>"


def analyse(line: str, nodes: Sequence[Node], feeds: Mapping[str, Sequence[str]]) -> Flow:
    """Order and connect the line's stations and buffers.

    ``feeds`` maps an IRI to the IRIs it feeds; targets outside ``nodes`` are
    ignored (material leaving the line is the line's output).

    :raises BadInput: a buffer feeding a buffer, a cycle (naming its members), a
        buffer no station feeds (no source) or that feeds no station (no sink), or
        a station not connected to the flow.
    """
    by_iri = {n.iri: n for n in nodes}
    succ: dict[str, list[str]] = {n.iri: [] for n in nodes}
    pred: dict[str, list[str]] = {n.iri: [] for n in nodes}
    for source in sorted(feeds):
        if source not in by_iri:
            continue
        for target in sorted(set(feeds[source])):
            if target not in by_iri:
                continue
            if not by_iri[source].is_station and not by_iri[target].is_station:
                raise BadInput(
                    f"line {line}: {_name(by_iri[source])} feeds {_name(by_iri[target])}: "
                    "a buffer must feed a station; merge the two buffers or put a station "
                    "between them"
                )
            succ[source].append(target)
            pred[target].append(source)
    order = _topological(line, by_iri, succ, pred)
    _check_ends(line, by_iri, succ, pred)

    inputs: dict[str, tuple[str, ...]] = {}
    outputs: dict[str, tuple[str, ...]] = {}
    handovers: list[BufferSpec] = []
    origins: list[Origin] = []
    for iri in order:
        node = by_iri[iri]
        if not node.is_station:
            continue
        ins = [p if not by_iri[p].is_station else handover_id(p, iri) for p in pred[iri]]
        outs = [s if not by_iri[s].is_station else handover_id(iri, s) for s in succ[iri]]
        inputs[iri], outputs[iri] = tuple(ins), tuple(outs)
        for target in succ[iri]:
            if by_iri[target].is_station:
                id_ = handover_id(iri, target)
                label = f"{node.label} -> {by_iri[target].label}"
                handovers.append(BufferSpec(id_, label, HANDOVER_CAPACITY, implicit=True))
                origins.append(
                    Origin(
                        id_,
                        "capacity",
                        str(HANDOVER_CAPACITY),
                        "default",
                        f"{_name(node)} feeds {_name(by_iri[target])} directly: a hand-over "
                        "of one part, no buffer asset",
                    )
                )
    buffers = [
        BufferSpec(iri, by_iri[iri].label, by_iri[iri].capacity)
        for iri in order
        if not by_iri[iri].is_station
    ]
    for buffer in buffers:
        origins.append(
            Origin(
                buffer.id, "capacity", str(buffer.capacity), "graph", "gt:capacity of the buffer"
            )
        )
    return Flow(
        order=tuple(i for i in order if by_iri[i].is_station),
        inputs=inputs,
        outputs=outputs,
        buffers=(*buffers, *handovers),
        origins=tuple(origins),
    )


def _topological(
    line: str, by_iri: dict[str, Node], succ: dict[str, list[str]], pred: dict[str, list[str]]
) -> list[str]:
    """Kahn's algorithm, ties broken by IRI so the order is stable.

    :raises BadInput: a cycle, naming the stations and buffers on it.
    """
    waiting = {iri: len(p) for iri, p in pred.items()}
    ready = [iri for iri, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        iri = heapq.heappop(ready)
        order.append(iri)
        for target in succ[iri]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, target)
    if len(order) == len(by_iri):
        return order
    cycle = _cycle({i for i in by_iri if i not in set(order)}, pred)
    names = " -> ".join(_name(by_iri[i]) for i in [*cycle, cycle[0]])
    raise BadInput(f"line {line}: the material flow (gt:feeds) has a cycle: {names}")


def _cycle(left: set[str], pred: dict[str, list[str]]) -> list[str]:
    # Every node Kahn could not place has a predecessor that is not placed either, so
    # walking predecessors from any of them must come back to a node already seen.
    walk: list[str] = [min(left)]
    seen = {walk[0]: 0}
    while True:
        previous = min(p for p in pred[walk[-1]] if p in left)
        if previous in seen:
            cycle = walk[seen[previous] :]
            cycle.reverse()
            return cycle
        seen[previous] = len(walk)
        walk.append(previous)


def _check_ends(
    line: str, by_iri: dict[str, Node], succ: dict[str, list[str]], pred: dict[str, list[str]]
) -> None:
    for iri, node in sorted(by_iri.items()):
        if node.is_station:
            continue
        if not pred[iri]:
            raise BadInput(
                f"line {line}: no source for {_name(node)}: no station feeds it, so it never "
                "gets parts; the flow must start at a station (gt:feeds from a station)"
            )
        if not succ[iri]:
            raise BadInput(
                f"line {line}: no sink after {_name(node)}: it feeds no station, so its parts "
                "never leave; the flow must end at a station (gt:feeds to a station)"
            )
    stations = [n for n in by_iri.values() if n.is_station]
    if len(by_iri) > 1:
        for node in sorted(stations, key=lambda n: n.iri):
            if not pred[node.iri] and not succ[node.iri]:
                raise BadInput(
                    f"line {line}: {_name(node)} is not connected to the material flow: it "
                    "neither feeds nor is fed by a station or buffer of the line (gt:feeds)"
                )
    if not any(not pred[n.iri] for n in stations):
        raise BadInput(f"line {line}: no source: every station is fed by another")
    if not any(not succ[n.iri] for n in stations):
        raise BadInput(f"line {line}: no sink: every station feeds another")
