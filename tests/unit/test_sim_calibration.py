"""Calibration from a real SQLite history: fitted families and means, origins that say
where every value came from, and parameters skipped for lack of data."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from graphtwin.errors import BadInput
from graphtwin.history.port import HistoryPoint
from graphtwin.history.sqlite import SqliteHistory
from graphtwin.semantics.vocab import GT
from graphtwin.sim import calibration
from graphtwin.sim.calibration import calibrate, cycle_samples, repairs_and_uptimes
from graphtwin.sim.fitting import fit_durations
from graphtwin.sim.spec import (
    Distribution,
    Family,
    LineSpec,
    MachineSpec,
    Origin,
    Power,
    StationSpec,
)
from graphtwin.values import Quality, Sample, Scalar

T0 = datetime(2026, 11, 15, tzinfo=UTC)
END = T0 + timedelta(days=7)
BUSY = "https://acme.example/sites/lab/lines/l1/op10/m1"
QUIET = "https://acme.example/sites/lab/lines/l1/op20/m1"
PARAMETERS = (
    "processingTime",
    "processingDistribution",
    "timeBetweenFailures",
    "repairTime",
    "powerProducing",
    "powerIdle",
    "powerBlocked",
    "powerDown",
    "powerSetup",
)


def machine(iri: str) -> MachineSpec:
    return MachineSpec(iri, iri.rsplit("/", 2)[-2], Distribution.fixed(25.0), 25.0, power=Power(40))


def line() -> LineSpec:
    origins = [
        Origin(iri, parameter, "graph value", "graph", "from the graph")
        for iri in (BUSY, QUIET)
        for parameter in PARAMETERS
    ]
    origins.append(Origin("https://acme.example/sites/lab/lines/l1", "demand", "1/h", "graph"))
    return LineSpec(
        "https://acme.example/sites/lab/lines/l1",
        "L1",
        (
            StationSpec(BUSY.rsplit("/", 1)[0], "OP10", (machine(BUSY),), outputs=("b",)),
            StationSpec(QUIET.rsplit("/", 1)[0], "OP20", (machine(QUIET),), inputs=("b",)),
        ),
        (),
        origins=tuple(origins),
    )


def sample(
    iri: str, prop: str, value: Scalar, when: datetime, quality: Quality = Quality.GOOD
) -> Sample:
    return Sample((iri, prop), value, when, when, quality)


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    sigma2 = math.log(1 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def busy_history() -> list[Sample]:
    """400 lognormal cycle times (each polled 1-3 times), and 41 failures with
    exponential uptimes (mean 2 h; 40 between two failures) and lognormal repairs
    (mean 30 min), with power while producing, idle and down."""
    rng = random.Random(20261115)
    samples: list[Sample] = []
    when = T0
    mu, sigma = lognormal_params(30.0, 3.0)
    for _ in range(400):
        value = round(rng.lognormvariate(mu, sigma), 3)
        for _repeat in range(rng.randint(1, 3)):
            samples.append(sample(BUSY, str(GT.cycleTime), value, when))
            when += timedelta(seconds=10)
    # Bad quality and non-positive values never count.
    samples.append(sample(BUSY, str(GT.cycleTime), 1000.0, when, Quality.BAD))
    samples.append(sample(BUSY, str(GT.cycleTime), 0.0, when + timedelta(seconds=1)))

    when = T0
    rmu, rsigma = lognormal_params(1800.0, 600.0)
    state = str(GT.machineState)
    power = str(GT.activePower)
    for _ in range(41):
        up = rng.expovariate(1 / 7200.0)
        samples.append(sample(BUSY, state, "producing", when))
        # An idle spell inside the producing stretch does not count as uptime.
        samples.append(sample(BUSY, state, "idle", when + timedelta(seconds=up)))
        samples.append(sample(BUSY, state, "producing", when + timedelta(seconds=up + 600)))
        for k in range(int(up // 60)):
            samples.append(
                sample(BUSY, power, 50 + rng.gauss(0, 2), when + timedelta(seconds=30 + 60 * k))
            )
        for k in range(9):
            samples.append(sample(BUSY, power, 8.0, when + timedelta(seconds=up + 30 + 60 * k)))
        down_at = when + timedelta(seconds=up + 600 + 5)
        samples.append(sample(BUSY, state, "down", down_at))
        repair = rng.lognormvariate(rmu, rsigma)
        samples.append(sample(BUSY, power, 2.0, down_at + timedelta(seconds=1)))
        when = down_at + timedelta(seconds=repair)
    samples.append(sample(BUSY, state, "producing", when))
    return samples


@pytest.fixture
async def history(tmp_path: Path) -> AsyncIterator[SqliteHistory]:
    store = SqliteHistory(tmp_path / "history.db", retention=None)
    store.append(busy_history())
    # The quiet machine: four cycle times, one repair.
    store.append(
        [sample(QUIET, str(GT.cycleTime), 20.0 + i, T0 + timedelta(minutes=i)) for i in range(4)]
        + [
            sample(QUIET, str(GT.machineState), s, T0 + timedelta(hours=i))
            for i, s in enumerate(("producing", "down", "producing"))
        ]
    )
    await store.flush()
    yield store
    await store.close()


def origin(spec: LineSpec, asset: str, parameter: str) -> Origin:
    (found,) = [o for o in spec.origins if o.asset == asset and o.parameter == parameter]
    return found


async def test_fits_processing_failures_repairs_and_power(history: SqliteHistory) -> None:
    spec = await calibrate(line(), history, T0, END)
    busy = spec.stations[0].machines[0]

    assert busy.processing.family is Family.LOGNORMAL
    assert busy.processing.mean == pytest.approx(30.0, rel=0.05)
    assert busy.processing.sd == pytest.approx(3.0, rel=0.2)
    assert busy.ideal_cycle == 25.0  # the OEE reference stays the graph's
    processing = origin(spec, BUSY, "processingTime")
    assert processing.source == "history"
    assert processing.detail.startswith("lognormal fitted to 400 gt:cycleTime samples ")
    assert "2026-11-15T00:00Z..2026-11-22T00:00Z, KS D=0." in processing.detail
    family = origin(spec, BUSY, "processingDistribution")
    assert family.source == "history" and family.value == "lognormal"
    assert family.detail.startswith("chosen by the Kolmogorov-Smirnov statistic: KS D=0.")
    assert "(normal D=" in family.detail and "exponential D=" in family.detail

    assert busy.failure is not None and busy.repair is not None
    assert busy.failure.family is Family.EXPONENTIAL
    assert busy.failure.mean == pytest.approx(7200.0, rel=0.35)
    assert busy.repair.family is Family.LOGNORMAL
    assert busy.repair.mean == pytest.approx(1800.0, rel=0.25)
    assert "40 operating times between failures" in origin(spec, BUSY, "timeBetweenFailures").detail
    repair = origin(spec, BUSY, "repairTime").detail
    assert repair.startswith("lognormal fitted to 41 repairs")
    assert ", KS D=0." in repair and "(exponential D=" in repair

    assert busy.power.producing == pytest.approx(50.0, rel=0.02)
    assert busy.power.idle == pytest.approx(8.0)
    assert busy.power.down == pytest.approx(2.0)
    assert origin(spec, BUSY, "powerProducing").source == "history"
    # Too few points while blocked or in setup: the graph value stays, with a reason.
    assert busy.power.blocked == 0 and busy.power.setup == 0
    blocked = origin(spec, BUSY, "powerBlocked")
    assert blocked.source == "graph"
    assert "calibration skipped: 0 gt:activePower points while blocked" in blocked.detail

    # Every parameter appears once: replaced, not listed twice.
    keys = [(o.asset, o.parameter) for o in spec.origins]
    assert len(keys) == len(set(keys)) == len(line().origins)


async def test_too_little_data_keeps_the_graph_values_and_says_why(
    history: SqliteHistory,
) -> None:
    before = line()
    spec = await calibrate(before, history, T0, END)
    quiet = spec.stations[1].machines[0]
    assert quiet == before.stations[1].machines[0]
    processing = origin(spec, QUIET, "processingTime")
    assert processing.source == "graph" and processing.value == "graph value"
    assert processing.detail.startswith("from the graph; calibration skipped: 4 cycle-time samples")
    assert processing.detail.endswith("need 10")
    repair = origin(spec, QUIET, "repairTime")
    assert "calibration skipped: 1 repairs" in repair.detail and "need 3" in repair.detail
    assert origin(spec, spec.iri, "demand") == before.origins[-1]


async def test_an_empty_window_skips_everything(history: SqliteHistory) -> None:
    spec = await calibrate(line(), history, END, END + timedelta(days=1))
    assert spec.stations == line().stations
    assert all(o.source != "history" for o in spec.origins)


async def test_a_capped_read_says_so(
    history: SqliteHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calibration, "MAX_POINTS", 50)
    spec = await calibrate(line(), history, T0, END)
    assert "capped at the first 50 points" in origin(spec, BUSY, "processingTime").detail


async def test_a_bad_window_is_refused(history: SqliteHistory) -> None:
    with pytest.raises(BadInput, match="must be before end"):
        await calibrate(line(), history, END, T0)


def point(value: Scalar, seconds: float, quality: Quality = Quality.GOOD) -> HistoryPoint:
    return HistoryPoint(T0 + timedelta(seconds=seconds), value, quality)


def test_cycle_samples_drop_polled_repeats_and_bad_values() -> None:
    points = [
        point(30.0, 0),
        point(30.0, 1),  # the same part polled again
        point(31.5, 2),
        point(True, 3),
        point("32", 4),
        point(-1.0, 5),
        point(31.5, 6, Quality.UNCERTAIN),
        point(31.5, 7),  # repeats the last good value
        point(30, 8),
    ]
    assert cycle_samples(points) == [30.0, 31.5, 30.0]


def test_repairs_and_uptimes_from_state_runs() -> None:
    points = [
        point("producing", 0),
        point("down", 100),  # uptime before the first failure is not counted
        point("producing", 160),
        point("idle", 260),
        point("producing", 300),
        point("down", 400),
        point("down", 410),  # the same run
        point("setup", 500),
        point("producing", 520),
        point("down", 620),  # still down at the end: no repair length
    ]
    runs = calibration._runs(points)
    repairs, uptimes = repairs_and_uptimes(runs)
    assert repairs == [60.0, 100.0]
    assert uptimes == [200.0, 100.0]


def test_a_negligible_spread_is_deterministic_and_a_wide_one_exponential() -> None:
    steady = fit_durations([30.0, 30.1, 29.9, 30.0, 30.05])
    assert steady.distribution.family is Family.DETERMINISTIC
    assert steady.distribution.mean == pytest.approx(30.01)
    assert steady.ks is None
    rng = random.Random(7)
    wide = fit_durations([rng.expovariate(1 / 60) for _ in range(500)])
    assert wide.distribution.family is Family.EXPONENTIAL
    assert wide.distribution.mean == pytest.approx(60, rel=0.15)


def test_a_steady_cycle_keeps_one_sample_per_part() -> None:
    # Every part takes 30 s and is reported once when done: the same value 30 s
    # apart is a new part each time, not a polled repeat.
    points = [point(30.0, 30 * i) for i in range(12)]
    assert cycle_samples(points) == [30.0] * 12
