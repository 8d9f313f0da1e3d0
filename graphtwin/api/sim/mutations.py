"""Simulation jobs: start a simulation, a comparison or a sweep; cancel one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

import strawberry

from graphtwin.api.context import TwinInfo
from graphtwin.api.errors import (
    BadInputError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    to_result,
)
from graphtwin.api.live.types import site_of
from graphtwin.api.sim.queries import HORIZON_HELP, WARMUP_HELP
from graphtwin.api.sim.types import (
    ScenarioInput,
    SimulationJob,
    SweepInput,
    require_sim,
    scenario,
    simulation_job,
)
from graphtwin.auth.principal import Action
from graphtwin.errors import TwinError
from graphtwin.sim.jobs import Job
from graphtwin.sim.service import RunSettings, run_settings

SimulationJobOutcome = Annotated[
    SimulationJob
    | BadInputError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | UnavailableError,
    strawberry.union("SimulationJobOutcome"),
]


async def _start(
    info: TwinInfo,
    line: str,
    settings: Callable[[], RunSettings],
    begin: Callable[[RunSettings, str | None], Awaitable[Job]],
) -> SimulationJobOutcome:
    ctx = info.context
    site = site_of(line)
    try:
        ctx.services.authorizer.require(ctx.principal, Action.READ, site)
        job = await begin(settings(), site)
    except TwinError as error:
        return to_result(error)  # type: ignore[return-value]
    return simulation_job(job)


@strawberry.type
class SimulationMutation:
    @strawberry.mutation(description="Start a simulation as a job (same arguments as simulate).")
    async def start_simulation(
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
    ) -> SimulationJobOutcome:
        settings = partial(
            run_settings,
            horizon_hours=horizon,
            warmup_hours=warmup,
            replications=replications,
            seed=seed,
            calibrate=calibrate,
            calibration_days=calibration_days,
        )

        async def begin(checked: RunSettings, site: str | None) -> Job:
            return await require_sim(info).start_simulation(
                line, site, scenario(scenario_), checked
            )

        return await _start(info, line, settings, begin)

    @strawberry.mutation(
        description="Start a scenario comparison as a job (same arguments as compareScenarios)."
    )
    async def start_comparison(
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
    ) -> SimulationJobOutcome:
        settings = partial(
            run_settings,
            horizon_hours=horizon,
            warmup_hours=warmup,
            replications=replications,
            seed=seed,
            calibrate=calibrate,
            calibration_days=calibration_days,
        )

        async def begin(checked: RunSettings, site: str | None) -> Job:
            named = [scenario(v, f"variant {i + 1}") for i, v in enumerate(variants)]
            return await require_sim(info).start_comparison(
                line, site, scenario(baseline), named, checked
            )

        return await _start(info, line, settings, begin)

    @strawberry.mutation(
        description="Start a sweep as one job: every buffer capacity x every processing time "
        "factor of the grid, on top of a base scenario."
    )
    async def start_sweep(
        self,
        info: TwinInfo,
        line: str,
        sweep: SweepInput,
        base: ScenarioInput | None = None,
        horizon: Annotated[float, strawberry.argument(description=HORIZON_HELP)] = 168.0,
        warmup: Annotated[float | None, strawberry.argument(description=WARMUP_HELP)] = None,
        replications: int = 3,
        seed: int = 1,
        calibrate: bool = False,
        calibration_days: float = 7.0,
    ) -> SimulationJobOutcome:
        settings = partial(
            run_settings,
            horizon_hours=horizon,
            warmup_hours=warmup,
            replications=replications,
            seed=seed,
            calibrate=calibrate,
            calibration_days=calibration_days,
        )

        async def begin(checked: RunSettings, site: str | None) -> Job:
            return await require_sim(info).start_sweep(
                line,
                site,
                scenario(base),
                buffers=sweep.buffers or [],
                capacities=sweep.capacities or [],
                stations=sweep.stations or [],
                factors=sweep.processing_time_factors or [],
                settings=checked,
            )

        return await _start(info, line, settings, begin)

    @strawberry.mutation(
        description="Cancel a job: replications not yet started are dropped; "
        "a finished job is left as it is."
    )
    async def cancel_simulation_job(
        self, info: TwinInfo, id: strawberry.ID
    ) -> SimulationJobOutcome:
        ctx = info.context
        try:
            sim = require_sim(info)
            job = sim.jobs.get(str(id))
            ctx.services.authorizer.require(ctx.principal, Action.READ, job.site)
            job = await sim.jobs.cancel(job.id)
        except TwinError as error:
            return to_result(error)  # type: ignore[return-value]
        return simulation_job(job)
