"""Behaviour of the line model's features: shifts, downtime windows, changeovers,
scrap, planned maintenance, splits and merges, energy and the warm-up."""

from __future__ import annotations

import pytest

from graphtwin.errors import BadInput
from graphtwin.sim import engine
from graphtwin.sim.calendar import parse_calendar
from graphtwin.sim.engine import run_replication
from graphtwin.sim.results import STATES
from graphtwin.sim.spec import (
    ArrivalSpec,
    BufferSpec,
    Distribution,
    LineSpec,
    MachineSpec,
    Power,
    StationSpec,
)

HOUR = 3600.0
OFF, DOWN, SETUP, MAINT = (STATES.index(s) for s in ("offShift", "down", "setup", "maintenance"))


def machine(iri: str, seconds: float, **extra: object) -> MachineSpec:
    return MachineSpec(iri, iri, Distribution.fixed(seconds), seconds, **extra)  # type: ignore[arg-type]


def one_station(m: MachineSpec, **line: object) -> LineSpec:
    return LineSpec("urn:l", "L", (StationSpec("urn:s", "S", (m,)),), (), **line)  # type: ignore[arg-type]


def test_off_shift_time_produces_nothing() -> None:
    calendar = parse_calendar("Mon-Fri 06:00-14:00")
    rep = run_replication(
        one_station(machine("urn:m", 10.0), calendar=calendar), 24 * HOUR, 0, 1, 0
    )
    station = rep.stations[0]
    assert station.shares[OFF] == pytest.approx(16 / 24, abs=1e-6)
    assert rep.good == 8 * 360  # 8 h at 10 s a part
    assert station.utilization == pytest.approx(1.0)  # planned time excludes off-shift


def test_a_downtime_window_stops_the_machine() -> None:
    m = machine("urn:m", 10.0, down_windows=((2 * HOUR, 5 * HOUR),))
    rep = run_replication(one_station(m), 10 * HOUR, 0, 1, 0)
    assert rep.stations[0].shares[DOWN] == pytest.approx(0.3, abs=1e-6)
    assert rep.good == pytest.approx(7 * 360, abs=1)  # the part due at the very end is not


def test_changeovers_happen_when_the_product_changes() -> None:
    m = machine("urn:m", 10.0, setup=Distribution.fixed(60.0))
    arrivals = ArrivalSpec(products=2, batch_size=10)
    rep = run_replication(one_station(m, arrivals=arrivals), 10_000.0, 0, 1, 0)
    # Runs of 10 parts (100 s) each followed by a 60 s changeover.
    assert rep.stations[0].shares[SETUP] == pytest.approx(60 / 160, abs=0.01)


def test_scrap_follows_the_yield() -> None:
    m = machine("urn:m", 1.0, yield_=0.9)
    rep = run_replication(one_station(m), 100_000.0, 0, 3, 0)
    total = rep.good + rep.scrapped
    assert rep.scrapped / total == pytest.approx(0.1, abs=0.005)
    assert rep.stations[0].quality == pytest.approx(rep.good / total)


def test_planned_maintenance_counts_operating_time() -> None:
    m = machine("urn:m", 10.0, maintenance_interval=HOUR, maintenance_duration=600.0)
    rep = run_replication(one_station(m), 11 * HOUR, 0, 1, 0)
    # An hour of work, ten minutes of maintenance, over and over.
    assert rep.stations[0].shares[MAINT] == pytest.approx(600 / 4200, abs=0.01)
    assert rep.stations[0].availability == pytest.approx(1.0)


def test_energy_is_power_times_time_in_each_state() -> None:
    m = machine("urn:m", 10.0, power=Power(producing=36.0, idle=3.6))
    line = one_station(m, arrivals=ArrivalSpec(Distribution.fixed(20.0)))
    rep = run_replication(line, 100 * HOUR, 0, 1, 0)
    # Half producing at 36 kW, half idle at 3.6 kW: 19.8 kWh an hour.
    assert rep.energy_kwh == pytest.approx(100 * 19.8, rel=0.01)
    assert rep.energy_per_unit == pytest.approx(19.8 / 180, rel=0.01)


def test_a_split_and_merge_share_the_work() -> None:
    # s0 feeds two buffers, each feeding its own slow station; both feed one sink.
    stations = (
        StationSpec("urn:s0", "S0", (machine("urn:m0", 5.0),), outputs=("urn:ba", "urn:bb")),
        StationSpec("urn:sa", "SA", (machine("urn:ma", 10.0),), ("urn:ba",), ("urn:bc",)),
        StationSpec("urn:sb", "SB", (machine("urn:mb", 10.0),), ("urn:bb",), ("urn:bc",)),
        StationSpec("urn:s9", "S9", (machine("urn:m9", 1.0),), ("urn:bc",)),
    )
    buffers = tuple(BufferSpec(b, b, 3) for b in ("urn:ba", "urn:bb", "urn:bc"))
    rep = run_replication(LineSpec("urn:l", "L", stations, buffers), 10_000.0, 100.0, 1, 0)
    assert rep.throughput == pytest.approx(720.0, rel=0.01)  # two 10 s stations in parallel
    produced = {s.iri: s.produced for s in rep.stations}
    assert produced["urn:sa"] == pytest.approx(produced["urn:sb"], abs=2)


