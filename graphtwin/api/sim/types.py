"""GraphQL types of simulation answers, scenarios and jobs, and their conversions."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from graphtwin.api.context import TwinInfo
from graphtwin.errors import SourceUnavailable
from graphtwin.sim import jobs as sim_jobs
from graphtwin.sim import scenario as sc
from graphtwin.sim import service as svc
from graphtwin.sim import summary as sm
from graphtwin.sim.spec import Origin
from graphtwin.sim.summary import SHARES


def require_sim(info: TwinInfo) -> svc.Simulator:
    sim = info.context.services.sim
    if sim is None:
        raise SourceUnavailable("simulation is not available on this server")
    return sim


# -- answers ---------------------------------------------------------------------------


@strawberry.type(
    description="A mean over replications with its 95 % confidence interval "
    "(Student's t); low, high and halfWidth are null for a single replication."
)
class Estimate:
    mean: float
    low: float | None
    high: float | None
    half_width: float | None
    replications: int


def estimate(e: sm.Estimate) -> Estimate:
    return Estimate(mean=e.mean, low=e.low, high=e.high, half_width=e.half_width, replications=e.n)


def maybe(e: sm.Estimate | None) -> Estimate | None:
    return None if e is None else estimate(e)


@strawberry.type(
    description="Share of a station's time in each state (averaged over its machines)."
)
class StateShares:
    producing: Estimate
    idle: Estimate = strawberry.field(
        description="Waiting for orders (source station of a line with demand)."
    )
    starved: Estimate = strawberry.field(description="Waiting for parts from upstream.")
    blocked: Estimate = strawberry.field(
        description="Holding a finished part with no room downstream."
    )
    down: Estimate = strawberry.field(
        description="Failed and under repair, or down in a scenario window."
    )
    setup: Estimate
    maintenance: Estimate = strawberry.field(description="Planned maintenance.")
    off_shift: Estimate


@strawberry.type
class StationResult:
    station: str
    label: str
    machines: int
    utilization: Estimate = strawberry.field(
        description="Share of planned production time producing."
    )
    shares: StateShares
    active_share: Estimate = strawberry.field(
        description="Share of on-shift time producing, down, in setup or maintenance "
        "(the bottleneck measure)."
    )
    availability: Estimate
    performance: Estimate
    quality: Estimate
    oee: Estimate = strawberry.field(
        description="Projected OEE: availability x performance x quality."
    )
    produced_units: Estimate
    scrapped_units: Estimate


@strawberry.type
class BufferResult:
    buffer: str = strawberry.field(
        description='The buffer\'s IRI, "<from> -> <to>" for a direct hand-over, or "orders" '
        "for released orders waiting for the first station."
    )
    label: str
    capacity: int | None
    implicit: bool
    mean_queue: Estimate = strawberry.field(description="Time-weighted mean number of parts.")
    max_queue: int
    mean_wait_seconds: Estimate | None


@strawberry.type
class BottleneckResult:
    station: str
    label: str
    method: str
    confidence: float = strawberry.field(
        description="Share of replications in which this station was the bottleneck."
    )
    active_share: Estimate
    runner_up: str | None
    margin: Estimate | None = strawberry.field(
        description="Active share of the bottleneck minus the runner-up's, paired per replication."
    )


@strawberry.type
class LeadTime:
    mean_seconds: Estimate | None
    p50_seconds: Estimate | None
    p90_seconds: Estimate | None
    p95_seconds: Estimate | None
    max_seconds: float | None


@strawberry.enum
class ParameterSource(enum.Enum):
    GRAPH = "graph"
    HISTORY = "history"
    DEFAULT = "default"
    SCENARIO = "scenario"


@strawberry.type(
    description="Where a model parameter came from: the graph, a fit to history, "
    "a default, or the scenario."
)
class ParameterOrigin:
    asset: str
    parameter: str
    value: str
    source: ParameterSource
    detail: str


def origin(o: Origin) -> ParameterOrigin:
    return ParameterOrigin(
        asset=o.asset,
        parameter=o.parameter,
        value=o.value,
        source=ParameterSource(o.source),
        detail=o.detail,
    )


@strawberry.type
class SimulationResult:
    line: str
    label: str
    scenario: str
    horizon_hours: float
    warmup_hours: float
    replications: int
    seed: int
    throughput_per_hour: Estimate = strawberry.field(description="Good units per hour.")
    good_units: Estimate
    scrapped_units: Estimate
    wip: Estimate = strawberry.field(
        description="Time-weighted mean number of parts released and not yet finished "
        "(orders waiting for the first station included)."
    )
    lead_time: LeadTime
    energy_kwh: Estimate
    energy_per_unit_kwh: Estimate | None = strawberry.field(description="Energy per good unit.")
    stations: list[StationResult]
    buffers: list[BufferResult]
    bottleneck: BottleneckResult
    parameters: list[ParameterOrigin]
    events: float = strawberry.field(description="Simulation events over all replications.")
    cpu_seconds: float


def _station(s: sm.StationSummary) -> StationResult:
    shares = {name: estimate(s.shares[name]) for name in SHARES}
    return StationResult(
        station=s.iri,
        label=s.label,
        machines=s.machines,
        utilization=estimate(s.utilization),
        shares=StateShares(
            producing=shares["producing"],
            idle=shares["idle"],
            starved=shares["starved"],
            blocked=shares["blocked"],
            down=shares["down"],
            setup=shares["setup"],
            maintenance=shares["maintenance"],
            off_shift=shares["offShift"],
        ),
        active_share=estimate(s.active_share),
        availability=estimate(s.availability),
        performance=estimate(s.performance),
        quality=estimate(s.quality),
        oee=estimate(s.oee),
        produced_units=estimate(s.produced),
        scrapped_units=estimate(s.scrapped),
    )


def simulation_result(s: sm.Summary) -> SimulationResult:
    b = s.bottleneck
    return SimulationResult(
        line=s.line,
        label=s.label,
        scenario=s.scenario,
        horizon_hours=s.horizon / 3600,
        warmup_hours=s.warmup / 3600,
        replications=s.replications,
        seed=s.seed,
        throughput_per_hour=estimate(s.throughput),
        good_units=estimate(s.good_units),
        scrapped_units=estimate(s.scrapped_units),
        wip=estimate(s.wip),
        lead_time=LeadTime(
            mean_seconds=maybe(s.lead_time),
            p50_seconds=maybe(s.lead_time_p50),
            p90_seconds=maybe(s.lead_time_p90),
            p95_seconds=maybe(s.lead_time_p95),
            max_seconds=s.lead_time_max,
        ),
        energy_kwh=estimate(s.energy_kwh),
        energy_per_unit_kwh=maybe(s.energy_per_unit),
        stations=[_station(st) for st in s.stations],
        buffers=[
            BufferResult(
                buffer=x.id,
                label=x.label,
                capacity=x.capacity,
                implicit=x.implicit,
                mean_queue=estimate(x.mean_level),
                max_queue=x.max_level,
                mean_wait_seconds=maybe(x.mean_wait),
            )
            for x in s.buffers
        ],
        bottleneck=BottleneckResult(
            station=b.station,
            label=b.label,
            method=b.method,
            confidence=b.confidence,
            active_share=estimate(b.active_share),
            runner_up=b.runner_up,
            margin=maybe(b.margin),
        ),
        parameters=[origin(o) for o in s.origins],
        events=float(s.events),
        cpu_seconds=s.cpu_seconds,
    )


@strawberry.type(
    description="Variant minus baseline for one metric, paired per replication "
    "(common random numbers)."
)
class MetricDelta:
    metric: str
    unit: str
    baseline: float
    variant: float
    delta: Estimate
    relative: float | None


@strawberry.type
class VariantResult:
    result: SimulationResult
    deltas: list[MetricDelta]


@strawberry.type
class ScenarioComparison:
    baseline: SimulationResult
    variants: list[VariantResult]


def comparison(c: svc.Comparison) -> ScenarioComparison:
    return ScenarioComparison(
        baseline=simulation_result(c.baseline),
        variants=[
            VariantResult(
                result=simulation_result(summary),
                deltas=[
                    MetricDelta(
                        metric=d.metric,
                        unit=d.unit,
                        baseline=d.baseline,
                        variant=d.variant,
                        delta=estimate(d.delta),
                        relative=d.relative,
                    )
                    for d in found
                ],
            )
            for summary, found in c.variants
        ],
    )


@strawberry.type
class SweepPoint:
    capacity: int | None
    processing_time_factor: float | None
    result: SimulationResult


@strawberry.type
class SweepResult:
    buffers: list[str]
    stations: list[str]
    points: list[SweepPoint]
    configurations_per_minute: float


def sweep(s: svc.Sweep) -> SweepResult:
    return SweepResult(
        buffers=list(s.buffers),
        stations=list(s.stations),
        points=[
            SweepPoint(
                capacity=p.capacity,
                processing_time_factor=p.factor,
                result=simulation_result(p.summary),
            )
            for p in s.points
        ],
        configurations_per_minute=s.per_minute,
    )


# -- jobs --------------------------------------------------------------------------------


# The service's own enum, exposed as is (registering it is all strawberry needs).
JobStatus = strawberry.enum(sim_jobs.JobStatus, name="JobStatus")


@strawberry.type(
    description="A simulation running in the background: poll it for progress and the result."
)
class SimulationJob:
    id: strawberry.ID
    kind: str
    line: str
    status: sim_jobs.JobStatus
    progress: float = strawberry.field(description="Share of replications finished, 0 to 1.")
    completed_replications: int
    total_replications: int
    created: datetime
    started: datetime | None
    finished: datetime | None
    error: str | None
    error_code: str | None
    result: SimulationResult | None
    comparison: ScenarioComparison | None
    sweep: SweepResult | None


def simulation_job(job: sim_jobs.Job) -> SimulationJob:
    value = job.result
    return SimulationJob(
        id=strawberry.ID(job.id),
        kind=job.kind,
        line=job.line,
        status=job.status,
        progress=job.progress,
        completed_replications=job.completed,
        total_replications=job.total,
        created=job.created,
        started=job.started,
        finished=job.finished,
        error=job.error,
        error_code=job.error_code,
        result=simulation_result(value) if isinstance(value, sm.Summary) else None,
        comparison=comparison(value) if isinstance(value, svc.Comparison) else None,
        sweep=sweep(value) if isinstance(value, svc.Sweep) else None,
    )


# -- scenarios ----------------------------------------------------------------------------


@strawberry.input
class MachineDownInput:
    asset: str = strawberry.field(description="A machine, or a station (all its machines).")
    from_hour: float = strawberry.field(description="Hours after the start of the horizon.")
    to_hour: float


@strawberry.input
class ProcessingTimeInput:
    asset: str = strawberry.field(description="A machine, or a station (all its machines).")
    factor: float | None = strawberry.field(
        default=None, description="Multiply the processing time."
    )
    seconds: float | None = strawberry.field(
        default=None, description="Set the mean processing time (the distribution keeps its shape)."
    )


@strawberry.input
class BufferCapacityInput:
    buffer: str
    capacity: int


@strawberry.input
class AddedMachineInput:
    station: str
    count: int = 1


@strawberry.input
class DeferredMaintenanceInput:
    asset: str
    interval_factor: float = strawberry.field(
        description="Multiply the time between planned maintenance stops (e.g. 2: half as often)."
    )
    mtbf_factor: float = strawberry.field(
        default=1.0,
        description="Multiply the mean operating time between failures (< 1: more failures).",
    )


@strawberry.input(
    description="Changes to the line as the graph describes it; everything is optional."
)
class ScenarioInput:
    name: str | None = strawberry.field(
        default=None, description='Default: "baseline", or "variant N" for the N-th variant.'
    )
    demand_multiplier: float | None = strawberry.field(
        default=None, description="Multiply the line's demand (gtsim:demandRate)."
    )
    machines_down: list[MachineDownInput] | None = None
    processing_times: list[ProcessingTimeInput] | None = None
    buffer_capacities: list[BufferCapacityInput] | None = None
    added_machines: list[AddedMachineInput] | None = None
    shift_calendar: str | None = strawberry.field(
        default=None,
        description='A shift calendar such as "Mon-Fri 06:00-14:00, 14:00-22:00; Sat 06:00-12:00".',
    )
    deferred_maintenance: list[DeferredMaintenanceInput] | None = None


def scenario(given: ScenarioInput | None, default_name: str = "baseline") -> sc.Scenario:
    if given is None:
        return sc.Scenario(default_name)
    return sc.Scenario(
        name=given.name if given.name is not None else default_name,
        demand_multiplier=given.demand_multiplier,
        machines_down=tuple(
            sc.MachineDown(d.asset, d.from_hour, d.to_hour) for d in given.machines_down or ()
        ),
        processing=tuple(
            sc.ProcessingChange(p.asset, p.factor, p.seconds) for p in given.processing_times or ()
        ),
        buffers=tuple(sc.BufferChange(b.buffer, b.capacity) for b in given.buffer_capacities or ()),
        added_machines=tuple(
            sc.AddedMachine(a.station, a.count) for a in given.added_machines or ()
        ),
        shift_calendar=given.shift_calendar,
        deferred_maintenance=tuple(
            sc.DeferredMaintenance(d.asset, d.interval_factor, d.mtbf_factor)
            for d in given.deferred_maintenance or ()
        ),
    )


@strawberry.input(description="The grid of a sweep: every capacity x every processing time factor.")
class SweepInput:
    capacities: list[int] | None = None
    buffers: list[str] | None = strawberry.field(
        default=None, description="Buffers the capacities apply to (default: all)."
    )
    processing_time_factors: list[float] | None = None
    stations: list[str] | None = strawberry.field(
        default=None, description="Stations the factors apply to (default: all)."
    )
