"""LineReader against the real engine: the demo lines as models, and small bad lines
that SHACL accepts but a simulation cannot run (SHACL checks values one by one; the
reader checks what depends on the whole line)."""

from __future__ import annotations

from typing import cast

import pytest
from rdflib import Graph, Literal, URIRef

from graphtwin.api.context import Services
from graphtwin.bootstrap import load_demo
from graphtwin.demo.plant import build_demo_plant
from graphtwin.errors import BadInput, NotFound, ShapeViolation
from graphtwin.graph.port import GraphStore, Params, Record
from graphtwin.semantics.vocab import GT, GTSIM
from graphtwin.sim.spec import Family, LineSpec, Origin
from graphtwin.sim.topology import LineReader
from graphtwin.twins.repository import ResourceRepository

WELD = "https://acme.example/sites/stuttgart/lines/weld-1"
LAB = "https://acme.example/sites/lab"
LINE = f"{LAB}/lines/l1"
HEAD = f"""
@prefix gt:    <https://w3id.org/graphtwin/core#> .
@prefix gtsim: <https://w3id.org/graphtwin/sim#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@base <{LAB}/> .
<{LAB}> a gt:Site ; rdfs:label "Lab" .
<lines/l1> a gt:Line ; rdfs:label "L1" ; gt:partOf <{LAB}> .
"""


def station(op: str, feeds: str = "", machine: str | None = " gt:idealCycleTime 10.0 ") -> str:
    """A station ``op`` with one machine; ``feeds`` is the Turtle object list it feeds."""
    flow = f" ; gt:feeds {feeds}" if feeds else ""
    text = (
        f'<lines/l1/{op}> a gt:Station ; rdfs:label "{op.upper()}" ; gt:partOf <lines/l1>{flow} .\n'
    )
    if machine is not None:
        text += (
            f'<lines/l1/{op}/m1> a gt:Press ; rdfs:label "Press {op}" ; '
            f"gt:partOf <lines/l1/{op}> ;{machine}.\n"
        )
    return text


def buffer(name: str, feeds: str = "", capacity: int | None = 5) -> str:
    flow = f" ; gt:feeds {feeds}" if feeds else ""
    size = f" ; gt:capacity {capacity}" if capacity is not None else ""
    head = f'<lines/l1/{name}> a gt:Buffer ; rdfs:label "{name}" ; gt:partOf <lines/l1>'
    return f"{head}{size}{flow} .\n"


@pytest.fixture
async def reader(services: Services) -> LineReader:
    return LineReader(services.twins.repository)


async def read(services: Services, document: str, iri: str = LINE) -> LineSpec:
    await services.twins.import_document(HEAD + document, "turtle")
    return await LineReader(services.twins.repository).read(iri)


async def refused(services: Services, document: str, iri: str = LINE) -> str:
    with pytest.raises(BadInput) as caught:
        await read(services, document, iri)
    return caught.value.message


def number(graph: Graph, subject: str, prop: URIRef) -> float:
    value = graph.value(URIRef(subject), prop)
    assert isinstance(value, Literal), (subject, prop)
    return float(value)


def origin(spec: LineSpec, asset: str, parameter: str) -> Origin:
    (found,) = [o for o in spec.origins if o.asset == asset and o.parameter == parameter]
    return found


