"""Confidence intervals, paired deltas, scenario edits and the job registry."""

from __future__ import annotations

import asyncio

import pytest

from graphtwin.errors import BadInput, Conflict, NotFound
from graphtwin.sim.engine import run_replication
from graphtwin.sim.jobs import Job, JobRegistry, JobStatus
from graphtwin.sim.scenario import AddedMachine, Scenario, apply_scenario
from graphtwin.sim.service import expected_events, run_settings
from graphtwin.sim.spec import (
    ArrivalSpec,
    BufferSpec,
    Distribution,
    LineSpec,
    MachineSpec,
    StationSpec,
)
from graphtwin.sim.summary import Estimate, deltas


def test_estimate_uses_students_t() -> None:
    estimate = Estimate.of([1.0, 2.0, 3.0])
    assert estimate.mean == 2.0
    assert estimate.half_width == pytest.approx(4.302653 / 3**0.5, rel=1e-5)
    single = Estimate.of([5.0])
    assert (single.low, single.high, single.half_width) == (None, None, None)


def _line(servers: int = 1) -> LineSpec:
    machines = tuple(
        MachineSpec(f"urn:m{i}", "M", Distribution.exponential(10.0), 10.0) for i in range(servers)
    )
    return LineSpec("urn:l", "L", (StationSpec("urn:s", "S", machines),), ())


def test_common_random_numbers_make_paired_deltas_tight() -> None:
    base = [run_replication(_line(), 20_000.0, 0.0, 1, r) for r in range(5)]
    # The same line again: every stream is the same, so the delta is exactly zero.
    same = [run_replication(_line(), 20_000.0, 0.0, 1, r) for r in range(5)]
    throughput = next(d for d in deltas(base, same) if d.metric == "throughput")
    assert throughput.delta.mean == 0.0
    assert throughput.delta.half_width == 0.0


def test_an_added_machine_keeps_the_other_machines_streams() -> None:
    line = _line()
    wider = apply_scenario(
        line, Scenario("wider", added_machines=(AddedMachine("urn:s"),)), warmup=0
    )
    assert [m.iri for m in wider.stations[0].machines] == ["urn:m0", "urn:s#added-2"]
    assert any(o.source == "scenario" for o in wider.origins)


def test_demand_cannot_be_scaled_without_demand() -> None:
    with pytest.raises(BadInput, match="gtsim:demandRate") as error:
        apply_scenario(_line(), Scenario("x", demand_multiplier=2.0), warmup=0)
    assert error.value.path == ("scenario", "demandMultiplier")


async def test_cancelling_a_job_before_it_starts_marks_it_cancelled() -> None:
    registry = JobRegistry()

    async def work(job: Job) -> str:
        return "never"

    job = registry.start("simulation", "urn:l", None, 1, work)
    cancelled = await registry.cancel(job.id)  # the job's task has not run yet
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished is not None
    assert cancelled.result is None


async def test_registry_bounds_active_jobs_and_cancels() -> None:
    registry = JobRegistry(max_active=1)
    release = asyncio.Event()

    async def work(job: Job) -> str:
        await release.wait()
        return "done"

    job = registry.start("simulation", "urn:l", None, 1, work)
    with pytest.raises(Conflict, match="at most 1"):
        registry.start("simulation", "urn:l", None, 1, work)
    await asyncio.sleep(0)  # let it start running
    assert job.status is JobStatus.RUNNING
    cancelled = await registry.cancel(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    second = registry.start("simulation", "urn:l", None, 1, work)
    release.set()
    assert second.task is not None
    await second.task
    assert (second.status, second.result) == (JobStatus.SUCCEEDED, "done")
    with pytest.raises(NotFound):
        registry.get("nope")


async def test_a_failing_job_reports_the_error() -> None:
    registry = JobRegistry()

    async def work(job: Job) -> None:
        raise BadInput("no such station")

    job = registry.start("simulation", "urn:l", None, 1, work)
    assert job.task is not None
    await job.task
    assert (job.status, job.error, job.error_code) == (
        JobStatus.FAILED,
        "no such station",
        "BAD_INPUT",
    )


@pytest.mark.parametrize("interarrival", [None, 25.0])
def test_the_event_estimate_bounds_a_run_without_pricing_idle_capacity(
    interarrival: float | None,
) -> None:
    # Three stations of 10 s behind a demand of one part every 25 s (or unlimited
    # raw material): the estimate is above what a run schedules, but not far above,
    # so a demand-limited line is not refused as if it ran flat out.
    machines = [
        MachineSpec(
            f"urn:m{i}",
            "M",
            Distribution.exponential(10.0),
            10.0,
            failure=Distribution.exponential(3600.0),
            repair=Distribution.exponential(60.0),
        )
        for i in range(3)
    ]
    stations = tuple(
        StationSpec(
            f"urn:s{i}",
            "S",
            (m,),
            (f"urn:b{i}",) if i else (),
            (f"urn:b{i + 1}",) if i < 2 else (),
        )
        for i, m in enumerate(machines)
    )
    buffers = tuple(BufferSpec(f"urn:b{i}", "B", 5) for i in (1, 2))
    arrivals = ArrivalSpec(Distribution.exponential(interarrival) if interarrival else None)
    line = LineSpec("urn:l", "L", stations, buffers, arrivals)
    settings = run_settings(horizon_hours=24.0, warmup_hours=0.0, replications=1, seed=1)
    estimate = expected_events(line, settings)
    actual = run_replication(line, settings.horizon, 0.0, 1, 0).events
    assert actual <= estimate <= 3 * actual
