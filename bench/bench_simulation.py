"""Line simulation: events per second of the line model, a what-if comparison and a sweep.

A 10-station serial line with failures (one machine per station, lognormal
processing times with a coefficient of variation of 0.2, exponential failures and
repairs, buffers of 5 between stations, unlimited raw material) is written to a
fresh embedded engine as RDF, and graphtwin reads it from there, as the API does:

1. **Events per second**: ``run_replication`` of the model graphtwin builds from the
   graph, in this process, against the same line written as a minimal hand-made
   SimPy model (one process per machine: take a part, process it with
   operation-dependent failures, put it downstream), alternating, ``--reps`` one-week
   replications each. Events are SimPy's own event count. Target ratio >= 0.7.
2. **What-if**: ``Simulator.compare`` (baseline + 1 variant, 10 replications each,
   1-week horizon): graph read, scenario, replications in the worker pool (one
   process per core), summary with confidence intervals. Baseline in the same run:
   the same 20 replications of the hand-made model, one after the other in this
   process. Target <= 30 s on 2 cores.
3. **Sweep**: 10 buffer capacities x 10 processing time factors = 100
   configurations, one replication each, one week, as one job
   (``Simulator.start_sweep``): configurations per minute, against the hand-made
   model running 10 of the configurations in this process.

    python bench/bench_simulation.py            # ~3 minutes on 2 cores
    python bench/bench_simulation.py --quick    # one-day horizon, fewer replications
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

import simpy
from _common import base_parser, fresh_runtime, machine_summary, print_table, write_json

from graphtwin.sim.engine import run_replication
from graphtwin.sim.scenario import ProcessingChange, Scenario
from graphtwin.sim.service import run_settings

LINE = "https://acme.example/sites/bench/lines/l1"
SITE = "https://acme.example/sites/bench"
CYCLE_TIMES = (50.0, 55.0, 60.0, 52.0, 58.0, 48.0, 61.0, 57.0, 53.0, 49.0)
CV = 0.2
MTBF_H, MTTR_H = 8.0, 0.5
CAPACITY = 5
WEEK_H = 168.0


def line_turtle() -> str:
    """The bench line as the graph holds it."""
    rows = [
        "@prefix gt: <https://w3id.org/graphtwin/core#> .",
        "@prefix gtsim: <https://w3id.org/graphtwin/sim#> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        f'<{SITE}> a gt:Site ; rdfs:label "Bench" .',
        f'<{LINE}> a gt:Line ; rdfs:label "Bench line" ; gt:partOf <{SITE}> .',
    ]
    for i, ct in enumerate(CYCLE_TIMES):
        station = f"{LINE}/stations/op{i + 1}0"
        feeds = f" ; gt:feeds <{LINE}/buffers/b{i + 1}0>" if i < len(CYCLE_TIMES) - 1 else ""
        rows.append(
            f'<{station}> a gt:Station ; rdfs:label "OP{i + 1}0" ; gt:partOf <{LINE}>{feeds} ; '
            f'gtsim:processingDistribution "lognormal" ; gtsim:processingTimeCv {CV} .'
        )
        rows.append(
            f'<{station}/m{i + 1}> a gt:CNCMachine ; rdfs:label "M{i + 1}" ; '
            f"gt:partOf <{station}> ; "
            f"gt:idealCycleTime {ct} ; gt:mtbf {MTBF_H} ; gt:mttr {MTTR_H} ; gt:ratedPower 20.0 ."
        )
        if i < len(CYCLE_TIMES) - 1:
            rows.append(
                f'<{LINE}/buffers/b{i + 1}0> a gt:Buffer ; rdfs:label "B{i + 1}0" ; '
                f"gt:partOf <{LINE}> ; gt:capacity {CAPACITY} ; "
                f"gt:feeds <{LINE}/stations/op{i + 2}0> ."
            )
    return "\n".join(rows)


def hand_made(
    horizon: float,
    seed: int,
    capacity: int = CAPACITY,
    factor: float = 1.0,
    only: int | None = None,
) -> tuple[int, float, int]:
    """The same line as a minimal SimPy model: (events, seconds, parts finished).

    ``factor`` scales the processing time of station ``only`` (default: every station).
    """
    env = simpy.Environment()
    n = len(CYCLE_TIMES)
    buffers = [simpy.Store(env, capacity) for _ in range(n - 1)]
    done = [0]
    sigma = math.sqrt(math.log(1 + CV**2))
    mtbf, mttr = MTBF_H * 3600, MTTR_H * 3600

    def machine(i: int) -> Any:
        rng = random.Random(f"{seed}/{i}")
        scale = factor if only is None or only == i else 1.0
        mu = math.log(CYCLE_TIMES[i] * scale) - sigma**2 / 2
        ttf = rng.expovariate(1 / mtbf)
        while True:
            part = (yield buffers[i - 1].get()) if i else object()
            work = rng.lognormvariate(mu, sigma)
            while ttf <= work:
                yield env.timeout(ttf)
                work -= ttf
                yield env.timeout(rng.expovariate(1 / mttr))
                ttf = rng.expovariate(1 / mtbf)
            ttf -= work
            yield env.timeout(work)
            if i < n - 1:
                yield buffers[i].put(part)
            else:
                done[0] += 1

    for i in range(n):
        env.process(machine(i))
    started = time.perf_counter()
    env.run(until=horizon)
    return next(env._eid), time.perf_counter() - started, done[0]


async def run(quick: bool) -> dict[str, Any]:
    horizon_h = 24.0 if quick else WEEK_H
    reps = 2 if quick else 5
    compare_reps = 3 if quick else 10
    sweep_side = 4 if quick else 10
    out: dict[str, Any] = {"horizon_hours": horizon_h}
    async with fresh_runtime(live=False) as runtime:
        services = runtime.services
        sim = services.sim
        assert sim is not None
        await services.twins.import_document(line_turtle(), "turtle")
        # The server starts its workers at startup; so does the bench, untimed.
        await sim.pool.gather(abs, [(0,)] * sim.pool.workers)
        settings = run_settings(horizon_hours=horizon_h, warmup_hours=0.0, replications=1, seed=1)
        spec = await sim.model(LINE, settings)

        # 1. events per second, alternating so both see the same machine load.
        rows = []
        ours_events = ours_time = hand_events = hand_time = 0.0
        for rep in range(reps):
            result = run_replication(spec, settings.horizon, 0.0, seed=rep, replication=0)
            ours_events += result.events
            ours_time += result.wall_seconds
            events, seconds, _ = hand_made(settings.horizon, rep)
            hand_events += events
            hand_time += seconds
        ours_rate, hand_rate = ours_events / ours_time, hand_events / hand_time
        simulated = reps * horizon_h
        rows.append(
            [
                "graphtwin line model",
                int(ours_events),
                ours_time,
                ours_rate,
                ours_rate / hand_rate,
                simulated / ours_time,
                hand_time / ours_time,
            ]
        )
        rows.append(
            [
                "hand-made SimPy model (baseline)",
                int(hand_events),
                hand_time,
                hand_rate,
                1.0,
                simulated / hand_time,
                1.0,
            ]
        )
        out["events"] = {
            "ours_per_s": ours_rate,
            "hand_per_s": hand_rate,
            "ratio": ours_rate / hand_rate,
        }
        print_table(
            f"1. Events per second, {reps} x {horizon_h:g} h replications of the 10-station line",
            ["model", "events", "seconds", "events/s", "ratio", "sim h/s", "ratio"],
            rows,
        )

        # 2. what-if: baseline + 1 variant through the service and the worker pool.
        compare = run_settings(
            horizon_hours=horizon_h, warmup_hours=8.0, replications=compare_reps, seed=1
        )
        bottleneck = f"{LINE}/stations/op70"
        variant = Scenario("faster OP70", processing=(ProcessingChange(bottleneck, factor=0.9),))
        started = time.perf_counter()
        answer = await sim.compare(LINE, Scenario(), [variant], compare)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        for scenario_no in range(2):
            for rep in range(compare_reps):
                factor = 1.0 if scenario_no == 0 else 0.9
                hand_made(compare.horizon + compare.warmup, rep, factor=factor, only=6)
        hand = time.perf_counter() - started
        _, found = answer.variants[0]
        delta = next(d for d in found if d.metric == "throughput")
        print_table(
            f"2. What-if: baseline + 1 variant, {compare_reps} replications each, {horizon_h:g} h, "
            f"{sim.pool.workers} worker process(es)",
            ["run", "seconds", "throughput/h", "delta/h (95% CI)", "ratio"],
            [
                [
                    "graphtwin compare (graph read + pool + summary)",
                    ours,
                    answer.baseline.throughput.mean,
                    f"{delta.delta.mean:+.2f} ± {delta.delta.half_width or 0:.2f}",
                    ours / hand,
                ],
                [
                    "hand-made model, 2 x replications in one process (baseline)",
                    hand,
                    None,
                    None,
                    1.0,
                ],
            ],
        )
        out["what_if"] = {"seconds": ours, "baseline_seconds": hand, "target_seconds": 30}

        # 3. sweep: capacities x processing time factors as one job.
        capacities = [1 + 2 * k for k in range(sweep_side)]
        factors = [0.8 + 0.05 * k for k in range(sweep_side)]
        sweep_settings = run_settings(
            horizon_hours=horizon_h, warmup_hours=0.0, replications=1, seed=1
        )
        job = await sim.start_sweep(
            LINE,
            SITE,
            Scenario(),
            buffers=[],
            capacities=capacities,
            stations=[],
            factors=factors,
            settings=sweep_settings,
        )
        assert job.task is not None
        await job.task
        assert job.result is not None, job.error
        per_minute = job.result.per_minute
        started = time.perf_counter()
        for k in range(sweep_side):
            hand_made(sweep_settings.horizon, 0, capacities[k], factors[k])
        hand_per_minute = sweep_side * 60.0 / (time.perf_counter() - started)
        best = max(job.result.points, key=lambda p: p.summary.throughput.mean)
        print_table(
            f"3. Sweep: {len(capacities)} capacities x {len(factors)} factors = "
            f"{len(job.result.points)} configurations, 1 x {horizon_h:g} h each",
            ["run", "configurations", "seconds", "configurations/min"],
            [
                [
                    "graphtwin sweep job",
                    len(job.result.points),
                    job.result.wall_seconds,
                    per_minute,
                ],
                [
                    "hand-made model in one process (baseline)",
                    sweep_side,
                    sweep_side * 60 / hand_per_minute,
                    hand_per_minute,
                ],
            ],
        )
        print(
            f"   best configuration: capacity {best.capacity}, factor {best.factor:.2f}: "
            f"{best.summary.throughput.mean:.1f} units/h"
        )
        out["sweep"] = {"per_minute": per_minute, "baseline_per_minute": hand_per_minute}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    args = parser.parse_args(argv)
    print(f"bench_simulation: {machine_summary()}")
    out = asyncio.run(run(args.quick))
    write_json(args.json, out)


if __name__ == "__main__":
    main()
