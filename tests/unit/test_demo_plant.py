"""The ACME Components demo plant and the synthetic benchmark plant."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.term import Node

from graphtwin.demo import build_demo_plant, generate_plant
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.validation import load_shapes
from graphtwin.semantics.vocab import DEMO, GT, SOSA

ROOT = Path(__file__).resolve().parents[2]

NAMEPLATE = (
    GT.manufacturer,
    GT.model,
    GT.serialNumber,
    GT.yearOfConstruction,
    GT.commissioningDate,
    GT.ratedPower,
    GT.ratedVoltage,
)
MAINTENANCE = (
    GT.idealCycleTime,
    GT.operatingHours,
    GT.maintenanceInterval,
    GT.lastMaintenance,
    GT.mtbf,
    GT.mttr,
)
MEASURED = (
    GT.cycleTime,
    GT.temperature,
    GT.vibrationVelocity,
    GT.activePower,
    GT.energyConsumed,
    GT.goodCount,
    GT.totalCount,
    GT.machineState,
)


@cache
def ontology() -> Graph:
    # The server's own loader: the tests see exactly what it validates against.
    return OntologyIndex.load(ROOT / "ontologies").graph


@cache
def shapes() -> Graph:
    return load_shapes(ROOT / "shapes")


@cache
def demo() -> Graph:
    return build_demo_plant()


def instances(graph: Graph, cls: URIRef) -> set[Node]:
    """Instances of ``cls`` or any subclass, following the ontology's hierarchy."""
    classes = set(ontology().transitive_subjects(RDFS.subClassOf, cls))
    return {s for c in classes for s in graph.subjects(RDF.type, c)}


def conforms(graph: Graph) -> tuple[bool, str]:
    ok, _report, text = validate(
        graph, shacl_graph=shapes(), ont_graph=ontology(), inference="none", advanced=True
    )
    return bool(ok), str(text)


def test_two_sites_with_code_and_time_zone() -> None:
    sites = instances(demo(), GT.Site)
    assert sites == {
        URIRef(f"{DEMO}sites/stuttgart"),
        URIRef(f"{DEMO}sites/greenville"),
    }
    for site in sites:
        assert demo().value(site, RDFS.label) is not None
        assert demo().value(site, GT.siteCode) is not None
        assert demo().value(site, GT.timeZone) is not None


def test_sizes() -> None:
    g = demo()
    assert len(instances(g, GT.Area)) >= 2
    assert len(instances(g, GT.Line)) >= 4
    assert len(instances(g, GT.Machine)) >= 40
    assert len(instances(g, GT.Buffer)) >= 4
    assert instances(g, GT.Component) - instances(g, GT.Sensor)
    assert instances(g, GT.Sensor)


def test_every_machine_has_nameplate_maintenance_and_measured_values() -> None:
    g = demo()
    for machine in instances(g, GT.Machine):
        missing = [p for p in NAMEPLATE + MAINTENANCE + MEASURED if g.value(machine, p) is None]
        assert missing == [], machine


def test_counts_and_states_are_plausible() -> None:
    g = demo()
    states: Counter[str] = Counter()
    for machine in instances(g, GT.Machine):
        good, total = g.value(machine, GT.goodCount), g.value(machine, GT.totalCount)
        assert isinstance(good, Literal) and isinstance(total, Literal)
        assert 0 <= good.toPython() <= total.toPython()
        states[str(g.value(machine, GT.machineState))] += 1
    assert states.most_common(1)[0][0] == "producing"


def test_sensors_observe_measured_properties() -> None:
    g = demo()
    observed = set(g.objects(None, SOSA.observes))
    assert {GT.temperature, GT.vibrationVelocity} <= observed
    for sensor in instances(g, GT.Sensor):
        assert any(g.objects(sensor, SOSA.observes)), sensor


def test_labels_in_two_languages() -> None:
    labels = set(demo().objects(URIRef(f"{DEMO}sites/stuttgart/lines/press-1"), RDFS.label))
    assert Literal("Press 1", lang="en") in labels
    assert Literal("Presse 1", lang="de") in labels


def test_example_machine_iri() -> None:
    machine = URIRef(f"{DEMO}sites/stuttgart/lines/press-1/stations/op10/press-1a")
    assert (machine, GT.partOf, URIRef(f"{DEMO}sites/stuttgart/lines/press-1/stations/op10")) in (
        demo()
    )


def test_material_flow_is_one_chain_per_line() -> None:
    g = demo()
    parallel_stations = 0
    for line in instances(g, GT.Line):
        members = {
            m
            for m in g.subjects(GT.partOf, line)
            if m in instances(g, GT.Station) | instances(g, GT.Buffer)
        }
        edges = [(s, o) for s in members for o in g.objects(s, GT.feeds)]
        assert all(o in members for _s, o in edges), f"{line} feeds outside the line"
        successors = {s: o for s, o in edges}
        assert len(successors) == len(edges), f"{line}: a node feeds two nodes"
        targets = [o for _s, o in edges]
        assert len(set(targets)) == len(targets), f"{line}: a node is fed twice"
        (source,) = members - set(targets)
        walk = [source]
        while walk[-1] in successors:
            walk.append(successors[walk[-1]])
        assert set(walk) == members and len(walk) == len(members), line
        assert walk[0] in instances(g, GT.Station) and walk[-1] in instances(g, GT.Station)
        parallel_stations += sum(
            1 for s in walk if len(set(g.subjects(GT.partOf, s)) & instances(g, GT.Machine)) >= 2
        )
    assert parallel_stations >= 1


def test_builds_are_deterministic() -> None:
    assert isomorphic(build_demo_plant(), build_demo_plant())
    assert isomorphic(generate_plant(30, seed=3), generate_plant(30, seed=3))
    assert not isomorphic(generate_plant(30, seed=3), generate_plant(30, seed=4))


def test_demo_plant_conforms_to_the_shapes() -> None:
    ok, text = conforms(demo())
    assert ok, text


def test_generated_plant_conforms_to_the_shapes() -> None:
    plant = generate_plant(200)
    assert len(instances(plant, GT.Machine)) == 200
    ok, text = conforms(plant)
    assert ok, text


@pytest.mark.parametrize("machines", [1, 7, 151])
def test_generated_plant_has_exactly_the_machines_asked_for(machines: int) -> None:
    assert len(instances(generate_plant(machines), GT.Machine)) == machines


def test_generated_plant_rejects_an_empty_plant() -> None:
    with pytest.raises(ValueError, match="at least one machine"):
        generate_plant(0)


def test_ten_thousand_machines_make_at_least_100k_triples() -> None:
    assert len(generate_plant(10_000)) >= 100_000
