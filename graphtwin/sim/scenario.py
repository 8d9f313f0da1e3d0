"""What-if scenarios: changes applied to a line model before it is simulated.

A scenario never touches the graph: it returns a changed copy of the
:class:`~graphtwin.sim.spec.LineSpec` and records every change as an
:class:`~graphtwin.sim.spec.Origin` with source "scenario", so the answer says what
was assumed. Unknown assets and impossible values are refused with the field named.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from graphtwin.errors import BadInput
from graphtwin.sim.calendar import parse_calendar
from graphtwin.sim.spec import LineSpec, MachineSpec, Origin, StationSpec

MAX_MULTIPLIER = 100.0
MAX_CAPACITY = 100_000
MAX_ADDED_MACHINES = 20


@dataclass(frozen=True, slots=True)
class MachineDown:
    """``asset`` (a machine, or a station: all its machines) is unavailable from
    ``start`` to ``end`` hours after the start of the horizon."""

    asset: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class ProcessingChange:
    """Processing time of ``asset`` (machine or station) scaled by ``factor``, or
    set to a mean of ``seconds`` (the distribution keeps its shape)."""

    asset: str
    factor: float | None = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class BufferChange:
    buffer: str
    capacity: int


@dataclass(frozen=True, slots=True)
class AddedMachine:
    """``count`` more machines at ``station``, each a copy of its first machine."""

    station: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class DeferredMaintenance:
    """Planned maintenance of ``asset`` deferred: the time between maintenance
    stops is multiplied by ``interval_factor``; ``mtbf_factor`` (< 1 for a machine
    that wears without it) scales its mean operating time between failures."""

    asset: str
    interval_factor: float
    mtbf_factor: float = 1.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str = "baseline"
    demand_multiplier: float | None = None
    machines_down: tuple[MachineDown, ...] = ()
    processing: tuple[ProcessingChange, ...] = ()
    buffers: tuple[BufferChange, ...] = ()
    added_machines: tuple[AddedMachine, ...] = ()
    shift_calendar: str | None = None
    deferred_maintenance: tuple[DeferredMaintenance, ...] = ()

    @property
    def empty(self) -> bool:
        return self == Scenario(self.name)


def _factor(value: float, what: str, path: tuple[str, ...]) -> None:
    """:raises BadInput: a factor outside [1/MAX_MULTIPLIER, MAX_MULTIPLIER]. Bounded
    below too: a factor near zero turns a time into a flood of simulation events."""
    low = 1 / MAX_MULTIPLIER
    if not math.isfinite(value) or not low <= value <= MAX_MULTIPLIER:
        raise BadInput(
            f"{what} must be between {low:g} and {MAX_MULTIPLIER:g}, got {value:g}", path=path
        )


class _Editor:
    """Applies one scenario's changes to a line, machine by machine."""

    def __init__(self, line: LineSpec, scenario: Scenario, warmup: float, horizon: float) -> None:
        self.line = line
        self.scenario = scenario
        self.warmup = warmup
        self.horizon = horizon
        self.origins: list[Origin] = []
        self.stations = {s.iri: s for s in line.stations}
        self.machine_station = {m.iri: s.iri for s in line.stations for m in s.machines}

    def note(self, asset: str, parameter: str, value: str) -> None:
        self.origins.append(Origin(asset, parameter, value, "scenario", self.scenario.name))

    def machines_of(self, asset: str, path: tuple[str, ...]) -> list[str]:
        if asset in self.stations:
            return [m.iri for m in self.stations[asset].machines]
        if asset in self.machine_station:
            return [asset]
        raise BadInput(f"{asset} is not a station or machine of line {self.line.iri}", path=path)

    def change(self, machines: list[str], edit: Callable[[MachineSpec], MachineSpec]) -> None:
        wanted = set(machines)
        for iri, station in self.stations.items():
            if any(m.iri in wanted for m in station.machines):
                self.stations[iri] = replace(
                    station,
                    machines=tuple(edit(m) if m.iri in wanted else m for m in station.machines),
                )

    def apply(self) -> LineSpec:
        s = self.scenario
        line = self.line
        # Machines are added first, as copies of the station's first machine as the
        # graph has it: a change aimed at that machine must not be copied, and a
        # change aimed at the station must reach the new machines too.
        for i, added in enumerate(s.added_machines):
            self._add_machines(added, ("scenario", "addedMachines", str(i)))
        for i, down in enumerate(s.machines_down):
            self._machine_down(down, ("scenario", "machinesDown", str(i)))
        for i, change in enumerate(s.processing):
            self._processing(change, ("scenario", "processingTimes", str(i)))
        for i, deferred in enumerate(s.deferred_maintenance):
            self._deferred(deferred, ("scenario", "deferredMaintenance", str(i)))
        buffers = {b.id: b for b in line.buffers}
        for i, resize in enumerate(s.buffers):
            path = ("scenario", "bufferCapacities", str(i))
            if resize.buffer not in buffers:
                raise BadInput(
                    f"{resize.buffer} is not a buffer of line {line.iri}", path=(*path, "buffer")
                )
            if not 1 <= resize.capacity <= MAX_CAPACITY:
                raise BadInput(
                    f"buffer capacity must be between 1 and {MAX_CAPACITY:,}, "
                    f"got {resize.capacity}",
                    path=(*path, "capacity"),
                )
            buffers[resize.buffer] = replace(buffers[resize.buffer], capacity=resize.capacity)
            self.note(resize.buffer, "capacity", str(resize.capacity))
        arrivals = line.arrivals
        if s.demand_multiplier is not None:
            demand_path = ("scenario", "demandMultiplier")
            _factor(s.demand_multiplier, "demand multiplier", demand_path)
            if arrivals.interarrival is None:
                raise BadInput(
                    f"line {line.iri} takes unlimited raw material (it has no gtsim:demandRate), "
                    "so there is no demand to multiply; set gtsim:demandRate on the line",
                    path=demand_path,
                )
            arrivals = replace(
                arrivals, interarrival=arrivals.interarrival.scaled(1 / s.demand_multiplier)
            )
            self.note(line.iri, "demand", f"x{s.demand_multiplier:g}")
        calendar = line.calendar
        if s.shift_calendar is not None:
            try:
                calendar = parse_calendar(s.shift_calendar)
            except BadInput as error:
                raise BadInput(error.message, path=("scenario", "shiftCalendar")) from None
            self.note(line.iri, "shiftCalendar", calendar.text)
        return replace(
            line,
            stations=tuple(self.stations[st.iri] for st in line.stations),
            buffers=tuple(buffers[b.id] for b in line.buffers),
            arrivals=arrivals,
            calendar=calendar,
            origins=(*line.origins, *self.origins),
        )

    def _machine_down(self, down: MachineDown, path: tuple[str, ...]) -> None:
        machines = self.machines_of(down.asset, (*path, "asset"))
        if (
            not (math.isfinite(down.start) and math.isfinite(down.end))
            or not 0 <= down.start < down.end
        ):
            raise BadInput(
                "a downtime window needs 0 <= start < end (hours), "
                f"got {down.start:g}..{down.end:g}",
                path=path,
            )
        if down.start * 3600.0 >= self.horizon:
            raise BadInput(
                f"a downtime window from {down.start:g} h starts after the horizon "
                f"({self.horizon / 3600:g} h) ends",
                path=(*path, "fromHour"),
            )
        window = (self.warmup + down.start * 3600.0, self.warmup + down.end * 3600.0)
        self.change(machines, lambda m: replace(m, down_windows=(*m.down_windows, window)))
        for iri in machines:
            self.note(iri, "downtime", f"{down.start:g} h to {down.end:g} h")

    def _processing(self, change: ProcessingChange, path: tuple[str, ...]) -> None:
        machines = self.machines_of(change.asset, (*path, "asset"))
        if (change.factor is None) == (change.seconds is None):
            raise BadInput("give either factor or seconds for a processing time change", path=path)
        if change.factor is not None:
            _factor(change.factor, "processing time factor", (*path, "factor"))
        elif change.seconds is not None and not (
            math.isfinite(change.seconds) and change.seconds > 0
        ):
            raise BadInput(
                f"processing time must be more than 0 seconds, got {change.seconds:g}",
                path=(*path, "seconds"),
            )

        def edit(m: MachineSpec) -> MachineSpec:
            if change.factor is not None:
                factor = change.factor
            else:
                factor = (change.seconds or 0) / m.processing.mean
                # The same bounds as a factor: from the graph's mean to the new one.
                _factor(factor, f"processing time of {m.iri} changed by a factor that", path)
            processing = m.processing.scaled(factor)
            self.note(m.iri, "processingTime", processing.describe())
            return replace(m, processing=processing)

        self.change(machines, edit)

    def _deferred(self, deferred: DeferredMaintenance, path: tuple[str, ...]) -> None:
        machines = self.machines_of(deferred.asset, (*path, "asset"))
        _factor(deferred.interval_factor, "maintenance interval factor", (*path, "intervalFactor"))
        _factor(deferred.mtbf_factor, "MTBF factor", (*path, "mtbfFactor"))

        def edit(m: MachineSpec) -> MachineSpec:
            if m.maintenance_interval is None:
                raise BadInput(
                    f"machine {m.iri} has no planned maintenance to defer: it needs "
                    "gt:maintenanceInterval and gtsim:maintenanceDuration",
                    path=(*path, "asset"),
                )
            if deferred.mtbf_factor != 1.0 and m.failure is None:
                raise BadInput(
                    f"machine {m.iri} has no failures to scale: it needs gt:mtbf and gt:mttr",
                    path=(*path, "mtbfFactor"),
                )
            interval = m.maintenance_interval * deferred.interval_factor
            failure = m.failure.scaled(deferred.mtbf_factor) if m.failure is not None else None
            self.note(m.iri, "maintenanceInterval", f"{interval / 3600:g} h")
            if failure is not None and deferred.mtbf_factor != 1.0:
                self.note(m.iri, "failures", failure.describe())
            return replace(m, maintenance_interval=interval, failure=failure)

        self.change(machines, edit)

    def _add_machines(self, added: AddedMachine, path: tuple[str, ...]) -> None:
        station = self.stations.get(added.station)
        if station is None:
            raise BadInput(
                f"{added.station} is not a station of line {self.line.iri}", path=(*path, "station")
            )
        if not 1 <= added.count <= MAX_ADDED_MACHINES:
            raise BadInput(
                f"between 1 and {MAX_ADDED_MACHINES} machines can be added to a station, "
                f"got {added.count}",
                path=(*path, "count"),
            )
        model = station.machines[0]
        existing = len(station.machines)
        copies = tuple(
            replace(
                model, iri=f"{station.iri}#added-{existing + k}", label=f"{model.label} (copy {k})"
            )
            for k in range(1, added.count + 1)
        )
        self.stations[station.iri] = StationSpec(
            station.iri,
            station.label,
            (*station.machines, *copies),
            station.inputs,
            station.outputs,
        )
        self.note(station.iri, "machines", f"{existing} + {added.count} like {model.iri}")


def apply_scenario(
    line: LineSpec, scenario: Scenario, *, warmup: float, horizon: float = math.inf
) -> LineSpec:
    """``line`` with ``scenario`` applied; downtime windows count from the start of
    the ``horizon`` (s), after the ``warmup`` (s), and must start within it.

    :raises BadInput: an asset the line does not have, or an impossible value.
    """
    if scenario.empty:
        return line
    return _Editor(line, scenario, warmup, horizon).apply()
