"""Calibrate a line model from value history: fitted processing, failure, repair times
and power per state, machine by machine.

What is read per machine, over ``[start, end)``:

- ``gt:cycleTime``: processing time. Polled sources repeat the last part's time until
  the next part is done, so consecutive identical values count once.
- ``gt:machineState``: a run of ``down`` is one repair (until the next other state);
  the time spent ``producing`` between two downs is one operating time between
  failures.
- ``gt:activePower``: joined to the state in force at each point; mean kW per state
  (``starved`` counts as idle, as in :class:`~graphtwin.sim.spec.Power`).

A parameter with too little data keeps its graph or default value, and its origin
says why it was not calibrated.
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from graphtwin.errors import BadInput
from graphtwin.history.port import MAX_POINTS, HistoryPoint, HistoryStore, check_range
from graphtwin.semantics.vocab import GT
from graphtwin.sim.fitting import fit_durations
from graphtwin.sim.machine_params import (
    DEFAULT_POWER_SHARE,
    FAILURES,
    POWER_STATES,
    PROCESSING,
    PROCESSING_FAMILY,
    REPAIR,
    power_parameter,
)
from graphtwin.sim.spec import Distribution, Family, LineSpec, MachineSpec, Origin
from graphtwin.values import Quality

MIN_CYCLE_SAMPLES = 10
MIN_REPAIRS = 3
MIN_POWER_POINTS = 10
# A repeated cycle time this share of a cycle after the last is still the same part.
SAME_PART = 0.9
_SERIES = (str(GT.cycleTime), str(GT.machineState), str(GT.activePower))
# Machine states whose power counts towards a Power field.
_POWER_STATE = {"starved": "idle"}


@dataclass
class _Result:
    """What calibration found for one machine: its new spec and origins by parameter."""

    machine: MachineSpec
    origins: dict[str, Origin]
    skipped: dict[str, str]  # parameter -> why not calibrated


async def calibrate(
    spec: LineSpec, history: HistoryStore, start: datetime, end: datetime
) -> LineSpec:
    """A copy of ``spec`` with every machine parameter that history supports fitted.

    :raises BadInput: a naive ``start`` / ``end``, or ``start`` not before ``end``.
    """
    check_range(start, end)
    machines = [m for station in spec.stations for m in station.machines]
    reads = [
        history.points((m.iri, key), start, end, MAX_POINTS) for m in machines for key in _SERIES
    ]
    series = await asyncio.gather(*reads)
    window = f"{_stamp(start)}..{_stamp(end)}"

    by_asset: dict[str, list[Origin]] = {}
    for known in spec.origins:
        by_asset.setdefault(known.asset, []).append(known)

    def fit_all() -> dict[str, _Result]:
        found = {}
        for i, machine in enumerate(machines):
            cycle, states, power = series[3 * i : 3 * i + 3]
            defaults = {o.parameter for o in by_asset.get(machine.iri, ()) if o.source == "default"}
            found[machine.iri] = _calibrate_machine(machine, cycle, states, power, window, defaults)
        return found

    # Fitting (scipy, up to MAX_POINTS a series) is CPU work: off the event loop.
    results = await asyncio.to_thread(fit_all)

    stations = tuple(
        replace(station, machines=tuple(results[m.iri].machine for m in station.machines))
        for station in spec.stations
    )
    origins: list[Origin] = []
    seen: set[tuple[str, str]] = set()
    for origin in spec.origins:
        result = results.get(origin.asset)
        key = (origin.asset, origin.parameter)
        if result is None:
            origins.append(origin)
        elif origin.parameter in result.origins:
            origins.append(result.origins[origin.parameter])
        elif origin.parameter in result.skipped:
            why = result.skipped[origin.parameter]
            detail = f"{origin.detail}; {why}" if origin.detail else why
            origins.append(replace(origin, detail=detail))
        else:
            origins.append(origin)
        seen.add(key)
    # Parameters the graph model had no origin for (none of topology's, but a spec
    # may come from elsewhere) are added, not lost.
    for iri, result in results.items():
        origins += [o for p, o in result.origins.items() if (iri, p) not in seen]
    return replace(spec, stations=stations, origins=tuple(origins))


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _capped(points: Sequence[HistoryPoint]) -> str:
    if len(points) >= MAX_POINTS:
        return f" (capped at the first {MAX_POINTS:,} points of the window)"
    return ""


def _calibrate_machine(
    machine: MachineSpec,
    cycle: list[HistoryPoint],
    states: list[HistoryPoint],
    power: list[HistoryPoint],
    window: str,
    defaults: set[str],
) -> _Result:
    result = _Result(machine, {}, {})
    _processing(result, cycle, window)
    runs = _runs(states)
    _reliability(result, runs, window + _capped(states))
    _power(result, runs, power, window + _capped(power) + _capped(states), defaults)
    return result


def _origin(result: _Result, parameter: str, value: str, detail: str) -> None:
    result.origins[parameter] = Origin(result.machine.iri, parameter, value, "history", detail)


# -- processing time -------------------------------------------------------------


def cycle_samples(points: Sequence[HistoryPoint]) -> list[float]:
    """Good, positive numeric cycle times, one per part.

    A polled source repeats the last part's time until the next part is done. The
    next part cannot be done sooner than one cycle after the last, so a repeat that
    comes within 90 % of that time is such a poll and is dropped; a repeat after it
    is a new part that took as long (a machine with a steady cycle keeps its samples).
    """
    samples: list[float] = []
    previous: tuple[datetime, float] | None = None
    for point in points:
        value = point.value
        if point.quality is not Quality.GOOD or isinstance(value, bool):
            continue
        if not isinstance(value, (int, float)) or value <= 0:
            continue
        if previous is not None and value == previous[1]:
            since = (point.time - previous[0]).total_seconds()
            if since < SAME_PART * value:
                continue
        samples.append(float(value))
        previous = (point.time, float(value))
    return samples


def _processing(result: _Result, points: list[HistoryPoint], window: str) -> None:
    samples = cycle_samples(points)
    if len(samples) < MIN_CYCLE_SAMPLES:
        why = (
            f"calibration skipped: {len(samples)} cycle-time samples in {window}, "
            f"need {MIN_CYCLE_SAMPLES}"
        )
        result.skipped[PROCESSING] = result.skipped[PROCESSING_FAMILY] = why
        return
    fit = fit_durations(samples)
    dist = fit.distribution
    try:
        dist.check("fitted processing time")
    except BadInput as refused:
        why = f"calibration skipped: {refused.message} from gt:cycleTime {window}"
        result.skipped[PROCESSING] = result.skipped[PROCESSING_FAMILY] = why
        return
    where = f"{len(samples)} gt:cycleTime samples {window}{_capped(points)}"
    if fit.ks is None:
        detail = f"deterministic: {where} vary by less than 1 %"
    else:
        detail = f"{dist.family.value} fitted to {where}, KS D={fit.ks:.3f}"
    result.machine = replace(result.machine, processing=dist)
    _origin(result, PROCESSING, dist.describe(), detail)
    _origin(
        result,
        PROCESSING_FAMILY,
        dist.family.value,
        f"chosen by the Kolmogorov-Smirnov statistic: {fit.describe_choice()}",
    )


# -- failures and repairs --------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A stretch of one machine state; ``end`` None: still going at the last point."""

    state: str
    start: datetime
    end: datetime | None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds() if self.end else 0.0