def test_a_station_with_two_input_buffers_takes_from_both() -> None:
    stations = (
        StationSpec("urn:a", "A", (machine("urn:ma", 20.0),), outputs=("urn:ba",)),
        StationSpec("urn:b", "B", (machine("urn:mb", 20.0),), outputs=("urn:bb",)),
        StationSpec("urn:c", "C", (machine("urn:mc", 5.0),), ("urn:ba", "urn:bb")),
    )
    buffers = (BufferSpec("urn:ba", "BA", 2), BufferSpec("urn:bb", "BB", 2))
    rep = run_replication(LineSpec("urn:l", "L", stations, buffers), 10_000.0, 100.0, 1, 0)
    assert rep.throughput == pytest.approx(360.0, rel=0.01)  # 180/h from each feeder


def test_the_warm_up_is_not_counted() -> None:
    line = one_station(machine("urn:m", 10.0))
    rep = run_replication(line, HOUR, 5 * HOUR, 1, 0)
    assert rep.duration == HOUR
    assert rep.good == 360
    assert sum(rep.stations[0].seconds) == pytest.approx(HOUR)


def test_a_station_with_its_own_calendar_keeps_its_hours() -> None:
    night = parse_calendar("Mon-Sun 22:00-06:00")
    stations = (
        StationSpec("urn:a", "A", (machine("urn:ma", 10.0),), outputs=("urn:b",)),
        StationSpec("urn:c", "C", (machine("urn:mc", 5.0, calendar=night),), ("urn:b",)),
    )
    line = LineSpec(
        "urn:l",
        "L",
        stations,
        (BufferSpec("urn:b", "B", 10_000),),
        calendar=parse_calendar("Mon-Sun 06:00-22:00"),
    )
    rep = run_replication(line, 48 * HOUR, 0, 1, 0)
    shares = {s.iri: s.shares[OFF] for s in rep.stations}
    assert shares["urn:a"] == pytest.approx(8 / 24, abs=1e-6)
    assert shares["urn:c"] == pytest.approx(16 / 24, abs=1e-6)


def test_a_split_does_not_wait_on_one_full_branch_while_the_other_has_room() -> None:
    # One feeder splits into a slow and a fast branch behind one-part buffers: the
    # fast branch must take nearly all the work instead of waiting for the slow one.
    stations = (
        StationSpec("urn:s", "S", (machine("urn:m", 1.0),), outputs=("urn:b1", "urn:b2")),
        StationSpec("urn:slow", "Slow", (machine("urn:m1", 100.0),), ("urn:b1",)),
        StationSpec("urn:fast", "Fast", (machine("urn:m2", 2.0),), ("urn:b2",)),
    )
    buffers = (BufferSpec("urn:b1", "B1", 1), BufferSpec("urn:b2", "B2", 1))
    rep = run_replication(LineSpec("urn:l", "L", stations, buffers), 10_000.0, 100.0, 1, 0)
    assert rep.throughput == pytest.approx(3600 / 100 + 3600 / 2, rel=0.02)


def test_a_saturated_merge_takes_from_every_feeder() -> None:
    stations = (
        StationSpec("urn:a", "A", (machine("urn:ma", 1.0),), outputs=("urn:ba",)),
        StationSpec("urn:b", "B", (machine("urn:mb", 1.0),), outputs=("urn:bb",)),
        StationSpec(
            "urn:c", "C", (machine("urn:mc1", 3.0), machine("urn:mc2", 3.0)), ("urn:ba", "urn:bb")
        ),
    )
    buffers = (BufferSpec("urn:ba", "BA", 1), BufferSpec("urn:bb", "BB", 1))
    rep = run_replication(LineSpec("urn:l", "L", stations, buffers), 10_000.0, 100.0, 1, 0)
    passed = {b.id: b.passed for b in rep.buffers}
    assert passed["urn:ba"] == pytest.approx(passed["urn:bb"], rel=0.02)
    assert sum(passed.values()) == pytest.approx(rep.good, abs=2)
    assert all(b.max_level <= 1 for b in rep.buffers)


def test_a_line_far_behind_its_demand_is_called_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_WAITING_ORDERS", 10_000)  # the real bound takes a while
    line = one_station(machine("urn:m", 10.0), arrivals=ArrivalSpec(Distribution.fixed(0.001)))
    with pytest.raises(BadInput, match="falls hopelessly behind its demand"):
        run_replication(line, 10 * HOUR, 0, 1, 0)


def test_a_run_past_its_event_cap_stops_with_a_clear_error() -> None:
    # A stop every 10 ms: far more events than the service's estimate would allow,
    # as a distribution the estimate misjudges could make.
    m = machine("urn:m", 10.0, maintenance_interval=0.01, maintenance_duration=0.01)
    with pytest.raises(BadInput, match="passed 100,000 events"):
        run_replication(one_station(m), HOUR, 0, 1, 0, max_events=100_000)
