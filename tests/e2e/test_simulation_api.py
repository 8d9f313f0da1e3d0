"""Simulation through GraphQL over HTTP: lines of the demo plant as the graph
describes them, scenarios, comparisons, jobs and bad input.

The demo plant is shared by the module and never changed; the worker pool is the
real process pool the server uses.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from graphtwin.history.sqlite import SqliteHistory
from graphtwin.values import Quality, Sample, utcnow

from .conftest import GT, LAB_LINE, LAB_OP10, LAB_ROBOT, STUTTGART, Twin

pytestmark = pytest.mark.e2e

WELD = f"{STUTTGART}/lines/weld-1"
WELD_OP50 = f"{WELD}/stations/op50"
WELD_B10 = f"{WELD}/buffers/b10"
PRESS = f"{STUTTGART}/lines/press-1"

RESULT = """
  line scenario replications seed horizonHours warmupHours
  throughputPerHour { mean low high halfWidth replications }
  wip { mean }
  leadTime { meanSeconds { mean } p95Seconds { mean } maxSeconds }
  energyPerUnitKwh { mean low high }
  stations {
    station label machines
    utilization { mean }
    shares { producing { mean } idle { mean } starved { mean } blocked { mean }
             down { mean } setup { mean } maintenance { mean } offShift { mean } }
    activeShare { mean } oee { mean } availability { mean } performance { mean } quality { mean }
  }
  buffers { buffer capacity implicit meanQueue { mean } maxQueue meanWaitSeconds { mean } }
  bottleneck { station method confidence runnerUp margin { mean low high } }
  parameters { asset parameter value source detail }
  events
"""

SIMULATE = (
    """
