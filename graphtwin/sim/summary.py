"""Replications into answers: means with 95 % confidence intervals, and paired deltas.

Replications are independent (each has its own random streams), so a metric's
confidence interval is Student's t over the per-replication values. Scenario
comparisons use common random numbers: replication ``i`` of every scenario draws
from the same streams, so the interval of a delta is taken over the per-replication
differences, which is much tighter than comparing two independent intervals.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from graphtwin.sim.results import STATES, BufferRun, Replication, StationRun
from graphtwin.sim.spec import LineSpec, Origin

#: The states a station's time is split into, as the answer names them.
SHARES = STATES
BOTTLENECK_METHOD = (
    "active-time share (after Roser's active-period method): the station that is "
    "least often waiting for parts or for room downstream, i.e. with the largest share "
    "of time producing, down, in setup or in maintenance"
)
CONFIDENCE = 0.95


@cache
def _t_quantile(freedom: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + CONFIDENCE / 2, freedom))


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over replications and its 95 % confidence interval (None with one value)."""

    mean: float
    half_width: float | None
    n: int

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width

    @staticmethod
    def of(values: Sequence[float]) -> Estimate:
        n = len(values)
        mean = math.fsum(values) / n
        if n < 2:
            return Estimate(mean, None, n)
        sd = statistics.stdev(values)
        return Estimate(mean, _t_quantile(n - 1) * sd / math.sqrt(n), n)

    @staticmethod
    def optional(values: Sequence[float | None]) -> Estimate | None:
        present = [v for v in values if v is not None]
        return Estimate.of(present) if present else None


@dataclass(frozen=True, slots=True)
class StationSummary:
    iri: str
    label: str
    machines: int
    utilization: Estimate
    shares: dict[str, Estimate]
    active_share: Estimate
    availability: Estimate
    performance: Estimate
    quality: Estimate
    oee: Estimate
    produced: Estimate
    scrapped: Estimate


@dataclass(frozen=True, slots=True)
class BufferSummary:
    id: str
    label: str
    capacity: int | None  # None for the unbounded queue of released orders
    implicit: bool
    mean_level: Estimate
    max_level: int
    mean_wait: Estimate | None  # seconds


@dataclass(frozen=True, slots=True)
class Bottleneck:
    station: str
    label: str
    method: str
    # Share of replications in which this station had the largest active share.
    confidence: float
    active_share: Estimate
    runner_up: str | None
    # Active share of the bottleneck minus the runner-up's, paired per replication.
    margin: Estimate | None


@dataclass(frozen=True, slots=True)
class Summary:
    line: str
    label: str
    scenario: str
    horizon: float  # seconds
    warmup: float
    replications: int
    seed: int
    throughput: Estimate  # good units per hour
    good_units: Estimate
    scrapped_units: Estimate
    wip: Estimate
    lead_time: Estimate | None  # seconds, mean
    lead_time_p50: Estimate | None
    lead_time_p90: Estimate | None
    lead_time_p95: Estimate | None
    lead_time_max: float | None
    energy_kwh: Estimate
    energy_per_unit: Estimate | None  # kWh per good unit
    stations: tuple[StationSummary, ...]
    buffers: tuple[BufferSummary, ...]
    bottleneck: Bottleneck
    origins: tuple[Origin, ...]
    events: int
    cpu_seconds: float


def _station_summary(line: LineSpec, runs: Sequence[StationRun]) -> StationSummary:
    first = runs[0]
    spec = line.station(first.iri)

    def est(get: Callable[[StationRun], float]) -> Estimate:
        return Estimate.of([get(r) for r in runs])

    return StationSummary(
        iri=first.iri,
        label=spec.label,
        machines=first.machines,
        utilization=est(lambda r: r.utilization),
        shares={name: Estimate.of([r.shares[i] for r in runs]) for i, name in enumerate(SHARES)},
        active_share=est(lambda r: r.active_share),
        availability=est(lambda r: r.availability),
        performance=est(lambda r: r.performance),
        quality=est(lambda r: r.quality),
        oee=est(lambda r: r.oee),
        produced=est(lambda r: float(r.produced)),
        scrapped=est(lambda r: float(r.scrapped)),
    )


def _buffer_summary(line: LineSpec, runs: Sequence[BufferRun], duration: float) -> BufferSummary:
    first = runs[0]
    specs = {b.id: b for b in line.buffers}
    spec = specs.get(first.id)
    return BufferSummary(
        id=first.id,
        label=spec.label if spec else "Released orders not yet started",
        capacity=spec.capacity if spec else None,
        implicit=spec.implicit if spec else False,
        mean_level=Estimate.of([r.mean_level for r in runs]),
        max_level=max(r.max_level for r in runs),
        mean_wait=Estimate.optional([r.mean_wait(duration) for r in runs]),
    )