def _runs(points: Sequence[HistoryPoint]) -> list[Run]:
    """Consecutive good state points merged into runs of one state."""
    marks: list[tuple[datetime, str]] = []
    for point in points:
        if point.quality is not Quality.GOOD or not isinstance(point.value, str):
            continue
        state = point.value.strip().lower()
        if not marks or marks[-1][1] != state:
            marks.append((point.time, state))
    return [
        Run(state, start, marks[i + 1][0] if i + 1 < len(marks) else None)
        for i, (start, state) in enumerate(marks)
    ]


def repairs_and_uptimes(runs: Sequence[Run]) -> tuple[list[float], list[float]]:
    """Repair durations (finished down runs) and the producing seconds between the end
    of one down and the start of the next."""
    repairs: list[float] = []
    uptimes: list[float] = []
    producing: float | None = None  # None until the first down has ended
    for run in runs:
        if run.state == "down":
            if producing is not None:
                uptimes.append(producing)
            if run.end is None:
                break  # still down at the end: the repair's length is unknown
            repairs.append(run.seconds)
            producing = 0.0
        elif run.state == "producing" and producing is not None:
            producing += run.seconds
    return repairs, uptimes


def _reliability(result: _Result, runs: list[Run], window: str) -> None:
    repairs, uptimes = repairs_and_uptimes(runs)
    # A down run with no time (two state points at one instant) is no repair. Zero
    # uptimes stay: back-to-back failures are failures, and dropping them would
    # make the machine look more reliable than it is (MLE: producing time / failures).
    repairs = [r for r in repairs if r > 0]
    if len(repairs) < MIN_REPAIRS or sum(uptimes) <= 0:
        why = (
            f"calibration skipped: {len(repairs)} repairs (runs of gt:machineState "
            f'"down") in {window}, need {MIN_REPAIRS}'
        )
        if len(repairs) >= MIN_REPAIRS:
            why = f"calibration skipped: no producing time between failures in {window}"
        result.skipped[FAILURES] = result.skipped[REPAIR] = why
        return
    failure = Distribution.exponential(statistics.fmean(uptimes))
    repair_fit = fit_durations(repairs, (Family.LOGNORMAL, Family.EXPONENTIAL))
    repair = repair_fit.distribution
    try:
        failure.check("fitted time between failures")
        repair.check("fitted repair time")
    except BadInput as refused:
        result.skipped[FAILURES] = result.skipped[REPAIR] = (
            f"calibration skipped: {refused.message} from gt:machineState {window}"
        )
        return
    result.machine = replace(result.machine, failure=failure, repair=repair)
    _origin(
        result,
        FAILURES,
        failure.describe(),
        f"exponential (maximum likelihood) fitted to {len(uptimes)} operating times between "
        f"failures from gt:machineState {window}",
    )
    how = f"{repair.family.value} fitted to" if repair_fit.ks is not None else "deterministic:"
    ks = f", {repair_fit.describe_choice()}" if repair_fit.ks is not None else ""
    _origin(
        result,
        REPAIR,
        repair.describe(),
        f'{how} {len(repairs)} repairs (runs of gt:machineState "down") {window}{ks}',
    )