async def test_a_demo_line_in_material_flow_order(services: Services, reader: LineReader) -> None:
    assert await load_demo(services.twins)
    spec = await reader.read(WELD)
    plant = build_demo_plant()

    assert spec.label == "Body welding 1"
    assert [s.iri.rsplit("/", 1)[-1] for s in spec.stations] == [
        "op10",
        "op20",
        "op30",
        "op40",
        "op50",
        "op60",
    ]
    assert [len(s.machines) for s in spec.stations] == [2, 2, 2, 1, 1, 1]
    first, last = spec.stations[0], spec.stations[-1]
    assert first.inputs == () and last.outputs == ()
    assert [b.id.rsplit("/", 1)[-1] for b in spec.buffers] == ["b10", "b20", "b30", "b40", "b50"]
    for before, after, buf in zip(spec.stations, spec.stations[1:], spec.buffers, strict=False):
        assert before.outputs == (buf.id,) and after.inputs == (buf.id,)
        assert buf.capacity == number(plant, buf.id, GT.capacity)
        assert not buf.implicit
        assert origin(spec, buf.id, "capacity").source == "graph"

    # Station defaults (lognormal, cv 0.1) apply to every machine; means from the graph.
    machine = first.machines[0]
    ideal = number(plant, machine.iri, GT.idealCycleTime)
    assert machine.processing.family is Family.LOGNORMAL
    assert machine.processing.mean == pytest.approx(float(ideal))
    assert machine.processing.sd == pytest.approx(0.1 * float(ideal))
    assert machine.ideal_cycle == pytest.approx(float(ideal))
    processing = origin(spec, machine.iri, "processingTime")
    assert processing.source == "graph"
    assert "gt:idealCycleTime on the machine" in processing.detail
    assert "gtsim:processingTimeCv on station OP10 Load" in processing.detail
    assert origin(spec, machine.iri, "processingDistribution").source == "graph"

    # Failures from MTBF / MTTR in hours, as seconds; yield from the counters.
    mtbf = number(plant, machine.iri, GT.mtbf)
    assert machine.failure is not None and machine.repair is not None
    assert machine.failure.family is Family.EXPONENTIAL
    assert machine.failure.mean == pytest.approx(mtbf * 3600)
    assert origin(spec, machine.iri, "yield").source == "graph"
    assert 0.9 < machine.yield_ < 1
    rated = number(plant, machine.iri, GT.ratedPower)
    assert machine.power.producing == pytest.approx(rated)
    assert machine.power.idle == pytest.approx(0.3 * rated)
    assert origin(spec, machine.iri, "powerIdle").source == "default"
    assert machine.maintenance_interval is None
    assert "without gtsim:maintenanceDuration" in origin(spec, machine.iri, "maintenance").detail

    # Demand from the line; shifts around the clock by default.
    rate = number(plant, WELD, GTSIM.demandRate)
    assert spec.arrivals.interarrival is not None
    assert spec.arrivals.interarrival.family is Family.EXPONENTIAL
    assert spec.arrivals.interarrival.mean == pytest.approx(3600 / rate)
    assert origin(spec, WELD, "demand").source == "graph"
    assert spec.calendar.always
    assert origin(spec, WELD, "shiftCalendar").source == "default"
    # One origin per parameter per machine, none listed twice.
    keys = [(o.asset, o.parameter) for o in spec.origins]
    assert len(keys) == len(set(keys))
    machines = sum(len(s.machines) for s in spec.stations)
    assert len(keys) == 3 + len(spec.buffers) + machines * 12