def _bottleneck(line: LineSpec, reps: Sequence[Replication]) -> Bottleneck:
    votes = Counter(r.bottleneck for r in reps)
    order = [s.iri for s in line.stations]
    means = {
        iri: math.fsum(r.stations[i].active_share for r in reps) / len(reps)
        for i, iri in enumerate(order)
    }
    ranked = sorted(order, key=lambda iri: (-means[iri], order.index(iri)))
    top = ranked[0]
    top_index = order.index(top)
    runner = ranked[1] if len(ranked) > 1 else None
    margin = None
    if runner is not None:
        runner_index = order.index(runner)
        margin = Estimate.of(
            [
                r.stations[top_index].active_share - r.stations[runner_index].active_share
                for r in reps
            ]
        )
    return Bottleneck(
        station=top,
        label=line.station(top).label,
        method=BOTTLENECK_METHOD,
        confidence=votes[top] / len(reps),
        active_share=Estimate.of([r.stations[top_index].active_share for r in reps]),
        runner_up=runner,
        margin=margin,
    )


def summarize(
    line: LineSpec, scenario: str, reps: Sequence[Replication], *, warmup: float, seed: int
) -> Summary:
    """Everything the answer reports, over ``reps`` (at least one)."""
    reps = sorted(reps, key=lambda r: r.replication)
    duration = reps[0].duration
    return Summary(
        line=line.iri,
        label=line.label,
        scenario=scenario,
        horizon=duration,
        warmup=warmup,
        replications=len(reps),
        seed=seed,
        throughput=Estimate.of([r.throughput for r in reps]),
        good_units=Estimate.of([float(r.good) for r in reps]),
        scrapped_units=Estimate.of([float(r.scrapped) for r in reps]),
        wip=Estimate.of([r.wip for r in reps]),
        lead_time=Estimate.optional([r.lead_time_mean for r in reps]),
        lead_time_p50=Estimate.optional([r.lead_time_p50 for r in reps]),
        lead_time_p90=Estimate.optional([r.lead_time_p90 for r in reps]),
        lead_time_p95=Estimate.optional([r.lead_time_p95 for r in reps]),
        lead_time_max=max(
            (r.lead_time_max for r in reps if r.lead_time_max is not None), default=None
        ),
        energy_kwh=Estimate.of([r.energy_kwh for r in reps]),
        energy_per_unit=Estimate.optional([r.energy_per_unit for r in reps]),
        stations=tuple(
            _station_summary(line, [r.stations[i] for r in reps]) for i in range(len(line.stations))
        ),
        buffers=tuple(
            _buffer_summary(line, [r.buffers[i] for r in reps], duration)
            for i in range(len(reps[0].buffers))
        ),
        bottleneck=_bottleneck(line, reps),
        origins=line.origins,
        events=sum(r.events for r in reps),
        cpu_seconds=math.fsum(r.wall_seconds for r in reps),
    )


# -- scenario comparison ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delta:
    """Variant minus baseline for one metric, paired per replication."""

    metric: str
    unit: str
    baseline: float
    variant: float
    delta: Estimate
    relative: float | None  # delta / baseline


#: Metrics compared between scenarios: name, unit, how to read it from a replication.
COMPARED: tuple[tuple[str, str, Callable[[Replication], float | None]], ...] = (
    ("throughput", "units/h", lambda r: r.throughput),
    ("wip", "parts", lambda r: r.wip),
    ("leadTime", "s", lambda r: r.lead_time_mean),
    ("leadTimeP95", "s", lambda r: r.lead_time_p95),
    ("energyPerUnit", "kWh/unit", lambda r: r.energy_per_unit),
)


def deltas(baseline: Sequence[Replication], variant: Sequence[Replication]) -> list[Delta]:
    """Paired deltas of the compared metrics; a metric missing in a replication
    (no unit finished) drops that pair."""
    base = sorted(baseline, key=lambda r: r.replication)
    other = sorted(variant, key=lambda r: r.replication)
    result = []
    for name, unit, read in COMPARED:
        pairs = [
            (b, v)
            for b, v in ((read(x), read(y)) for x, y in zip(base, other, strict=True))
            if b is not None and v is not None
        ]
        if not pairs:
            continue
        b_mean = math.fsum(b for b, _ in pairs) / len(pairs)
        v_mean = math.fsum(v for _, v in pairs) / len(pairs)
        delta = Estimate.of([v - b for b, v in pairs])
        result.append(
            Delta(name, unit, b_mean, v_mean, delta, delta.mean / b_mean if b_mean else None)
        )
    return result