# -- power -----------------------------------------------------------------------


def power_by_state(runs: Sequence[Run], points: Sequence[HistoryPoint]) -> dict[str, list[float]]:
    """Good numeric power points grouped by the Power field of the state in force."""
    starts = [run.start for run in runs]
    grouped: dict[str, list[float]] = {}
    for point in points:
        value = point.value
        if point.quality is not Quality.GOOD or isinstance(value, bool):
            continue
        if not isinstance(value, (int, float)):
            continue
        index = bisect.bisect_right(starts, point.time) - 1
        if index < 0:
            continue  # before the first known state
        state = _POWER_STATE.get(runs[index].state, runs[index].state)
        if state in POWER_STATES:
            grouped.setdefault(state, []).append(float(value))
    return grouped


def _power(
    result: _Result,
    runs: list[Run],
    points: list[HistoryPoint],
    window: str,
    defaults: set[str],
) -> None:
    grouped = power_by_state(runs, points)
    changes: dict[str, float] = {}
    for state in POWER_STATES:
        values = grouped.get(state, [])
        parameter = power_parameter(state)
        if len(values) < MIN_POWER_POINTS:
            result.skipped[parameter] = (
                f"calibration skipped: {len(values)} gt:activePower points while {state} "
                f"in {window}, need {MIN_POWER_POINTS}"
            )
            continue
        changes[state] = statistics.fmean(values)
        _origin(
            result,
            parameter,
            f"{changes[state]:g} kW",
            f"mean of {len(values)} gt:activePower points while {state} {window}",
        )
    if "producing" in changes:
        # States whose power was a default share of the producing power follow the
        # calibrated producing power (unless they were calibrated themselves).
        for state, share in DEFAULT_POWER_SHARE.items():
            parameter = power_parameter(state)
            if state in changes or parameter not in defaults:
                continue
            changes[state] = changes["producing"] * share
            result.origins[parameter] = Origin(
                result.machine.iri,
                parameter,
                f"{changes[state]:g} kW",
                "default",
                f"{share:.0%} of the calibrated producing power; "
                + result.skipped.pop(parameter, ""),
            )
    if changes:
        result.machine = replace(result.machine, power=replace(result.machine.power, **changes))
