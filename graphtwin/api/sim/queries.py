"""Simulation queries: a line's what-if answer, scenario comparisons, and jobs.

``simulate`` and ``compareScenarios`` wait for their answer, which runs in worker
processes (the event loop stays free); a run too long to wait for is refused with
the bound named, and ``startSimulation`` runs it as a job instead.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphtwin.api.context import TwinInfo
from graphtwin.api.live.types import site_of
from graphtwin.api.sim.types import (
    ScenarioComparison,
    ScenarioInput,
    SimulationJob,
    SimulationResult,
    comparison,
    require_sim,
    scenario,
    simulation_job,
    simulation_result,
)
from graphtwin.auth.principal import Action
from graphtwin.sim.service import run_settings

HORIZON_HELP = "Hours of production observed (after the warm-up)."
WARMUP_HELP = "Hours simulated before statistics start (default: a tenth of the horizon)."


@strawberry.type
class SimulationQuery:
    @strawberry.field(
        description="Simulate a line as the graph describes it (and, with calibrate, as its "
        "history says it behaves) under a scenario: throughput with a 95 % confidence "
        "interval, station states, queues, WIP, lead times, the bottleneck, energy per unit, OEE."
    )
    async def simulate(
        self,
        info: TwinInfo,
        line: str,
        scenario_: Annotated[ScenarioInput | None, strawberry.argument(name="scenario")] = None,
        horizon: Annotated[float, strawberry.argument(description=HORIZON_HELP)] = 168.0,
        warmup: Annotated[float | None, strawberry.argument(description=WARMUP_HELP)] = None,
        replications: int = 10,
        seed: int = 1,
        calibrate: bool = False,
        calibration_days: float = 7.0,
    ) -> SimulationResult:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ, site_of(line))
        settings = run_settings(
            horizon_hours=horizon,
            warmup_hours=warmup,
            replications=replications,
            seed=seed,
            calibrate=calibrate,
            calibration_days=calibration_days,
        )
        summary = await require_sim(info).simulate(line, scenario(scenario_), settings)
        return simulation_result(summary)

    @strawberry.field(
        description="A baseline and variants simulated with common random numbers; each "
        "variant's deltas against the baseline come with confidence intervals."
    )
    async def compare_scenarios(
        self,
        info: TwinInfo,
        line: str,
        variants: list[ScenarioInput],
        baseline: ScenarioInput | None = None,
        horizon: Annotated[float, strawberry.argument(description=HORIZON_HELP)] = 168.0,
        warmup: Annotated[float | None, strawberry.argument(description=WARMUP_HELP)] = None,
        replications: int = 10,
        seed: int = 1,
        calibrate: bool = False,
        calibration_days: float = 7.0,
    ) -> ScenarioComparison:
        ctx = info.context
        ctx.services.authorizer.require(ctx.principal, Action.READ, site_of(line))
        settings = run_settings(
            horizon_hours=horizon,
            warmup_hours=warmup,
            replications=replications,
            seed=seed,
            calibrate=calibrate,
            calibration_days=calibration_days,
        )
        answer = await require_sim(info).compare(
            line,
            scenario(baseline),
            [scenario(v, f"variant {i + 1}") for i, v in enumerate(variants)],
            settings,
        )
        return comparison(answer)

    @strawberry.field(description="A simulation job: status, progress and, once done, its result.")
    async def simulation_job(self, info: TwinInfo, id: strawberry.ID) -> SimulationJob:
        ctx = info.context
        job = require_sim(info).jobs.get(str(id))
        ctx.services.authorizer.require(ctx.principal, Action.READ, job.site)
        return simulation_job(job)

    @strawberry.field(description="Simulation jobs this server knows, newest first.")
    async def simulation_jobs(self, info: TwinInfo) -> list[SimulationJob]:
        ctx = info.context
        allowed = ctx.services.authorizer.allows
        return [
            simulation_job(job)
            for job in require_sim(info).jobs.all()
            if allowed(ctx.principal, Action.READ, job.site)
        ]
