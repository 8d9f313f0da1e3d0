"""Build a :class:`~graphtwin.sim.spec.LineSpec` from the twin graph.

Three round trips whatever the size of the line: the line itself, its parts
(stations, buffers, machines placed directly on the line), and the parts of its
stations (machines). Types are matched through the ontology, so a ``gt:Press`` is a
``gt:Machine`` and a subclass of ``gt:Station`` is a station.
"""

from __future__ import annotations

from rdflib import URIRef

from graphtwin.errors import BadInput, NotFound
from graphtwin.semantics.mapping import ResourceView
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.vocab import GT, GTSIM
from graphtwin.sim.calendar import describe_calendar, parse_calendar
from graphtwin.sim.flow import Node, analyse
from graphtwin.sim.machine_params import CALENDAR, Scope, family_of, label_of, machine_spec, numeric
from graphtwin.sim.spec import (
    ArrivalSpec,
    Distribution,
    Family,
    LineSpec,
    Origin,
    ShiftCalendar,
    StationSpec,
)
from graphtwin.twins.repository import ResourceRepository

DEMAND = "demand"
PRODUCTS = "products"


class LineReader:
    """Reads lines from the graph as simulation models."""

    def __init__(self, repository: ResourceRepository) -> None:
        self._repository = repository
        self._ontology: OntologyIndex = repository.mapping.ontology

    def _is(self, view: ResourceView, cls: URIRef) -> bool:
        return any(str(cls) in self._ontology.ancestors(t) for t in view.types)

    async def read(self, line_iri: str) -> LineSpec:
        """The line's stations in material-flow order, its buffers, demand, shift
        calendar, and where every parameter came from.

        :raises NotFound: no resource ``line_iri``.
        :raises BadInput: it is not a line, or the line cannot be simulated; the
            message names the station, machine or buffer and what is missing.
        """
        line = (await self._repository.load_views([line_iri])).get(line_iri)
        if line is None:
            raise NotFound(f"no asset <{line_iri}> in the twin")
        name = f"{label_of(line)} <{line_iri}>"
        if not self._is(line, GT.Line):
            types = ", ".join(f"<{t}>" for t in line.types) or "untyped"
            raise BadInput(f"<{line_iri}> is not a gt:Line ({types}): only lines can be simulated")
        parts = (await self._repository.load_child_views([line_iri])).get(line_iri, [])
        stations = sorted((v for v in parts if self._is(v, GT.Station)), key=_iri)
        buffers = sorted((v for v in parts if self._is(v, GT.Buffer)), key=_iri)
        # A machine placed directly on the line is a station of its own.
        loose = sorted((v for v in parts if self._is(v, GT.Machine)), key=_iri)
        if not stations and not loose:
            raise BadInput(
                f"line {name}: no stations: add gt:Station resources that are gt:partOf the line"
            )
        members = await self._repository.load_child_views([s.iri for s in stations])
        machines: dict[str, list[ResourceView]] = {
            s.iri: sorted((m for m in members.get(s.iri, []) if self._is(m, GT.Machine)), key=_iri)
            for s in stations
        }
        machines.update({m.iri: [m] for m in loose})
        for station in stations:
            if not machines[station.iri]:
                raise BadInput(
                    f"line {name}: station {label_of(station)} <{station.iri}> has no machines: "
                    "add a gt:Machine that is gt:partOf the station"
                )

        nodes = [Node(v.iri, label_of(v), True) for v in (*stations, *loose)]
        nodes += [Node(b.iri, label_of(b), False, _capacity(b, name)) for b in buffers]
        feeds = {v.iri: v.links.get(str(GT.feeds), []) for v in (*stations, *loose, *buffers)}
        flow = analyse(name, nodes, feeds)

        views = {v.iri: v for v in (*stations, *loose)}
        origins: list[Origin] = []
        specs: list[StationSpec] = []
        for iri in flow.order:
            station = views[iri]
            machine_specs = []
            for machine in machines[iri]:
                what = f"station {label_of(station)} <{iri}>, machine <{machine.iri}>"
                scope = Scope(machine, station if station is not machine else None, what)
                spec, machine_origins = machine_spec(scope)
                machine_specs.append(spec)
                origins += machine_origins
            specs.append(
                StationSpec(
                    iri=iri,
                    label=label_of(station),
                    machines=tuple(machine_specs),
                    inputs=flow.inputs[iri],
                    outputs=flow.outputs[iri],
                )
            )
        line_scope = Scope(line, None, f"line {name}", own="the line")
        arrivals, arrival_origins = _arrivals(line_scope)
        calendar, calendar_origin = _calendar(line_scope)
        return LineSpec(
            iri=line_iri,
            label=label_of(line),
            stations=tuple(specs),
            buffers=flow.buffers,
            arrivals=arrivals,
            calendar=calendar,
            origins=(*arrival_origins, calendar_origin, *flow.origins, *origins),
        )