query($line: String!, $scenario: ScenarioInput, $horizon: Float!, $reps: Int!, $seed: Int!,
      $calibrate: Boolean! = false) {
  simulate(line: $line, scenario: $scenario, horizon: $horizon, replications: $reps,
           seed: $seed, calibrate: $calibrate) {"""
    + RESULT
    + "} }"
)

JOB = (
    """
  ... on SimulationJob {
    id kind status progress completedReplications totalReplications error errorCode
    result {"""
    + RESULT
    + """}
    comparison { baseline { throughputPerHour { mean } } }
    sweep { configurationsPerMinute points { capacity processingTimeFactor
            result { throughputPerHour { mean } } } }
  }
  ... on UserError { message code path }
"""
)


async def _simulate(twin: Twin, line: str = WELD, **variables: Any) -> dict[str, Any]:
    values = {"line": line, "horizon": 24.0, "reps": 4, "seed": 7, **variables}
    data = await twin.query(SIMULATE, values)
    result: dict[str, Any] = data["simulate"]
    return result


async def _error(twin: Twin, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await twin.post(query, variables)
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1
    error: dict[str, Any] = errors[0]
    return error


async def test_simulate_a_demo_line_from_the_graph(demo_twin: Twin) -> None:
    result = await _simulate(demo_twin)
    assert result["line"] == WELD
    throughput = result["throughputPerHour"]
    assert throughput["mean"] > 0
    assert throughput["low"] < throughput["mean"] < throughput["high"]
    assert throughput["replications"] == 4
    stations = result["stations"]
    assert [s["station"].rsplit("/", 1)[-1] for s in stations] == [
        "op10", "op20", "op30", "op40", "op50", "op60"
    ]  # fmt: skip
    assert [s["machines"] for s in stations] == [2, 2, 2, 1, 1, 1]
    for station in stations:
        shares = sum(share["mean"] for share in station["shares"].values())
        assert shares == pytest.approx(1.0, abs=1e-6)
        assert 0 < station["oee"]["mean"] <= 1
    # The demo's buffers keep their capacities from the graph.
    capacities = {b["buffer"]: b["capacity"] for b in result["buffers"]}
    assert capacities[WELD_B10] in (4, 6, 8, 12, 20)
    assert result["bottleneck"]["station"] in {s["station"] for s in stations}
    assert "active-time share" in result["bottleneck"]["method"]
    assert 0 < result["bottleneck"]["confidence"] <= 1
    assert result["energyPerUnitKwh"]["mean"] > 0
    sources = {p["source"] for p in result["parameters"]}
    assert {"GRAPH", "DEFAULT"} <= sources
    demand = [p for p in result["parameters"] if p["asset"] == WELD and p["parameter"] == "demand"]
    assert demand and demand[0]["source"] == "GRAPH"


async def test_the_same_seed_gives_the_same_answer(demo_twin: Twin) -> None:
    first = await _simulate(demo_twin, horizon=8.0, reps=2)
    again = await _simulate(demo_twin, horizon=8.0, reps=2)
    other = await _simulate(demo_twin, horizon=8.0, reps=2, seed=8)
    assert first == again
    assert first["throughputPerHour"] != other["throughputPerHour"]


COMPARE = """
query($line: String!, $variants: [ScenarioInput!]!) {
  compareScenarios(line: $line, variants: $variants, horizon: 48, replications: 6, seed: 3) {
    baseline { scenario throughputPerHour { mean } bottleneck { station }
               buffers { buffer meanQueue { mean } } }
    variants {
      result { scenario throughputPerHour { mean } bottleneck { station confidence }
               stations { station utilization { mean } }
               buffers { buffer meanQueue { mean } maxQueue } }
      deltas { metric unit baseline variant delta { mean low high halfWidth } relative }
    }
  }
}
"""


async def test_doubling_demand_shows_where_the_line_saturates(demo_twin: Twin) -> None:
    data = await demo_twin.query(
        COMPARE, {"line": WELD, "variants": [{"name": "urgent order", "demandMultiplier": 2.0}]}
    )
    comparison = data["compareScenarios"]
    [variant] = comparison["variants"]
    assert variant["result"]["scenario"] == "urgent order"
    deltas = {d["metric"]: d for d in variant["deltas"]}
    assert set(deltas) >= {"throughput", "wip", "leadTime", "energyPerUnit"}
    throughput = deltas["throughput"]
    # More demand, more output: the paired interval of the gain is above zero...
    assert throughput["delta"]["low"] > 0
    # ...but the line saturates: it does not double.
    assert throughput["variant"] < 2 * throughput["baseline"]
    # Work piles up in front of the line: orders wait, lead time grows.
    assert deltas["leadTime"]["delta"]["mean"] > 0
    orders = {b["buffer"]: b for b in variant["result"]["buffers"]}["orders"]
    base_orders = {b["buffer"]: b for b in comparison["baseline"]["buffers"]}["orders"]
    assert orders["meanQueue"]["mean"] > base_orders["meanQueue"]["mean"]
    # The station that saturates first is the bottleneck, nearly always busy.
    bottleneck = variant["result"]["bottleneck"]["station"]
    utilization = {s["station"]: s["utilization"]["mean"] for s in variant["result"]["stations"]}
    assert utilization[bottleneck] == max(utilization.values())


async def test_each_scenario_kind_changes_the_model(demo_twin: Twin) -> None:
    stations = (await _simulate(demo_twin, horizon=4.0, reps=1))["stations"]
    op50 = next(s for s in stations if s["station"] == WELD_OP50)
    assert op50["machines"] == 1
    variants = [
        {"name": "op50 down", "machinesDown": [{"asset": WELD_OP50, "fromHour": 2, "toHour": 10}]},
        {"name": "faster op50", "processingTimes": [{"asset": WELD_OP50, "factor": 0.5}]},
        {"name": "bigger b10", "bufferCapacities": [{"buffer": WELD_B10, "capacity": 50}]},
        {"name": "second oven", "addedMachines": [{"station": WELD_OP50, "count": 1}]},
        {"name": "two shifts", "shiftCalendar": "Mon-Fri 06:00-14:00, 14:00-22:00"},
    ]
    data = await demo_twin.query(
        """query($line: String!, $variants: [ScenarioInput!]!) {
          compareScenarios(line: $line, variants: $variants, horizon: 24, warmup: 2,
                           replications: 2) {
            variants { result { scenario
              stations { station machines shares { down { mean } offShift { mean } } }
              buffers { buffer capacity }
              parameters { asset parameter source } } } } }""",
        {"line": WELD, "variants": variants},
    )
    results = {v["result"]["scenario"]: v["result"] for v in data["compareScenarios"]["variants"]}

    def station(name: str) -> dict[str, Any]:
        return next(s for s in results[name]["stations"] if s["station"] == WELD_OP50)

    assert station("op50 down")["shares"]["down"]["mean"] >= 8 / 24 - 0.01
    assert station("second oven")["machines"] == 2
    capacity = {b["buffer"]: b["capacity"] for b in results["bigger b10"]["buffers"]}
    assert capacity[WELD_B10] == 50
    # Monday 02:00 to 02:00 the next day: on shift 06:00-22:00, so 8 h of 24 are off.
    assert station("two shifts")["shares"]["offShift"]["mean"] == pytest.approx(8 / 24, abs=0.01)
    for name, result in results.items():
        assert any(p["source"] == "SCENARIO" for p in result["parameters"]), name


async def test_a_simulation_job_reports_progress_and_its_result(demo_twin: Twin) -> None:
    started = await demo_twin.mutate(
        'mutation { startSimulation(line: "'
        + WELD
        + '", horizon: 24, replications: 4) {'
        + JOB
        + "} }"
    )
    assert started["status"] in ("QUEUED", "RUNNING")
    assert started["totalReplications"] == 4
    job = await _wait(demo_twin, started["id"])
    assert job["status"] == "SUCCEEDED"
    assert job["progress"] == 1.0
    assert job["completedReplications"] == 4
    assert job["result"]["throughputPerHour"]["mean"] > 0
    jobs = await demo_twin.query("{ simulationJobs { id } }")
    assert started["id"] in {j["id"] for j in jobs["simulationJobs"]}


async def _job(twin: Twin, job_id: str) -> dict[str, Any]:
    data = await twin.query(
        "query($id: ID!) { simulationJob(id: $id) { ... on SimulationJob { id }"
        + JOB.replace("... on UserError { message code path }", "")
        + "} }",
        {"id": job_id},
    )
    job: dict[str, Any] = data["simulationJob"]
    return job


async def _wait(twin: Twin, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = await _job(twin, job_id)
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.2)


async def test_a_long_job_leaves_the_api_answering_and_can_be_cancelled(demo_twin: Twin) -> None:
    started = await demo_twin.mutate(
        'mutation { startSimulation(line: "'
        + WELD
        + '", horizon: 1000, replications: 20) {'
        + JOB
        + "} }"
    )
    loop = asyncio.get_running_loop()
    before = loop.time()
    sites = await demo_twin.query("{ sites { iri } }")
    assert sites["sites"]
    # The event loop is not running replications: a read comes back at once.
    assert loop.time() - before < 2.0
    assert (await _job(demo_twin, started["id"]))["status"] == "RUNNING"
    cancelled = await demo_twin.mutate(
        "mutation($id: ID!) { cancelSimulationJob(id: $id) {" + JOB + "} }", {"id": started["id"]}
    )
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["completedReplications"] < 20
    assert cancelled["result"] is None


async def test_a_sweep_runs_every_configuration_as_one_job(demo_twin: Twin) -> None:
    started = await demo_twin.mutate(
        """mutation($line: String!) {
          startSweep(line: $line, horizon: 8, replications: 1,
                     sweep: {capacities: [2, 20], processingTimeFactors: [0.8, 1.2]}) {"""
        + JOB
        + "} }",
        {"line": WELD},
    )
    assert started["totalReplications"] == 4
    job = await _wait(demo_twin, started["id"])
    assert job["status"] == "SUCCEEDED", job
    points = job["sweep"]["points"]
    assert sorted((p["capacity"], p["processingTimeFactor"]) for p in points) == [
        (2, 0.8), (2, 1.2), (20, 0.8), (20, 1.2)
    ]  # fmt: skip
    assert job["sweep"]["configurationsPerMinute"] > 0


async def test_calibrate_fits_processing_times_from_history(
    demo_twin: Twin, tmp_path: Path
) -> None:
    machine = f"{WELD}/stations/op50/oven-1g"
    sim = demo_twin.services.sim
    assert sim is not None
    views = await demo_twin.services.twins.queries.views([machine])
    if views[0] is None:  # the oven's letter follows the machines before it
        children = await demo_twin.services.twins.queries.children([WELD_OP50])
        machine = children[0][0].iri
    history = SqliteHistory(tmp_path / "history.sqlite3", retention=None)
    rng = random.Random(4)
    now = utcnow()
    samples = [
        Sample(
            (machine, f"{GT}cycleTime"),
            round(rng.lognormvariate(math.log(40.0), 0.1), 2),
            now - timedelta(minutes=400 - i),
            now,
            Quality.GOOD,
        )
        for i in range(300)
    ]
    history.append(samples)
    await history.flush()
    sim.use_history(history)
    try:
        result = await _simulate(demo_twin, horizon=4.0, reps=1, calibrate=True)
    finally:
        sim.history = None
        await history.close()
    fitted = [p for p in result["parameters"] if p["asset"] == machine and p["source"] == "HISTORY"]
    assert fitted, [p for p in result["parameters"] if p["asset"] == machine]
    assert "300" in fitted[0]["detail"] or "cycle" in fitted[0]["detail"]


# -- bad input ---------------------------------------------------------------------------


async def test_unknown_line_is_not_found(demo_twin: Twin) -> None:
    error = await _error(
        demo_twin, SIMULATE, {"line": f"{WELD}-nope", "horizon": 1.0, "reps": 1, "seed": 1}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_station_is_not_a_line(demo_twin: Twin) -> None:
    values = {"line": WELD_OP50, "horizon": 1.0, "reps": 1, "seed": 1}
    error = await _error(demo_twin, SIMULATE, values)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "line" in error["message"]


@pytest.mark.parametrize(
    ("variables", "bound"),
    [
        ({"horizon": 0.0}, "8760"),
        ({"horizon": 100_000.0}, "8760"),
        ({"reps": 0}, "200"),
        ({"reps": 5000}, "200"),
        ({"seed": -1}, "2147483647"),
        ({"horizon": 8000.0, "reps": 100}, "startSimulation"),
    ],
)
async def test_absurd_runs_are_refused_with_the_bound(
    demo_twin: Twin, variables: dict[str, Any], bound: str
) -> None:
    values = {"line": WELD, "horizon": 1.0, "reps": 1, "seed": 1, **variables}
    error = await _error(demo_twin, SIMULATE, values)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert bound in error["message"]


@pytest.mark.parametrize(
    ("scenario", "path"),
    [
        ({"bufferCapacities": [{"buffer": f"{WELD}/buffers/nope", "capacity": 3}]}, "buffer"),
        ({"bufferCapacities": [{"buffer": WELD_B10, "capacity": 0}]}, "capacity"),
        ({"demandMultiplier": -1.0}, "demandMultiplier"),
        ({"processingTimes": [{"asset": WELD_OP50, "factor": 0.0}]}, "factor"),
        ({"processingTimes": [{"asset": WELD_OP50, "factor": 1e-9}]}, "factor"),
        (
            {"deferredMaintenance": [{"asset": WELD_OP50, "intervalFactor": 1e-300}]},
            "intervalFactor",
        ),
        ({"processingTimes": [{"asset": f"{PRESS}/stations/op10"}]}, "processingTimes"),
        ({"machinesDown": [{"asset": WELD_OP50, "fromHour": 5, "toHour": 1}]}, "machinesDown"),
        ({"shiftCalendar": "Mon-Fri 25:00-26:00"}, "shiftCalendar"),
        ({"addedMachines": [{"station": WELD_B10}]}, "station"),
        ({"deferredMaintenance": [{"asset": WELD_OP50, "intervalFactor": 2}]}, "asset"),
    ],
)
async def test_bad_scenarios_are_refused_with_the_field(
    demo_twin: Twin, scenario: dict[str, Any], path: str
) -> None:
    values = {"line": WELD, "horizon": 1.0, "reps": 1, "seed": 1, "scenario": scenario}
    error = await _error(demo_twin, SIMULATE, values)
    assert error["extensions"]["code"] == "BAD_INPUT", error
    assert path in error["extensions"]["field"], error


async def test_start_with_bad_input_returns_a_typed_error(demo_twin: Twin) -> None:
    result = await demo_twin.mutate(
        'mutation { startSimulation(line: "' + WELD + '", horizon: -1) {' + JOB + "} }"
    )
    assert result["code"] == "BAD_INPUT"
    assert "horizon" in result["path"]


async def test_unnamed_variants_are_not_all_called_baseline(demo_twin: Twin) -> None:
    # A variant without a name used to be "baseline" too, and the comparison was
    # refused for duplicate names.
    data = await demo_twin.query(
        """query($line: String!) {
          compareScenarios(line: $line, horizon: 4, replications: 1,
                           variants: [{demandMultiplier: 1.5}, {demandMultiplier: 0.5}]) {
            baseline { scenario } variants { result { scenario } } } }""",
        {"line": WELD},
    )
    comparison = data["compareScenarios"]
    assert comparison["baseline"]["scenario"] == "baseline"
    assert [v["result"]["scenario"] for v in comparison["variants"]] == ["variant 1", "variant 2"]


async def test_added_machines_do_not_copy_a_change_aimed_at_the_first_machine(
    demo_twin: Twin,
) -> None:
    children = await demo_twin.services.twins.queries.children([WELD_OP50])
    first = children[0][0].iri
    data = await demo_twin.query(
        """query($line: String!, $station: String!, $first: String!) {
          compareScenarios(line: $line, horizon: 24, warmup: 1, replications: 1, variants: [
            {name: "both", addedMachines: [{station: $station}],
             machinesDown: [{asset: $first, fromHour: 0, toHour: 24}]}]) {
            variants { result { stations { station machines shares { down { mean } } } } } } }""",
        {"line": WELD, "station": WELD_OP50, "first": first},
    )
    [variant] = data["compareScenarios"]["variants"]
    op50 = next(s for s in variant["result"]["stations"] if s["station"] == WELD_OP50)
    assert op50["machines"] == 2
    # Only the first of the two machines is down all day: half the station's time.
    assert op50["shares"]["down"]["mean"] == pytest.approx(0.5, abs=0.02)


async def test_a_downtime_window_after_the_horizon_is_refused(demo_twin: Twin) -> None:
    values = {
        "line": WELD,
        "horizon": 24.0,
        "reps": 1,
        "seed": 1,
        "scenario": {"machinesDown": [{"asset": WELD_OP50, "fromHour": 30, "toHour": 40}]},
    }
    error = await _error(demo_twin, SIMULATE, values)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "after the horizon" in error["message"]


# Last: the lab plant replaces the demo plant the tests above share.
async def test_missing_processing_time_names_the_station_and_machine(lab_twin: Twin) -> None:
    values = {"line": LAB_LINE, "horizon": 1.0, "reps": 1, "seed": 1}
    error = await _error(lab_twin, SIMULATE, values)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert LAB_ROBOT in error["message"]
    assert "processing time" in error["message"]
    assert LAB_OP10 not in error["message"]
