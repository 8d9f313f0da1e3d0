"""adapters/demo-*.ttl are exactly what graphtwin.demo.bindings generates."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph
from rdflib.compare import isomorphic

from graphtwin.demo.bindings import demo_bindings, mqtt_machines, opcua_machines
from graphtwin.demo.plant import build_demo_plant
from graphtwin.semantics.vocab import GTB

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"


def test_binding_files_are_up_to_date() -> None:
    for stem, generated in demo_bindings(build_demo_plant()).items():
        stored = Graph().parse(ADAPTERS / f"{stem}.ttl", format="turtle")
        assert isomorphic(stored, generated), (
            f"adapters/{stem}.ttl is stale: run python -m graphtwin.demo.bindings adapters/"
        )


def test_every_demo_machine_is_bound_once_per_property() -> None:
    plant = build_demo_plant()
    merged = Graph()
    for graph in demo_bindings(plant).values():
        merged += graph
    pairs = [
        (merged.value(b, GTB.asset), merged.value(b, GTB.property))
        for b in set(merged.subjects(GTB.asset, None))
    ]
    assert len(pairs) == len(set(pairs))
    assert len(opcua_machines(plant)) == 24
    assert len(mqtt_machines(plant)) == 22
    assert len(pairs) == 24 * 9 + 22 * 4