def _iri(view: ResourceView) -> str:
    return view.iri


def _capacity(buffer: ResourceView, line: str) -> int:
    values = buffer.values.get(str(GT.capacity), [])
    number = numeric(values[0]) if values else None
    if number is None or not number.is_integer() or number < 1:
        found = f"it has {values[0].lexical!r}" if values else "it has none"
        raise BadInput(
            f"line {line}: buffer {label_of(buffer)} <{buffer.iri}> needs a gt:capacity, "
            f"a whole number of parts >= 1 ({found})"
        )
    return int(number)


def _whole(scope: Scope, prop: URIRef) -> int | None:
    found = scope.number(prop)
    if found is None:
        return None
    value = float(found.value)
    if not value.is_integer() or value < 1:
        raise BadInput(f"{scope.what}: {found.source} must be a whole number >= 1, got {value:g}")
    return int(value)


def _arrivals(scope: Scope) -> tuple[ArrivalSpec, list[Origin]]:
    """:raises BadInput: a demand rate <= 0, an unusable arrival family, or several
    product variants without a batch size."""
    origins: list[Origin] = []
    rate = scope.number(GTSIM.demandRate)
    interarrival: Distribution | None = None
    if rate is None:
        origins.append(
            scope.origin(
                DEMAND, "unlimited raw material", "default", "no gtsim:demandRate on the line"
            )
        )
    else:
        per_hour = float(rate.value)
        if per_hour <= 0:
            raise BadInput(f"{scope.what}: {rate.source} must be > 0 parts per hour")
        family_found = scope.text(GTSIM.arrivalDistribution)
        family = family_of(family_found, scope, (Family.EXPONENTIAL, Family.DETERMINISTIC))
        interarrival = Distribution(family or Family.EXPONENTIAL, 3600.0 / per_hour)
        interarrival.check(f"{scope.what}: time between orders")
        how = family_found.source if family_found else "Poisson arrivals (exponential) by default"
        origins.append(
            scope.origin(
                DEMAND,
                f"{per_hour:g} parts/h, {interarrival.describe()} between orders",
                "graph",
                f"{rate.source}; {how}",
            )
        )
    products = _whole(scope, GTSIM.productVariants) or 1
    batch = _whole(scope, GTSIM.batchSize)
    if products > 1 and batch is None:
        raise BadInput(
            f"{scope.what}: gtsim:productVariants is {products}, so the line needs "
            "gtsim:batchSize (parts per product run)"
        )
    if products == 1:
        source = "graph" if scope.number(GTSIM.productVariants) else "default"
        origins.append(scope.origin(PRODUCTS, "1 product", source, "no changeovers"))
        batch = 0
    else:
        origins.append(
            scope.origin(
                PRODUCTS,
                f"{products} products in batches of {batch}",
                "graph",
                "gtsim:productVariants and gtsim:batchSize on the line",
            )
        )
    return ArrivalSpec(interarrival, products, batch or 0), origins


def _calendar(scope: Scope) -> tuple[ShiftCalendar, Origin]:
    """:raises BadInput: a shift calendar that does not parse."""
    found = scope.text(GTSIM.shiftCalendar)
    if found is None:
        calendar = ShiftCalendar()
        return calendar, scope.origin(
            CALENDAR, "24/7", "default", "no gtsim:shiftCalendar: the line works around the clock"
        )
    try:
        calendar = parse_calendar(str(found.value))
    except BadInput as exc:
        raise BadInput(f"{scope.what}: {found.source}: {exc.message}") from None
    return calendar, scope.origin(CALENDAR, describe_calendar(calendar), "graph", found.source)
