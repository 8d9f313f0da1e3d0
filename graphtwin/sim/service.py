"""The simulation service: line model from the graph (and history), scenarios, runs.

Every answer goes through the same steps: read the line, calibrate it if asked,
apply the scenario, run the replications in worker processes, summarize. The
``simulate`` and ``compare`` answers are awaited by the caller; ``start_*`` return
a job at once. Both are bounded: the expected number of simulation events is
estimated up front, and a run over the bound is refused with the bound named.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from graphtwin.errors import BadInput, Conflict
from graphtwin.history.port import HistoryStore
from graphtwin.sim.calibration import calibrate
from graphtwin.sim.engine import run_replication
from graphtwin.sim.jobs import Job, JobRegistry
from graphtwin.sim.pool import WorkerPool
from graphtwin.sim.results import Replication
from graphtwin.sim.scenario import BufferChange, ProcessingChange, Scenario, apply_scenario
from graphtwin.sim.spec import LineSpec, Origin
from graphtwin.sim.summary import Delta, Summary, deltas, summarize
from graphtwin.sim.topology import LineReader
from graphtwin.values import utcnow

MAX_HORIZON_HOURS = 8760.0  # one year
MAX_REPLICATIONS = 200
MAX_VARIANTS = 20
MAX_SWEEP = 400
MAX_CALIBRATION_DAYS = 366
MAX_SEED = 2**31 - 1  # a GraphQL Int
# Inline answers computed at once; more wait in no queue but are refused (retry, or a job).
MAX_INLINE = 4
# Expected simulation events a request may cost: inline answers must come back in
# well under a minute on two cores (~200k events/s per core), jobs in well under an hour.
INLINE_EVENTS = 20_000_000
JOB_EVENTS = 600_000_000
# Events per part and station (take, process, hand over), per failure or planned
# stop (the work before it, the stop), per arrival (the wait, the order).
EVENTS_PER_PART = 5
EVENTS_PER_STOP = 3
EVENTS_PER_ARRIVAL = 2
CAP_FACTOR = 4
MIN_CAP = 1_000_000


@dataclass(frozen=True, slots=True)
class RunSettings:
    horizon: float  # seconds observed
    warmup: float  # seconds simulated before statistics start
    replications: int
    seed: int
    calibrate: bool = False
    calibration_window: timedelta = timedelta(days=7)


def run_settings(
    *,
    horizon_hours: float,
    warmup_hours: float | None,
    replications: int,
    seed: int,
    calibrate: bool = False,
    calibration_days: float = 7.0,
) -> RunSettings:
    """Checked run settings; the warm-up defaults to a tenth of the horizon.

    :raises BadInput: a value out of its bounds (the bound is in the message).
    """
    if not math.isfinite(horizon_hours) or not 0 < horizon_hours <= MAX_HORIZON_HOURS:
        raise BadInput(
            f"horizon must be more than 0 and at most {MAX_HORIZON_HOURS:g} hours, "
            f"got {horizon_hours:g}",
            path=("horizon",),
        )
    warmup = horizon_hours / 10 if warmup_hours is None else warmup_hours
    if not math.isfinite(warmup) or not 0 <= warmup <= MAX_HORIZON_HOURS:
        raise BadInput(
            f"warmup must be between 0 and {MAX_HORIZON_HOURS:g} hours, got {warmup:g}",
            path=("warmup",),
        )
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise BadInput(
            f"replications must be between 1 and {MAX_REPLICATIONS}, got {replications}",
            path=("replications",),
        )
    if not 0 <= seed <= MAX_SEED:
        raise BadInput(f"seed must be between 0 and {MAX_SEED}, got {seed}", path=("seed",))
    if not math.isfinite(calibration_days) or not 0 < calibration_days <= MAX_CALIBRATION_DAYS:
        raise BadInput(
            f"calibration window must be more than 0 and at most {MAX_CALIBRATION_DAYS} days",
            path=("calibrationDays",),
        )
    return RunSettings(
        horizon_hours * 3600.0,
        warmup * 3600.0,
        replications,
        seed,
        calibrate,
        timedelta(days=calibration_days),
    )


def expected_events(line: LineSpec, settings: RunSettings) -> float:
    """A generous estimate of the events one replication of ``line`` schedules.

    Parts: each station makes at most what its machines can (every one busy all the
    time) and at most what reaches it (the demand at a source, what its feeders make
    further down), so a line its demand limits is not priced as if it ran flat out.
    Stops: every machine's failures and planned maintenance as if it never waited.
    """
    seconds = settings.horizon + settings.warmup
    interarrival = line.arrivals.interarrival
    demand = 1 / interarrival.mean if interarrival is not None else math.inf
    made: dict[str, float] = {}  # parts per second into each buffer
    events = 0.0
    for station in line.stations:  # in material-flow order
        capacity = sum(1 / machine.processing.mean for machine in station.machines)
        supply = sum(made.get(b, 0.0) for b in station.inputs) if station.inputs else demand
        rate = min(capacity, supply)
        for output in station.outputs:
            made[output] = made.get(output, 0.0) + rate
        events += EVENTS_PER_PART * rate * seconds
        for machine in station.machines:
            if machine.failure is not None:
                events += EVENTS_PER_STOP * seconds / machine.failure.mean
            if machine.maintenance_interval:
                events += EVENTS_PER_STOP * seconds / machine.maintenance_interval
    if interarrival is not None:
        events += EVENTS_PER_ARRIVAL * seconds / interarrival.mean
    return events


def event_cap(line: LineSpec, settings: RunSettings) -> float:
    """Where a replication is stopped: far above the estimate, so only a run the
    estimate badly misjudged (a pathological distribution) ever reaches it."""
    return max(CAP_FACTOR * expected_events(line, settings), MIN_CAP)


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline: Summary
    variants: tuple[tuple[Summary, tuple[Delta, ...]], ...]


@dataclass(frozen=True, slots=True)
class SweepPoint:
    capacity: int | None
    factor: float | None
    summary: Summary


@dataclass(frozen=True, slots=True)
class Sweep:
    buffers: tuple[str, ...]
    stations: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    wall_seconds: float

    @property
    def per_minute(self) -> float:
        return len(self.points) * 60.0 / self.wall_seconds if self.wall_seconds else 0.0


class Simulator:
    def __init__(
        self,
        reader: LineReader,
        history: HistoryStore | None,
        pool: WorkerPool,
        *,
        jobs: JobRegistry | None = None,
        inline_events: float = INLINE_EVENTS,
        job_events: float = JOB_EVENTS,
    ) -> None:
        self.reader = reader
        self.history = history
        self.pool = pool
        self.jobs = jobs or JobRegistry()
        self.inline_events = inline_events
        self.job_events = job_events
        self._inline = 0

    def use_history(self, history: HistoryStore) -> None:
        """Calibrate from ``history`` from now on (the store starts with live data)."""
        self.history = history

    async def model(self, line: str, settings: RunSettings) -> LineSpec:
        """The line as the graph describes it, calibrated from history if asked.

        :raises NotFound: no such line. :raises BadInput: a line that cannot be simulated.
        """
        spec = await self.reader.read(line)
        if settings.calibrate:
            end = utcnow()
            if self.history is None:
                return spec.with_origins(
                    Origin(
                        line, "calibration", "none", "default", "this server keeps no value history"
                    )
                )
            spec = await calibrate(spec, self.history, end - settings.calibration_window, end)
        return spec

    def _check_budget(self, lines: Sequence[LineSpec], settings: RunSettings, *, job: bool) -> None:
        events = settings.replications * sum(expected_events(line, settings) for line in lines)
        bound = self.job_events if job else self.inline_events
        if events > bound:
            hint = "" if job else "; start it as a job (startSimulation) or shorten it"
            raise BadInput(
                f"this run would simulate about {events:,.0f} events, more than the "
                f"{bound:,.0f} allowed {'for a job' if job else 'for an inline answer'}{hint}",
                path=("horizon",),
            )

    async def _run(
        self, lines: Sequence[LineSpec], settings: RunSettings, job: Job | None
    ) -> list[list[Replication]]:
        calls = [
            (line, settings.horizon, settings.warmup, settings.seed, rep, event_cap(line, settings))
            for line in lines
            for rep in range(settings.replications)
        ]
        results = await self.pool.gather(
            run_replication,
            calls,
            on_done=job.tick if job is not None else None,
            on_submit=job.track if job is not None else None,
        )
        n = settings.replications
        return [results[i * n : (i + 1) * n] for i in range(len(lines))]

    def _summary(
        self, line: LineSpec, name: str, reps: list[Replication], settings: RunSettings
    ) -> Summary:
        return summarize(line, name, reps, warmup=settings.warmup, seed=settings.seed)

    # -- one scenario ---------------------------------------------------------------
    async def _prepare_one(self, line: str, scenario: Scenario, settings: RunSettings) -> LineSpec:
        return apply_scenario(
            await self.model(line, settings),
            scenario,
            warmup=settings.warmup,
            horizon=settings.horizon,
        )

    @contextlib.contextmanager
    def _inline_slot(self) -> Iterator[None]:
        """:raises Conflict: ``MAX_INLINE`` inline answers are being computed already."""
        if self._inline >= MAX_INLINE:
            raise Conflict(
                f"{self._inline} simulations are being answered already (at most "
                f"{MAX_INLINE} at once); retry shortly, or start a job"
            )
        self._inline += 1
        try:
            yield
        finally:
            self._inline -= 1

    async def simulate(self, line: str, scenario: Scenario, settings: RunSettings) -> Summary:
        spec = await self._prepare_one(line, scenario, settings)
        self._check_budget([spec], settings, job=False)
        with self._inline_slot():
            [reps] = await self._run([spec], settings, None)
        # Summaries are plain CPU work: off the event loop.
        return await asyncio.to_thread(self._summary, spec, scenario.name, reps, settings)

    async def start_simulation(
        self, line: str, site: str | None, scenario: Scenario, settings: RunSettings
    ) -> Job:
        spec = await self._prepare_one(line, scenario, settings)
        self._check_budget([spec], settings, job=True)

        async def work(job: Job) -> Summary:
            [reps] = await self._run([spec], settings, job)
            return await asyncio.to_thread(self._summary, spec, scenario.name, reps, settings)

        return self.jobs.start("simulation", line, site, settings.replications, work)

    # -- baseline and variants, common random numbers --------------------------------
    async def _prepare_many(
        self, line: str, baseline: Scenario, variants: Sequence[Scenario], settings: RunSettings
    ) -> list[tuple[Scenario, LineSpec]]:
        if not 1 <= len(variants) <= MAX_VARIANTS:
            raise BadInput(
                f"compare 1 to {MAX_VARIANTS} variants, got {len(variants)}", path=("variants",)
            )
        names = [baseline.name, *(v.name for v in variants)]
        if len(set(names)) != len(names):
            raise BadInput("scenario names must be unique within a comparison", path=("variants",))
        model = await self.model(line, settings)
        return [
            (s, apply_scenario(model, s, warmup=settings.warmup, horizon=settings.horizon))
            for s in (baseline, *variants)
        ]

    def _comparison(
        self,
        prepared: list[tuple[Scenario, LineSpec]],
        runs: list[list[Replication]],
        settings: RunSettings,
    ) -> Comparison:
        (base_scenario, base_line), *others = prepared
        base_reps, *other_reps = runs
        return Comparison(
            baseline=self._summary(base_line, base_scenario.name, base_reps, settings),
            variants=tuple(
                (self._summary(spec, scenario.name, reps, settings), tuple(deltas(base_reps, reps)))
                for (scenario, spec), reps in zip(others, other_reps, strict=True)
            ),
        )

    async def compare(
        self, line: str, baseline: Scenario, variants: Sequence[Scenario], settings: RunSettings
    ) -> Comparison:
        prepared = await self._prepare_many(line, baseline, variants, settings)
        self._check_budget([spec for _, spec in prepared], settings, job=False)
        with self._inline_slot():
            runs = await self._run([spec for _, spec in prepared], settings, None)
        return await asyncio.to_thread(self._comparison, prepared, runs, settings)

    async def start_comparison(
        self,
        line: str,
        site: str | None,
        baseline: Scenario,
        variants: Sequence[Scenario],
        settings: RunSettings,
    ) -> Job:
        prepared = await self._prepare_many(line, baseline, variants, settings)
        specs = [spec for _, spec in prepared]
        self._check_budget(specs, settings, job=True)

        async def work(job: Job) -> Comparison:
            runs = await self._run(specs, settings, job)
            return await asyncio.to_thread(self._comparison, prepared, runs, settings)

        return self.jobs.start("comparison", line, site, settings.replications * len(specs), work)

    # -- a grid of buffer sizes x processing times, as one job -----------------------
    async def start_sweep(
        self,
        line: str,
        site: str | None,
        base: Scenario,
        *,
        buffers: Sequence[str],
        capacities: Sequence[int],
        stations: Sequence[str],
        factors: Sequence[float],
        settings: RunSettings,
    ) -> Job:
        """Every combination of ``capacities`` (applied to ``buffers``, default all
        buffers of the line) and processing time ``factors`` (applied to
        ``stations``, default all), on top of ``base``."""
        model = apply_scenario(
            await self.model(line, settings),
            base,
            warmup=settings.warmup,
            horizon=settings.horizon,
        )
        buffers = list(buffers) or [b.id for b in model.buffers if not b.implicit]
        stations = list(stations) or [s.iri for s in model.stations]
        sizes: list[int | None] = [*capacities] or [None]
        scales: list[float | None] = [*factors] or [None]
        grid = list(itertools.product(sizes, scales))
        if not capacities and not factors:
            raise BadInput(
                "a sweep needs capacities, processing time factors or both", path=("sweep",)
            )
        if len(grid) > MAX_SWEEP:
            raise BadInput(
                f"a sweep may have at most {MAX_SWEEP} configurations, got {len(grid)}",
                path=("sweep",),
            )
        names = [f"capacity={capacity} factor={factor}" for capacity, factor in grid]
        specs = [
            apply_scenario(
                model,
                Scenario(
                    name=name,
                    buffers=tuple(BufferChange(b, capacity) for b in buffers)
                    if capacity is not None
                    else (),
                    processing=tuple(ProcessingChange(s, factor=factor) for s in stations)
                    if factor is not None
                    else (),
                ),
                warmup=settings.warmup,
                horizon=settings.horizon,
            )
            for name, (capacity, factor) in zip(names, grid, strict=True)
        ]
        self._check_budget(specs, settings, job=True)

        async def work(job: Job) -> Sweep:
            started = time.perf_counter()
            runs = await self._run(specs, settings, job)

            def summaries() -> tuple[SweepPoint, ...]:
                return tuple(
                    SweepPoint(capacity, factor, self._summary(spec, spec_name, reps, settings))
                    for (capacity, factor), spec, reps, spec_name in zip(
                        grid, specs, runs, names, strict=True
                    )
                )

            points = await asyncio.to_thread(summaries)
            return Sweep(tuple(buffers), tuple(stations), points, time.perf_counter() - started)

        return self.jobs.start("sweep", line, site, settings.replications * len(specs), work)

    async def close(self) -> None:
        await self.jobs.close()
        self.pool.close()
