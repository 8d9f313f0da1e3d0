"""The line model against queueing theory and known line behaviour.

Tolerances are tight enough that a wrong model fails: deterministic service
instead of exponential halves the M/M/1 queue, a missing server of an M/M/c
station or time-based instead of operation-based failures move the answers by far
more than the margins here. Runs use fixed seeds, so they are reproducible.
"""

from __future__ import annotations

import math

import pytest

from graphtwin.sim.engine import ORDERS, run_replication
from graphtwin.sim.results import Replication
from graphtwin.sim.spec import (
    ArrivalSpec,
    BufferSpec,
    Distribution,
    LineSpec,
    MachineSpec,
    StationSpec,
)


def _machine(iri: str, processing: Distribution, **extra: object) -> MachineSpec:
    return MachineSpec(iri, iri, processing, processing.mean, **extra)  # type: ignore[arg-type]


def queue_line(arrival_mean: float, service_mean: float, servers: int) -> LineSpec:
    machines = tuple(
        _machine(f"urn:m{i}", Distribution.exponential(service_mean)) for i in range(servers)
    )
    return LineSpec(
        "urn:line",
        "queue",
        (StationSpec("urn:s", "S", machines),),
        (),
        ArrivalSpec(Distribution.exponential(arrival_mean)),
    )


def serial_line(
    machines: list[MachineSpec], capacity: int, *, arrivals: ArrivalSpec | None = None
) -> LineSpec:
    n = len(machines)
    stations = tuple(
        StationSpec(
            f"urn:s{i}",
            f"S{i}",
            (m,),
            inputs=(f"urn:b{i}",) if i else (),
            outputs=(f"urn:b{i + 1}",) if i < n - 1 else (),
        )
        for i, m in enumerate(machines)
    )
    buffers = tuple(BufferSpec(f"urn:b{i}", f"B{i}", capacity) for i in range(1, n))
    return LineSpec("urn:line", "serial", stations, buffers, arrivals or ArrivalSpec())


def _orders(rep: Replication) -> float:
    return next(b.mean_level for b in rep.buffers if b.id == ORDERS)


def _runs(line: LineSpec, horizon: float, reps: int, warmup: float = 20_000.0) -> list[Replication]:
    return [run_replication(line, horizon, warmup, seed=11, replication=r) for r in range(reps)]


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def test_mm1_station_matches_closed_forms() -> None:
    lam, mu = 1 / 10, 1 / 7
    rho = lam / mu
    runs = _runs(queue_line(10.0, 7.0, 1), 1_000_000.0, 3)
    utilization = _mean([r.stations[0].utilization for r in runs])
    queue = _mean([_orders(r) for r in runs])
    wait = _mean([r.lead_time_mean or 0.0 for r in runs])
    assert utilization == pytest.approx(rho, abs=0.01)
    assert queue == pytest.approx(rho**2 / (1 - rho), rel=0.06)  # Lq = 1.633
    assert wait == pytest.approx(1 / (mu - lam), rel=0.05)  # W = 23.3 s


def _erlang_c(servers: int, offered: float) -> float:
    rho = offered / servers
    top = offered**servers / math.factorial(servers) / (1 - rho)
    return top / (sum(offered**k / math.factorial(k) for k in range(servers)) + top)


def test_mmc_station_matches_erlang_c() -> None:
    servers, arrival_mean, service_mean = 3, 10.0, 20.0
    lam, mu = 1 / arrival_mean, 1 / service_mean
    offered = lam / mu
    rho = offered / servers
    lq = _erlang_c(servers, offered) * rho / (1 - rho)  # 0.889
    runs = _runs(queue_line(arrival_mean, service_mean, servers), 1_000_000.0, 3)
    utilization = _mean([r.stations[0].utilization for r in runs])
    queue = _mean([_orders(r) for r in runs])
    wait = _mean([r.buffers[-1].mean_wait(r.duration) or 0.0 for r in runs])
    assert utilization == pytest.approx(rho, abs=0.01)
    assert queue == pytest.approx(lq, rel=0.06)
    assert wait == pytest.approx(lq / lam, rel=0.06)  # Wq = Lq / lambda


def test_littles_law_holds_on_a_line_with_buffers_and_failures() -> None:
    machines = [
        _machine(
            f"urn:m{i}",
            Distribution.lognormal(ct, ct * 0.3),
            failure=Distribution.exponential(3_000.0),
            repair=Distribution.exponential(200.0),
        )
        for i, ct in enumerate((40.0, 45.0, 38.0, 42.0))
    ]
    line = serial_line(machines, 5, arrivals=ArrivalSpec(Distribution.exponential(60.0)))
    for rep in _runs(line, 800_000.0, 2):
        arrival_rate = rep.good / rep.duration
        assert rep.lead_time_mean is not None
        assert rep.wip == pytest.approx(arrival_rate * rep.lead_time_mean, rel=0.02)


def test_deterministic_serial_line_runs_at_the_slowest_cycle_time() -> None:
    times = (10.0, 14.0, 12.0, 9.0)
    line = serial_line(
        [_machine(f"urn:m{i}", Distribution.fixed(t)) for i, t in enumerate(times)], 2
    )
    [rep] = _runs(line, 100_000.0, 1, warmup=1_000.0)
    assert rep.throughput == pytest.approx(3600 / 14.0, rel=0.001)
    assert rep.bottleneck == "urn:s1"
    assert rep.stations[1].utilization == pytest.approx(1.0, abs=0.001)


def test_bigger_buffer_raises_throughput_towards_the_isolated_bottleneck() -> None:
    def line(capacity: int) -> LineSpec:
        first = _machine(
            "urn:m0",
            Distribution.fixed(10.0),
            failure=Distribution.exponential(1_000.0),
            repair=Distribution.exponential(100.0),
        )
        second = _machine(
            "urn:m1",
            Distribution.fixed(11.0),
            failure=Distribution.exponential(1_500.0),
            repair=Distribution.exponential(150.0),
        )
        return serial_line([first, second], capacity)

    # Alone, each machine needs ct * (1 + MTTR/MTBF) per part: 11 s and 12.1 s.
    limit = 3600 / (11.0 * 1.1)
    throughput = {}
    for capacity in (1, 4, 16, 128):
        runs = _runs(line(capacity), 600_000.0, 2)
        throughput[capacity] = _mean([r.throughput for r in runs])
    values = [throughput[c] for c in (1, 4, 16, 128)]
    assert values == sorted(values)
    assert values[0] < 0.95 * limit  # a one-part buffer loses a lot to blocking
    assert values[-1] == pytest.approx(limit, rel=0.02)
    assert values[-1] <= limit * 1.01


def test_same_seed_gives_the_same_answer_and_another_seed_does_not() -> None:
    line = queue_line(10.0, 7.0, 2)
    first = run_replication(line, 50_000.0, 1_000.0, seed=5, replication=0)
    again = run_replication(line, 50_000.0, 1_000.0, seed=5, replication=0)
    other = run_replication(line, 50_000.0, 1_000.0, seed=6, replication=0)
    assert (first.good, first.wip, first.lead_time_mean) == (
        again.good,
        again.wip,
        again.lead_time_mean,
    )
    assert first.stations == again.stations
    assert (first.good, first.wip) != (other.good, other.wip)
