"""The SQLite history store: writes, durability callbacks, reads, downsampling against
the same computed in Python, duplicates, retention, restarts, bad input, threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import select
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from graphtwin.errors import BadInput, SourceUnavailable
from graphtwin.history.port import MAX_BUCKETS, MAX_POINTS, Aggregate, HistoryStore
from graphtwin.history.sqlite import SqliteHistory
from graphtwin.values import PropertyKey, Quality, Sample, Scalar

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 3, 1, tzinfo=UTC)
KEY: PropertyKey = ("https://acme.example/m1", "https://acme.example/temperature")
OTHER: PropertyKey = ("https://acme.example/m2", "https://acme.example/temperature")
DAY = timedelta(days=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sample(
    value: Scalar | None,
    seconds: float,
    key: PropertyKey = KEY,
    quality: Quality = Quality.GOOD,
) -> Sample:
    return Sample(key, value, at(seconds), at(seconds) + timedelta(milliseconds=3), quality)


def us(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteHistory]:
    async with SqliteHistory(tmp_path / "history.db", retention=None, max_delay=0.005) as opened:
        yield opened


def count_rows(path: Path) -> int:
    """Rows as a fresh connection (another process, say) sees them."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM points").fetchone()[0])


# -- writes and raw reads --------------------------------------------------------------


def test_it_is_a_history_store(store: SqliteHistory) -> None:
    port: HistoryStore = store
    assert port is store


async def test_appended_samples_come_back_in_source_time_order(store: SqliteHistory) -> None:
    store.append([sample(float(i), i) for i in (5, 1, 3)])
    store.append([sample(float(i), i) for i in (2, 4, 0)])
    store.append([sample(99.0, 1, key=OTHER)])
    await store.flush()

    points = await store.points(KEY, at(0), at(10))

    assert [p.value for p in points] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [p.time for p in points] == [at(i) for i in range(6)]
    assert all(p.quality is Quality.GOOD for p in points)
    assert [p.value for p in await store.points(OTHER, at(0), at(10))] == [99.0]


async def test_points_are_a_half_open_range_with_a_limit(store: SqliteHistory) -> None:
    store.append([sample(i, i) for i in range(10)])
    await store.flush()

    assert [p.value for p in await store.points(KEY, at(2), at(5))] == [2, 3, 4]
    assert [p.value for p in await store.points(KEY, at(2), at(9), limit=2)] == [2, 3]
    assert await store.points(KEY, at(20), at(30)) == []
    assert await store.points(("urn:unknown", "urn:p"), at(0), at(10)) == []


async def test_microseconds_and_other_time_zones_are_kept(store: SqliteHistory) -> None:
    plus_two = datetime(2024, 3, 1, 2, 0, 0, 123457, tzinfo=timezone_plus(2))
    store.append([Sample(KEY, 1.0, plus_two, plus_two)])
    await store.flush()

    (point,) = await store.points(KEY, at(0), at(1))

    assert point.time == at(0.123457)
    assert point.time.microsecond == 123457