class CountingStore:
    """Counts the read round trips a reader makes."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.reads = 0

    async def read(self, query: str, params: Params | None = None) -> list[Record]:
        self.reads += 1
        return await self.store.read(query, params)


async def test_a_line_costs_three_round_trips(services: Services) -> None:
    assert await load_demo(services.twins)
    counting = CountingStore(services.twins.repository.store)
    repository = ResourceRepository(cast(GraphStore, counting), services.twins.repository.mapping)
    spec = await LineReader(repository).read(WELD)
    assert len(spec.stations) == 6
    assert counting.reads == 3


async def test_every_demo_line_reads(services: Services, reader: LineReader) -> None:
    assert await load_demo(services.twins)
    for line in await services.twins.repository.iris_with_class(str(GT.Line)):
        spec = await reader.read(line)
        assert spec.stations and spec.arrivals.interarrival is not None


async def test_direct_hand_over_parameters_and_a_machine_on_the_line(services: Services) -> None:
    document = (
        station("op10", "<lines/l1/op20>")
        + station(
            "op20",
            "<lines/l1/solo>",
            ' gtsim:processingDistribution "triangular" ; gtsim:processingTimeMin 8.0 ; '
            "gtsim:processingTimeMode 9.0 ; gtsim:processingTimeMax 13.0 ; "
            'gt:mtbf 100.0 ; gt:mttr 2.0 ; gtsim:repairDistribution "lognormal" ; '
            "gtsim:repairTimeStdDev 0.5 ; gtsim:yield 0.9 ; gtsim:setupTime 300.0 ; "
            "gtsim:powerProducing 20.0 ; gtsim:powerDown 1.0 ; gt:maintenanceInterval 500.0 ; "
            "gtsim:maintenanceDuration 4.0 ",
        )
        + '<lines/l1/solo> a gt:Station ; rdfs:label "SOLO" ; gt:partOf <lines/l1> .\n'
        + "<lines/l1/solo/m1> a gt:Welder ; gt:partOf <lines/l1/solo> ; "
        'gtsim:processingTime 5.0 ; gtsim:processingDistribution "empirical" ; '
        'gtsim:processingTimeSamples "4.0 5.0 6.0" .\n'
        + '<lines/l1> gtsim:demandRate 120.0 ; gtsim:arrivalDistribution "deterministic" ; '
        "gtsim:productVariants 2 ; gtsim:batchSize 50 ; "
        'gtsim:shiftCalendar "Mon-Fri 22:00-06:00" .\n'
    )
    spec = await read(services, document)
    op10, op20, solo = spec.stations
    hand_over = f"{op10.iri} -> {op20.iri}"
    assert op10.outputs == (hand_over,) and op20.inputs == (hand_over,)
    implicit = spec.buffer(hand_over)
    assert implicit.implicit and implicit.capacity == 1
    assert origin(spec, hand_over, "capacity").source == "default"

    machine = op20.machines[0]
    assert machine.processing.family is Family.TRIANGULAR
    assert machine.processing.mean == pytest.approx(10.0)
    assert machine.ideal_cycle == 10.0
    assert machine.repair is not None and machine.repair.family is Family.LOGNORMAL
    assert machine.repair.sd == pytest.approx(1800)
    assert machine.yield_ == 0.9
    assert machine.setup is not None and machine.setup.mean == 300
    assert machine.power.producing == 20 and machine.power.down == 1
    assert machine.power.setup == 20 and machine.power.blocked == pytest.approx(6)
    assert machine.maintenance_interval == 500 * 3600
    assert machine.maintenance_duration == 4 * 3600
    assert solo.machines[0].processing.samples == (4.0, 5.0, 6.0)
    assert solo.machines[0].label == "m1"

    assert spec.arrivals.interarrival is not None
    assert spec.arrivals.interarrival.family is Family.DETERMINISTIC
    assert spec.arrivals.interarrival.mean == 30
    assert (spec.arrivals.products, spec.arrivals.batch_size) == (2, 50)
    assert sum(e - s for s, e in spec.calendar.windows) == 5 * 8 * 3600


async def test_defaults_when_the_graph_says_little(services: Services) -> None:
    spec = await read(services, station("op10"))
    (only,) = spec.stations
    machine = only.machines[0]
    assert machine.processing.family is Family.DETERMINISTIC
    assert machine.failure is None and machine.repair is None
    assert machine.yield_ == 1 and machine.setup is None and machine.power.producing == 0
    assert origin(spec, machine.iri, "processingDistribution").source == "default"
    assert origin(spec, machine.iri, "timeBetweenFailures").value == "no failures"
    assert origin(spec, LINE, "demand").value == "unlimited raw material"
    assert spec.arrivals.interarrival is None


async def test_a_machine_placed_directly_on_the_line_is_its_own_station(
    services: Services,
) -> None:
    document = (
        '<lines/l1/m9> a gt:Press ; rdfs:label "Press 9" ; gt:partOf <lines/l1> ; '
        "gt:idealCycleTime 7.0 .\n"
    )
    spec = await read(services, document)
    (only,) = spec.stations
    assert only.iri == f"{LINE}/m9" and only.machines[0].iri == only.iri


async def test_unknown_line_and_not_a_line(services: Services, reader: LineReader) -> None:
    with pytest.raises(NotFound, match="nowhere"):
        await reader.read(f"{LAB}/nowhere")
    message = await refused(services, station("op10"), f"{LINE}/op10")
    assert "is not a gt:Line" in message and f"{LINE}/op10" in message


async def test_a_cycle_names_its_stations(services: Services) -> None:
    document = (
        station("op10", "<lines/l1/b1>")
        + buffer("b1", "<lines/l1/op20>")
        + station("op20", "<lines/l1/op30>")
        + station("op30", "<lines/l1/op20>")
    )
    message = await refused(services, document)
    assert "cycle" in message
    assert "OP20" in message and "OP30" in message and "OP10" not in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param("", "no stations", id="no-stations"),
        pytest.param(
            station("op10", "<lines/l1/b1>") + buffer("b1"), "no sink after buffer b1", id="no-sink"
        ),
        pytest.param(
            buffer("b0", "<lines/l1/op10>") + station("op10"),
            "no source for buffer b0",
            id="no-source",
        ),
        pytest.param(station("op10", machine=None), "OP10 <", id="no-machines"),
        pytest.param(
            station("op10", "<lines/l1/op20>") + station("op20") + station("op30"),
            "not connected to the material flow",
            id="unconnected",
        ),
        pytest.param(
            station("op10", "<lines/l1/b1>")
            + buffer("b1", "<lines/l1/b2>")
            + buffer("b2", "<lines/l1/op20>")
            + station("op20"),
            "a buffer must feed a station",
            id="buffer-to-buffer",
        ),
        pytest.param(
            station("op10", machine=" gt:mtbf 100.0 "),
            "no processing time: set gtsim:processingTime or gt:idealCycleTime",
            id="no-processing-time",
        ),
        pytest.param(
            station("op10", machine=" gt:idealCycleTime 10.0 ; gt:mtbf 100.0 "),
            "gt:mtbf without gt:mttr",
            id="mtbf-without-mttr",
        ),
        pytest.param(
            station("op10", machine=" gt:idealCycleTime 10.0 ; gt:mttr 1.0 "),
            "gt:mttr without gt:mtbf",
            id="mttr-without-mtbf",
        ),
        pytest.param(
            station(
                "op10", machine=' gt:idealCycleTime 10.0 ; gtsim:processingDistribution "normal" '
            ),
            "needs gtsim:processingTimeStdDev or gtsim:processingTimeCv",
            id="normal-without-sd",
        ),
        pytest.param(
            station(
                "op10",
                machine=' gt:idealCycleTime 10.0 ; gtsim:processingDistribution "triangular" ',
            ),
            "missing: gtsim:processingTimeMin, gtsim:processingTimeMode, gtsim:processingTimeMax",
            id="triangular-without-bounds",
        ),
        pytest.param(
            station("op10", machine=' gtsim:processingDistribution "empirical" '),
            "needs gtsim:processingTimeSamples",
            id="empirical-without-samples",
        ),
        pytest.param(
            station(
                "op10",
                machine=' gtsim:processingDistribution "triangular" ; '
                "gtsim:processingTimeMin 9.0 ; gtsim:processingTimeMode 8.0 ; "
                "gtsim:processingTimeMax 12.0 ",
            ),
            "min <= mode <= max",
            id="triangular-out-of-order",
        ),
        pytest.param(
            station(
                "op10",
                machine=" gt:idealCycleTime 10.0 ; gt:mtbf 10.0 ; gt:mttr 1.0 ; "
                'gtsim:failureDistribution "normal" ',
            ),
            "use one of exponential, deterministic",
            id="failure-family",
        ),
        pytest.param(
            station("op10") + '<lines/l1> gtsim:shiftCalendar "Mon 00:00-00:00" .',
            "gtsim:shiftCalendar on the line: shift calendar",
            id="empty-shift",
        ),
        pytest.param(
            station("op10") + "<lines/l1> gtsim:productVariants 3 .",
            "needs gtsim:batchSize",
            id="variants-without-batch",
        ),
    ],
)
async def test_lines_that_cannot_be_simulated(
    services: Services, document: str, expected: str
) -> None:
    message = await refused(services, document)
    assert expected in message
    assert LINE in message


async def test_shacl_refuses_bad_values_before_the_reader_sees_them(services: Services) -> None:
    # What SHACL catches (one value at a time) never reaches LineReader.
    for bad in (
        buffer("b1", capacity=None),
        station("op10", machine=' gt:idealCycleTime 10.0 ; gtsim:processingDistribution "gamma" '),
        station("op10", machine=" gt:idealCycleTime 10.0 ; gtsim:yield 1.5 "),
        '<lines/l1> gtsim:shiftCalendar "weekdays" .',
    ):
        with pytest.raises(ShapeViolation):
            await services.twins.import_document(HEAD + bad, "turtle")


async def test_a_station_keeps_its_own_shift_calendar(services: Services) -> None:
    document = (
        station("op10", "<lines/l1/b1>")
        + buffer("b1", "<lines/l1/op20>")
        + station("op20")
        + '<lines/l1/op20> gtsim:shiftCalendar "Mon-Sun 00:00-24:00" .\n'
        + '<lines/l1> gtsim:shiftCalendar "Mon-Fri 06:00-14:00" .\n'
    )
    spec = await read(services, document)
    op10, op20 = spec.stations
    assert op10.machines[0].calendar is None  # works the line's hours
    own = op20.machines[0].calendar
    assert own is not None and own.always  # round the clock, whatever the line says
    assert origin(spec, op20.machines[0].iri, "shiftCalendar").source == "graph"