async def test_times_before_1970_and_after_2100_are_exact(store: SqliteHistory) -> None:
    times = [
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2100, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    store.append([Sample(KEY, i, when, when) for i, when in enumerate(times)])
    await store.flush()

    points = await store.points(
        KEY, datetime(1900, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    )
    latest = await store.latest([KEY])

    assert [p.time for p in points] == times
    assert latest[KEY].server_time == times[-1]


def timezone_plus(hours: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


async def test_values_of_every_type_round_trip(store: SqliteHistory) -> None:
    values: list[Scalar | None] = [
        True,
        False,
        0,
        1,
        -(2**63),
        2**63 - 1,
        1.0,
        -0.5,
        1e300,
        math.inf,
        "text with ünïcode",
        "",
        None,
    ]
    store.append([sample(v, i, quality=Quality.UNCERTAIN) for i, v in enumerate(values)])
    await store.flush()

    back = [p.value for p in await store.points(KEY, at(0), at(100))]

    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]  # bools stay bools
    assert all(p.quality is Quality.UNCERTAIN for p in await store.points(KEY, at(0), at(100)))


async def test_nan_and_huge_ints_become_floats(store: SqliteHistory) -> None:
    store.append([sample(math.nan, 0), sample(2**70, 1)])
    await store.flush()

    nan, huge = (p.value for p in await store.points(KEY, at(0), at(10)))

    assert isinstance(nan, float) and math.isnan(nan)
    assert huge == float(2**70)


async def test_naive_sample_times_are_taken_as_utc(store: SqliteHistory) -> None:
    naive = datetime(2024, 3, 1, 0, 0, 7)
    store.append([Sample(KEY, 1, naive, naive)])
    await store.flush()

    assert [p.time for p in await store.points(KEY, at(0), at(10))] == [at(7)]


async def test_unstorable_samples_are_rejected_and_counted(
    store: SqliteHistory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "graphtwin.history")
    bad_string = sample("lone surrogate \udc80", 1)  # SQLite cannot encode it
    bad_type = Sample(KEY, object(), at(2), at(2))  # type: ignore[arg-type]
    store.append([sample(0, 0), bad_string, bad_type, sample(3, 3)])
    await store.flush()

    assert [p.value for p in await store.points(KEY, at(0), at(10))] == [0, 3]
    stats = store.stats()
    assert stats["rejected"] == 2
    assert stats["written"] == 2
    assert stats["pending"] == 0
    assert "rejected" in caplog.text


class TracedHistory(SqliteHistory):
    """Records the INSERTs the writer runs (and can lower SQLite's parameter limit)."""

    parameter_limit: int | None = None

    def _open_writer(self) -> sqlite3.Connection:
        conn = super()._open_writer()
        self.inserts: list[str] = []

        def trace(sql: str) -> None:
            if sql.startswith("INSERT OR IGNORE INTO points"):
                self.inserts.append(sql)

        conn.set_trace_callback(trace)
        if self.parameter_limit is not None:
            conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, self.parameter_limit)
        return conn


def many(count: int, key: PropertyKey = KEY) -> list[Sample]:
    return [sample(float(i), i, key) for i in range(count)]


async def test_history_writer_inserts_a_batch_with_a_few_statements_not_one_per_row(
    tmp_path: Path,
) -> None:
    """``executemany`` stepped once per row, giving up the GIL each time: beside a busy
    thread (paho's network loop) the writer fell to a few hundred rows a second."""
    async with TracedHistory(tmp_path / "history.db", retention=None, max_delay=1.0) as store:
        store.append(many(5000))  # one full batch
        await store.flush()

        assert len(await store.points(KEY, at(0), at(5000), limit=5000)) == 5000
        assert store.stats()["written"] == 5000
        assert store.stats()["batches"] == 1
        assert len(store.inserts) <= 16  # 9 x 512 + 6 x 64 + 1 x 8


async def test_multi_row_inserts_count_duplicates_inside_and_across_statements(
    tmp_path: Path,
) -> None:
    async with TracedHistory(tmp_path / "history.db", retention=None, max_delay=1.0) as store:
        store.append(many(600))
        await store.flush()
        # 600 again, 73 new ones between them: the 512-row statement mixes both.
        store.append([*many(600), *[sample(1.5 + i, 1000 + i) for i in range(73)]])
        await store.flush()

        stats = store.stats()
        assert stats["written"] == 673
        assert stats["duplicates"] == 600
        assert len(await store.points(KEY, at(0), at(2000), limit=5000)) == 673


async def test_an_sqlite_build_binding_at_most_999_parameters_still_writes_every_row(
    tmp_path: Path,
) -> None:
    TracedHistory.parameter_limit = 999
    try:
        async with TracedHistory(tmp_path / "history.db", retention=None) as store:
            store.append(many(1000) + many(10, OTHER))
            await store.flush()

            assert len(await store.points(KEY, at(0), at(1000), limit=5000)) == 1000
            assert len(await store.points(OTHER, at(0), at(1000))) == 10
            # Bound values show in the trace: count the rows a statement carries.
            assert max(sql.count("), (") + 1 for sql in store.inserts) == 64  # 512 is too many
    finally:
        TracedHistory.parameter_limit = None


# -- duplicates ---------------------------------------------------------------------


async def test_redelivered_samples_are_ignored_and_counted(store: SqliteHistory) -> None:
    first = [sample(float(i), i) for i in range(5)]
    store.append(first)
    store.append(first[:3])  # a QoS 1 redelivery after a reconnect
    store.append([sample(1.0, 1), sample(1.0, 1)])  # duplicates inside one call
    await store.flush()

    assert len(await store.points(KEY, at(0), at(10))) == 5
    stats = store.stats()
    assert stats["appended"] == 10
    assert stats["written"] == 5
    assert stats["duplicates"] == 5
    assert stats["pending"] == 0


async def test_a_different_value_at_the_same_source_time_keeps_the_first(
    store: SqliteHistory,
) -> None:
    store.append([sample(1.0, 1)])
    await store.flush()
    store.append([sample(2.0, 1), sample(1.0, 1, quality=Quality.STALE)])
    await store.flush()

    (point,) = await store.points(KEY, at(0), at(10))

    assert point.value == 1.0
    assert point.quality is Quality.GOOD
    assert store.stats()["duplicates"] == 2


# -- durability callbacks ---------------------------------------------------------------


async def test_on_durable_fires_once_the_rows_are_committed(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    seen: list[tuple[str, int]] = []
    async with SqliteHistory(path, retention=None, batch_size=100, max_delay=0.001) as store:
        # 1,000 samples are written in ten transactions; the callback comes after the
        # last one, and a fresh connection already sees every row then.
        store.append(
            [sample(float(i), i) for i in range(1000)],
            lambda: seen.append((threading.current_thread().name, count_rows(path))),
        )
        store.append([sample(1.0, 5000)], lambda: seen.append(("second", count_rows(path))))
        await store.flush()

        assert seen == [("graphtwin-history-writer", 1000), ("second", 1001)]
        assert store.stats()["batches"] >= 10


async def test_on_durable_fires_for_duplicates_and_empty_calls(store: SqliteHistory) -> None:
    calls: list[str] = []
    store.append([sample(1.0, 1)], lambda: calls.append("first"))
    store.append([sample(1.0, 1)], lambda: calls.append("duplicate"))
    store.append([], lambda: calls.append("empty"))
    await store.flush()

    assert calls == ["first", "duplicate", "empty"]


async def test_a_failing_callback_does_not_stop_the_writer(
    store: SqliteHistory, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("callback bug")

    store.append([sample(1.0, 1)], boom)
    await store.flush()
    store.append([sample(2.0, 2)])
    await store.flush()

    assert len(await store.points(KEY, at(0), at(10))) == 2
    assert "on_durable callback failed" in caplog.text


_CHILD = """
import sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from graphtwin.history.sqlite import SqliteHistory
from graphtwin.values import Sample

store = SqliteHistory(Path(sys.argv[1]), retention=None, batch_size=1000, max_delay=0.01)
t0 = datetime(2024, 3, 1, tzinfo=UTC)
key = ("urn:asset", "urn:property")
store.append(
    [Sample(key, float(i), t0 + timedelta(seconds=i), t0) for i in range(5000)],
    lambda: print("durable", flush=True),
)
time.sleep(60)  # killed long before
"""


async def test_durable_samples_survive_kill_9(tmp_path: Path) -> None:
    """What the MQTT adapter relies on: once on_durable ran, SIGKILL loses nothing."""
    path = tmp_path / "history.db"
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            ready, _, _ = await asyncio.to_thread(select.select, [child.stdout], [], [], 30)
            assert ready, "the child never reported its samples durable"
            assert child.stdout.readline().strip() == "durable"
        finally:
            child.kill()  # SIGKILL: no close(), no checkpoint, no atexit
            child.wait(timeout=10)

    async with SqliteHistory(path, retention=None) as store:
        points = await store.points(("urn:asset", "urn:property"), T0, T0 + DAY, limit=10_000)
    assert len(points) == 5000


# -- downsampling -----------------------------------------------------------------------


def reference_buckets(
    rows: list[tuple[int, Scalar | None]],
    start: int,
    end: int,
    every: int,
    aggregate: Aggregate,
) -> list[tuple[int, int, Any, int]]:
    """(start us, end us, value, count) per non-empty bucket, in plain Python."""
    groups: dict[int, list[Scalar | None]] = defaultdict(list)
    for t, value in sorted(rows, key=lambda row: row[0]):
        if start <= t < end:
            groups[(t - start) // every].append(value)
    out = []
    for i in sorted(groups):
        values = groups[i]
        numbers = [v for v in values if type(v) in (int, float) and v == v]
        value: Any
        if aggregate.numeric:
            if not numbers:
                continue
            count = len(numbers)
            if aggregate is Aggregate.MIN:
                value = min(numbers)
            elif aggregate is Aggregate.MAX:
                value = max(numbers)
            else:
                value = math.fsum(numbers) / count
        else:
            count = len(values)
            value = {
                Aggregate.FIRST: values[0],
                Aggregate.LAST: values[-1],
                Aggregate.COUNT: count,
            }[aggregate]
        lower = start + i * every
        out.append((lower, min(lower + every, end), value, count))
    return out


def random_series(
    rng: random.Random, n: int, mixed: bool = True
) -> list[tuple[int, Scalar | None]]:
    """Mostly floats, some ints, (if ``mixed``) texts, bools and missing values, with
    gaps in time."""
    t = us(T0)
    rows: list[tuple[int, Scalar | None]] = []
    for _ in range(n):
        t += rng.choice([1, 7, 250_000, 1_000_000, 3_000_000, 40_000_000])
        roll = rng.random() if mixed else rng.random() * 0.87
        value: Scalar | None
        if roll < 0.75:
            value = rng.uniform(-1000, 1000)
        elif roll < 0.87:
            value = rng.randint(-(10**12), 10**12)
        elif roll < 0.92:
            value = rng.choice(["on", "off"])
        elif roll < 0.97:
            value = rng.random() < 0.5
        else:
            value = None
        rows.append((t, value))
    return rows


def to_samples(rows: list[tuple[int, Scalar | None]], key: PropertyKey = KEY) -> list[Sample]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        Sample(key, v, epoch + timedelta(microseconds=t), epoch + timedelta(microseconds=t))
        for t, v in rows
    ]


@pytest.fixture(params=[True, False], ids=["mixed-values", "numbers-only"])
async def random_store(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[SqliteHistory, list[Any]]]:
    """A series of random values; numbers only takes the unfiltered SQL path."""
    rng = random.Random(20240301)
    rows = random_series(rng, 4000, mixed=request.param)
    async with SqliteHistory(tmp_path / "history.db", retention=None, batch_size=700) as store:
        store.append(to_samples(rows))
        store.append(to_samples(random_series(rng, 500), key=OTHER))  # must not leak in
        await store.flush()
        yield store, rows


@pytest.mark.parametrize("aggregate", list(Aggregate))
@pytest.mark.parametrize("one_scan", [True, False], ids=["one-scan", "two-scans"])
async def test_buckets_match_python(
    random_store: tuple[SqliteHistory, list[tuple[int, Scalar | None]]],
    aggregate: Aggregate,
    one_scan: bool,
) -> None:
    store, rows = random_store
    store._one_scan = one_scan  # both SQL forms must agree with Python
    first, last = rows[0][0], rows[-1][0]
    rng = random.Random(aggregate.value)
    for every_s in (0.5, 1.0, 7.3, 60.0, 3600.0):
        # unaligned ranges that cut into the data at both ends
        start = first + rng.randint(0, 10_000_000)
        end = last - rng.randint(0, 10_000_000)
        every = timedelta(seconds=every_s)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        got = await store.buckets(
            KEY,
            epoch + timedelta(microseconds=start),
            epoch + timedelta(microseconds=end),
            every,
            aggregate,
        )
        expected = reference_buckets(
            rows, start, end, every // timedelta(microseconds=1), aggregate
        )

        assert [(us(b.start), us(b.end), b.count) for b in got] == [
            (lo, hi, count) for lo, hi, _, count in expected
        ]
        for bucket, (_, _, value, _) in zip(got, expected, strict=True):
            if aggregate is Aggregate.AVG:
                assert bucket.value == pytest.approx(value, rel=1e-9, abs=1e-3)
            else:
                assert bucket.value == value
                assert type(bucket.value) is type(value)


async def test_buckets_are_aligned_to_start_and_empty_ones_left_out(
    store: SqliteHistory,
) -> None:
    # points at 00:00:05, 00:00:20, 00:00:21 and 00:03:00; buckets of 30 s from 00:00:10
    store.append([sample(1, 5), sample(2, 20), sample(3, 21), sample(4, 180)])
    await store.flush()

    buckets = await store.buckets(KEY, at(10), at(185), timedelta(seconds=30), Aggregate.COUNT)

    assert [(b.start, b.end, b.value, b.count) for b in buckets] == [
        (at(10), at(40), 2, 2),
        (at(160), at(185), 1, 1),  # the last bucket ends with the range
    ]


async def test_numeric_aggregates_leave_out_buckets_without_numbers(
    store: SqliteHistory,
) -> None:
    store.append([sample("a", 1), sample(True, 2), sample(None, 3), sample(5, 70)])
    await store.flush()
    every = timedelta(minutes=1)

    average = await store.buckets(KEY, at(0), at(120), every, Aggregate.AVG)
    last = await store.buckets(KEY, at(0), at(120), every, Aggregate.LAST)

    assert [(b.start, b.value, b.count) for b in average] == [(at(60), 5.0, 1)]
    assert [(b.start, b.value, b.count) for b in last] == [(at(0), None, 3), (at(60), 5, 1)]


async def test_a_series_that_gets_other_values_later_is_aggregated_right(
    store: SqliteHistory,
) -> None:
    every = timedelta(minutes=1)
    store.append([sample(1.0, 1), sample(5, 2)])
    await store.flush()
    assert [
        (b.value, b.count) for b in await store.buckets(KEY, at(0), at(60), every, Aggregate.MIN)
    ] == [(1.0, 2)]

    store.append([sample("-inf", 3), sample(False, 4), sample(None, 5), sample(math.nan, 6)])
    await store.flush()

    for aggregate, expected in [
        (Aggregate.MIN, (1.0, 2)),
        (Aggregate.MAX, (5, 2)),
        (Aggregate.AVG, (3.0, 2)),
        (Aggregate.COUNT, (6, 6)),
    ]:
        (bucket,) = await store.buckets(KEY, at(0), at(60), every, aggregate)
        assert (bucket.value, bucket.count) == expected, aggregate


async def test_a_series_without_numbers_has_no_numeric_buckets(store: SqliteHistory) -> None:
    store.append([sample("on", 1), sample(True, 2)])
    await store.flush()

    assert await store.buckets(KEY, at(0), at(60), timedelta(seconds=1), Aggregate.AVG) == []
    assert len(await store.buckets(KEY, at(0), at(60), timedelta(seconds=1), Aggregate.LAST)) == 2


async def test_buckets_of_an_unknown_series_are_empty(store: SqliteHistory) -> None:
    assert await store.buckets(KEY, at(0), at(10), timedelta(seconds=1), Aggregate.MAX) == []


# -- latest, restart, retention ------------------------------------------------------------


async def test_latest_is_the_newest_sample_per_key(store: SqliteHistory) -> None:
    store.append([sample(2.0, 2), sample(3.0, 3, quality=Quality.STALE), sample(1.0, 1)])
    store.append([sample("x", 7, key=OTHER)])
    await store.flush()

    latest = await store.latest([KEY, OTHER, ("urn:none", "urn:p")])

    assert latest == {KEY: sample(3.0, 3, quality=Quality.STALE), OTHER: sample("x", 7, key=OTHER)}
    assert await store.latest([]) == {}


async def test_reopening_the_file_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    store = SqliteHistory(path, retention=None)
    store.append([sample(float(i), i) for i in range(100)])
    store.append([sample(True, 1, key=OTHER)])
    await store.close()  # close() writes what is pending

    async with SqliteHistory(path, retention=None) as again:
        latest = await again.latest([KEY, OTHER])
        assert latest[KEY] == sample(99.0, 99)
        assert latest[OTHER].value is True
        assert len(await again.points(KEY, at(0), at(1000))) == 100
        again.append([sample(100.0, 100), sample(0.0, 0)])  # known series, one duplicate
        await again.flush()
        assert len(await again.points(KEY, at(0), at(1000))) == 101
        assert again.stats()["duplicates"] == 1


async def test_retention_deletes_points_older_than_the_window(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = [Sample(KEY, i, now - 3 * DAY + timedelta(seconds=i), now) for i in range(50)]
    old += [Sample(OTHER, i, now - 2 * DAY + timedelta(seconds=i), now) for i in range(23)]
    new = [Sample(KEY, i, now - timedelta(hours=1, seconds=i), now) for i in range(10)]
    async with SqliteHistory(tmp_path / "history.db", retention=DAY, retention_chunk=7) as store:
        store.append(old + new)
        await store.flush()

        deleted = await store.apply_retention()

        assert deleted == 73
        assert len(await store.points(KEY, now - 4 * DAY, now)) == 10
        assert await store.points(OTHER, now - 4 * DAY, now) == []
        assert store.stats()["retention_deleted"] == 73
        assert await store.apply_retention() == 0


async def test_retention_covers_many_series_while_samples_keep_coming(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    keys = [("urn:asset", f"urn:p{i}") for i in range(1200)]
    async with SqliteHistory(tmp_path / "history.db", retention=DAY) as store:
        store.append([Sample(key, 1.0, now - 2 * DAY, now) for key in keys])
        store.append([Sample(key, 2.0, now, now) for key in keys[:10]])
        await store.flush()

        retention = asyncio.ensure_future(store.apply_retention())
        store.append([Sample(KEY, 3.0, now, now)])  # written between retention chunks
        await store.flush()

        assert await retention == 1200
        assert len(await store.latest(keys)) == 10
        assert (await store.latest([KEY]))[KEY].value == 3.0


async def test_without_retention_nothing_is_deleted(store: SqliteHistory) -> None:
    store.append([Sample(KEY, 1, datetime(2000, 1, 1, tzinfo=UTC), T0)])
    await store.flush()

    assert await store.apply_retention() == 0
    assert len(await store.points(KEY, datetime(1999, 1, 1, tzinfo=UTC), T0)) == 1


# -- bad input and lifecycle ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.points(KEY, at(10), at(10)), "must be before end"),
        (lambda s: s.points(KEY, at(10), at(5)), "must be before end"),
        (lambda s: s.points(KEY, at(0), at(1), limit=0), "between 1 and 100,000"),
        (lambda s: s.points(KEY, at(0), at(1), limit=MAX_POINTS + 1), "100,000"),
        (lambda s: s.points(KEY, datetime(2024, 1, 1), at(1)), "timezone-aware"),
        (lambda s: s.points(("only-one",), at(0), at(1)), "pair"),
        (
            lambda s: s.buckets(KEY, at(5), at(1), timedelta(seconds=1), Aggregate.MIN),
            "must be before end",
        ),
        (lambda s: s.buckets(KEY, at(0), at(1), timedelta(0), Aggregate.MIN), "at least 1"),
        (
            lambda s: s.buckets(KEY, at(0), at(1), timedelta(seconds=-1), Aggregate.MIN),
            "at least 1",
        ),
        (
            lambda s: s.buckets(KEY, at(0), at(2), timedelta(microseconds=19), Aggregate.AVG),
            "at most 100,000",
        ),
        (lambda s: s.buckets(KEY, at(0), at(1), timedelta(seconds=1), "max"), "aggregate"),
        (lambda s: s.latest([("a", "b", "c")]), "pair"),
    ],
)
async def test_bad_arguments_are_bad_input(
    store: SqliteHistory, call: Callable[[SqliteHistory], Any], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        await call(store)


async def test_the_bucket_bound_is_inclusive(store: SqliteHistory) -> None:
    every = timedelta(microseconds=1)
    end = at(0) + every * MAX_BUCKETS

    assert await store.buckets(KEY, at(0), end, every, Aggregate.COUNT) == []
    with pytest.raises(BadInput):
        await store.buckets(KEY, at(0), end + every, every, Aggregate.COUNT)


async def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "history.db", retention=None)
    await store.close()
    await store.close()  # idempotent

    with pytest.raises(SourceUnavailable):
        store.append([sample(1.0, 1)])
    with pytest.raises(SourceUnavailable):
        await store.flush()
    with pytest.raises(SourceUnavailable):
        await store.points(KEY, at(0), at(1))


async def test_a_file_that_is_not_a_database_is_source_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not sqlite" * 100)

    with pytest.raises(SourceUnavailable, match="cannot open"):
        SqliteHistory(path, retention=None)


# -- threads ---------------------------------------------------------------------------------


async def test_appends_from_many_threads_while_reading(tmp_path: Path) -> None:
    threads, per_thread, keys = 8, 3000, [("urn:a", f"urn:p{i}") for i in range(5)]
    durable = [0]
    lock = threading.Lock()

    def on_durable() -> None:
        with lock:
            durable[0] += 1

    def writer(n: int) -> None:
        for chunk in range(0, per_thread, 100):
            store.append(
                [
                    Sample(keys[i % len(keys)], float(i), at(n * per_thread + i), at(0))
                    for i in range(chunk, chunk + 100)
                ],
                on_durable,
            )

    async with SqliteHistory(
        tmp_path / "history.db", retention=None, batch_size=500, max_delay=0.001
    ) as store:
        workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        reads = 0
        # read while the threads append and the writer commits (at least a few times)
        while reads < 5 or any(w.is_alive() for w in workers) or store.stats()["pending"]:
            await store.buckets(keys[0], at(0), at(10**6), timedelta(hours=1), Aggregate.AVG)
            await store.latest(keys)
            reads += 1
        for worker in workers:
            await asyncio.to_thread(worker.join)
        await store.flush()

        total = sum(
            [len(await store.points(key, at(0), at(10**6), limit=MAX_POINTS)) for key in keys]
        )
        assert total == threads * per_thread
        assert durable[0] == threads * per_thread // 100
        stats = store.stats()
        assert stats["written"] == threads * per_thread
        assert stats["pending"] == 0
        assert reads >= 5


# -- storage errors --------------------------------------------------------------------------


class FlakyHistory(SqliteHistory):
    """Fails the first ``failures`` commits as a full or broken disk would."""

    failures = 0

    def _commit(self, conn: sqlite3.Connection, samples: list[Sample]) -> tuple[int, int]:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return super()._commit(conn, samples)


async def test_storage_errors_are_retried_before_anything_is_acknowledged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.db"
    acknowledged: list[int] = []
    async with FlakyHistory(path, retention=None, max_delay=0.001) as store:
        store.failures = 2
        store.append([sample(1.0, 1)], lambda: acknowledged.append(count_rows(path)))
        await store.flush()

        assert acknowledged == [1]
        assert store.stats()["write_errors"] == 2
        assert len(await store.points(KEY, at(0), at(10))) == 1
    assert "disk I/O error" in caplog.text


async def test_closing_gives_up_on_a_broken_disk_without_acknowledging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyHistory(tmp_path / "history.db", retention=None, max_delay=0.001)
    store.failures = 1_000
    acknowledged: list[str] = []
    store.append([sample(1.0, 1), sample(2.0, 2)], lambda: acknowledged.append("no!"))
    flushing = asyncio.ensure_future(store.flush())

    await store.close()

    with pytest.raises(SourceUnavailable):
        await flushing
    assert acknowledged == []
    stats = store.stats()
    assert stats["lost"] == 2
    assert stats["pending"] == 0
    assert "giving up" in caplog.text
