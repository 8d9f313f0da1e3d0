"""The value history store (SQLite, WAL): append throughput and downsampled range
queries.

In-process, on a fresh ``SqliteHistory`` in a temp dir (defaults: batch_size 5,000,
max_delay 50 ms). The samples are built before the clock starts; an append run is
timed from the first ``append()`` call until ``flush()`` returns, i.e. until every
sample is committed (durable across a process crash):

1. one series, 1,000,000 points, appended 1,000 samples per call;
2. 1,000 series x 1,000 points into the same file, interleaved in time (each call
   carries one timestamp for all 1,000 series, as a plant-wide feed does);
3. ``buckets()`` over the 1,000,000 points of the one series, 1,000 buckets, every
   aggregate: median and p99 of ``--runs`` after one warm-up;
4. ``points()`` for 10,000 raw points and ``latest()`` for 1,000 keys.

Baselines in the same run, on the same file, without the graphtwin layer: a bare
``executemany`` of prebuilt rows (5,000 a transaction) for the append, and for the
bucket queries (a) the plain SQL ``GROUP BY (t - start) / every`` and (b) a Python
loop over the rows of a bare ``SELECT t, v``. The ratios are graphtwin / baseline.

    python bench/bench_history.py            # 1,000,000 points; ~1-2 minutes
    python bench/bench_history.py --quick    # 100,000 points
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    Deadline,
    base_parser,
    machine_summary,
    median,
    percentile,
    print_table,
    temp_data_dir,
    write_json,
)

from graphtwin.history.port import Aggregate
from graphtwin.history.sqlite import SqliteHistory
from graphtwin.values import PropertyKey, Sample

TARGET_MS = 200.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP_US = 1_000  # one point per millisecond
SINGLE: PropertyKey = ("https://acme.example/plant/m1", "https://acme.example/vibration")

FULL = {
    "points": 1_000_000,
    "series": 1_000,
    "per_series": 1_000,
    "buckets": 1_000,
    "raw": 10_000,
    "runs": 11,
    "baseline_runs": 3,
}
QUICK = {
    "points": 100_000,
    "series": 100,
    "per_series": 1_000,
    "buckets": 1_000,
    "raw": 10_000,
    "runs": 5,
    "baseline_runs": 1,
}
APPEND_CHUNK = 1_000

# -- data ----------------------------------------------------------------------------------


def single_series(points: int, seed: int = 1) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for i in range(points):
        when = T0 + timedelta(microseconds=i * STEP_US)
        out.append(Sample(SINGLE, 50.0 + rng.gauss(0, 5), when, when))
    return out


def many_series(series: int, per_series: int, seed: int = 2) -> list[Sample]:
    """Interleaved: all series at t0, all at t1, ... (a feed's order)."""
    rng = random.Random(seed)
    keys = [
        (f"https://acme.example/plant/m{i}", "https://acme.example/power") for i in range(series)
    ]
    out = []
    for step in range(per_series):
        when = T0 + timedelta(seconds=step)
        out.extend(Sample(key, rng.uniform(0, 100), when, when) for key in keys)
    return out


def us(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


# -- appends -------------------------------------------------------------------------------


async def timed_append(store: SqliteHistory, samples: Sequence[Sample]) -> dict[str, Any]:
    before = store.stats()
    calls = 0.0
    start = time.perf_counter()
    for i in range(0, len(samples), APPEND_CHUNK):
        call = time.perf_counter()
        store.append(samples[i : i + APPEND_CHUNK])
        calls += time.perf_counter() - call
    await store.flush()
    seconds = time.perf_counter() - start
    after = store.stats()
    return {
        "samples": len(samples),
        "seconds": seconds,
        "per_second": len(samples) / seconds,
        "append_calls_seconds": calls,
        "batches": after["batches"] - before["batches"],
        "written": after["written"] - before["written"],
    }


def bare_append(path: Path, samples: Sequence[Sample]) -> dict[str, Any]:
    """The same rows, converted before the clock starts, as bare ``executemany``
    calls of 5,000 rows a transaction into an empty table of the same shape."""
    rows = [(1, us(s.source_time), s.value, 1, 0, us(s.server_time)) for s in samples]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE points (series_id INTEGER NOT NULL, t INTEGER NOT NULL, v, "
            "k INTEGER NOT NULL, quality INTEGER NOT NULL, server_t INTEGER NOT NULL, "
            "PRIMARY KEY (series_id, t)) WITHOUT ROWID"
        )
        start = time.perf_counter()
        for i in range(0, len(rows), 5_000):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?, ?, ?)", rows[i : i + 5_000]
            )
            conn.execute("COMMIT")
        seconds = time.perf_counter() - start
    return {"samples": len(rows), "seconds": seconds, "per_second": len(rows) / seconds}


# -- bucket baselines ----------------------------------------------------------------------

_GROUP_BY_SELECT = {
    Aggregate.MIN: "min(v), count(v)",
    Aggregate.MAX: "max(v), count(v)",
    Aggregate.AVG: "avg(v), count(v)",
    Aggregate.FIRST: "v, count(*), min(t)",  # bare column v from the min(t) row
    Aggregate.LAST: "v, count(*), max(t)",  # bare column v from the max(t) row
    Aggregate.COUNT: "count(*), count(*)",
}


def group_by_sql(aggregate: Aggregate) -> str:
    numeric = " AND k < 2" if aggregate.numeric else ""
    return (
        f"SELECT (t - :start) / :every AS b, {_GROUP_BY_SELECT[aggregate]} FROM points "
        f"WHERE series_id = :sid AND t >= :start AND t < :end{numeric} GROUP BY b"
    )


def group_by_baseline(
    conn: sqlite3.Connection, params: dict[str, int], aggregate: Aggregate
) -> list[tuple[int, Any, int]]:
    rows = conn.execute(group_by_sql(aggregate), params).fetchall()
    return [(row[0], row[1], row[2]) for row in rows if row[2]]


def python_baseline(
    conn: sqlite3.Connection, params: dict[str, int], aggregate: Aggregate
) -> list[tuple[int, Any, int]]:
    rows = conn.execute(
        "SELECT t, v FROM points WHERE series_id = :sid AND t >= :start AND t < :end ORDER BY t",
        params,
    ).fetchall()
    start, every = params["start"], params["every"]
    out: list[tuple[int, Any, int]] = []
    for index, group in itertools.groupby(rows, key=lambda row: (row[0] - start) // every):
        values = [v for _, v in group]
        if aggregate.numeric:
            numbers = [v for v in values if type(v) in (int, float)]
            if not numbers:
                continue
            reduce: Callable[[list[Any]], Any] = {
                Aggregate.MIN: min,
                Aggregate.MAX: max,
                Aggregate.AVG: lambda xs: sum(xs) / len(xs),
            }[aggregate]
            out.append((index, reduce(numbers), len(numbers)))
        elif aggregate is Aggregate.COUNT:
            out.append((index, len(values), len(values)))
        else:
            out.append((index, values[0 if aggregate is Aggregate.FIRST else -1], len(values)))
    return out


def agree(ours: list[tuple[int, Any, int]], theirs: list[tuple[int, Any, int]]) -> bool:
    if [(i, n) for i, _, n in ours] != [(i, n) for i, _, n in theirs]:
        return False
    return all(
        a == b or (isinstance(a, float) and abs(a - b) <= 1e-9 * max(1.0, abs(a)))
        for (_, a, _), (_, b, _) in zip(ours, theirs, strict=True)
    )


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


async def atimed(
    fn: Callable[[], Any], runs: int, warmup: int = 1
) -> tuple[list[float], list[float], Any]:
    """Wall ms and CPU ms (this process, all threads: the reader thread does the
    work, the rest is idle) of each run, and the last result."""
    for _ in range(warmup):
        await fn()
    times, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = await fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times, cpu, result


# -- the run -------------------------------------------------------------------------------


async def run(sizes: dict[str, int], work_dir: Path, max_seconds: float) -> dict[str, Any]:
    deadline = Deadline(max_seconds)
    out: dict[str, Any] = {"sizes": dict(sizes), "appends": {}, "queries": {}, "skipped": []}
    path = work_dir / "history.db"
    single = single_series(sizes["points"])
    many = many_series(sizes["series"], sizes["per_series"])
    # The millions of samples built here are the bench's, not the store's: keep the
    # collector from walking them again and again (a server never holds that many).
    gc.collect()
    gc.freeze()
    try:
        out["appends"]["bare executemany"] = bare_append(work_dir / "bare.db", single)
        return await measure(sizes, path, single, many, deadline, out)
    finally:
        gc.unfreeze()


async def measure(
    sizes: dict[str, int],
    path: Path,
    single: list[Sample],
    many: list[Sample],
    deadline: Deadline,
    out: dict[str, Any],
) -> dict[str, Any]:
    store = SqliteHistory(path, retention=None)
    try:
        out["appends"]["1 series"] = await timed_append(store, single)
        out["appends"]["1 series"]["series"] = 1
        if deadline.passed():
            out["skipped"].append("interleaved append")
        else:
            out["appends"]["interleaved"] = await timed_append(store, many)
            out["appends"]["interleaved"]["series"] = sizes["series"]
        single.clear()
        many.clear()
        gc.collect()
        out["db_bytes"] = sum(p.stat().st_size for p in path.parent.glob("history.db*"))

        start, end = T0, T0 + timedelta(microseconds=sizes["points"] * STEP_US)
        every_us = (us(end) - us(start)) // sizes["buckets"]
        every = timedelta(microseconds=every_us)
        params = {"sid": 0, "start": us(start), "end": us(end), "every": every_us}
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as bare:
            params["sid"] = bare.execute(
                "SELECT id FROM series WHERE asset = ? AND property = ?", SINGLE
            ).fetchone()[0]
            for aggregate in Aggregate:
                if deadline.passed():
                    out["skipped"].append(f"buckets {aggregate.value}")
                    continue
                times, cpu, buckets = await atimed(
                    lambda a=aggregate: store.buckets(SINGLE, start, end, every, a), sizes["runs"]
                )
                ours = [
                    ((us(b.start) - params["start"]) // params["every"], b.value, b.count)
                    for b in buckets
                ]
                group_times, grouped = timed(
                    lambda a=aggregate: group_by_baseline(bare, params, a), sizes["baseline_runs"]
                )
                loop_times, looped = timed(
                    lambda a=aggregate: python_baseline(bare, params, a), sizes["baseline_runs"]
                )
                out["queries"][f"buckets {aggregate.value}"] = {
                    "rows": len(buckets),
                    "runs": len(times),
                    "median_ms": median(times),
                    "cpu_ms": median(cpu),
                    "p99_ms": percentile(times, 99),
                    "min_ms": min(times),
                    "group_by_ms": median(group_times),
                    "python_ms": median(loop_times),
                    "agree": agree(ours, grouped) and agree(ours, looped),
                }

            raw_start = start + (end - start) / 2
            raw_end = raw_start + timedelta(microseconds=sizes["raw"] * STEP_US)
            times, cpu, points = await atimed(
                lambda: store.points(SINGLE, raw_start, raw_end, limit=sizes["raw"]), sizes["runs"]
            )
            raw_params = (params["sid"], us(raw_start), us(raw_end), sizes["raw"])
            bare_times, bare_rows = timed(
                lambda: bare.execute(
                    "SELECT t, v, k, quality FROM points "
                    "WHERE series_id = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?",
                    raw_params,
                ).fetchall(),
                sizes["baseline_runs"],
            )
            out["queries"]["points (raw)"] = {
                "rows": len(points),
                "runs": len(times),
                "median_ms": median(times),
                "cpu_ms": median(cpu),
                "p99_ms": percentile(times, 99),
                "min_ms": min(times),
                "group_by_ms": None,
                "python_ms": median(bare_times),
                "agree": len(points) == len(bare_rows),
            }

        keys = [
            (f"https://acme.example/plant/m{i}", "https://acme.example/power")
            for i in range(sizes["series"])
        ]
        times, cpu, latest = await atimed(lambda: store.latest(keys), sizes["runs"])
        out["queries"][f"latest ({len(keys):,} keys)"] = {
            "rows": len(latest),
            "runs": len(times),
            "median_ms": median(times),
            "cpu_ms": median(cpu),
            "p99_ms": percentile(times, 99),
            "min_ms": min(times),
            "group_by_ms": None,
            "python_ms": None,
            "agree": len(latest) == len(keys),
        }
        out["stats"] = store.stats()
    finally:
        await store.close()
    return out


def report(out: dict[str, Any]) -> None:
    sizes = out["sizes"]
    bare = out["appends"].get("bare executemany")
    rows = []
    for name, result in out["appends"].items():
        if name == "bare executemany":
            continue
        label = (
            f"1 series x {result['samples']:,}"
            if name == "1 series"
            else f"{result['series']:,} series x {sizes['per_series']:,}, interleaved"
        )
        rows.append(
            [
                label,
                result["samples"],
                result["seconds"],
                result["per_second"],
                result["append_calls_seconds"] * 1e6 / result["samples"],
                result["batches"],
                result["seconds"] / max(1, result["batches"]) * 1000,
                bare["per_second"] if bare and name == "1 series" else None,
            ]
        )
    if bare:
        rows.append(
            [
                "baseline: bare executemany, 1 series",
                bare["samples"],
                bare["seconds"],
                bare["per_second"],
                None,
                None,
                None,
                None,
            ]
        )
    print_table(
        f"Append until durable (flush), {APPEND_CHUNK:,} samples per append() call; "
        f"file {out.get('db_bytes', 0) / 1e6:.0f} MB after both",
        [
            "append",
            "samples",
            "seconds",
            "samples/s",
            "append() us/sample",
            "transactions",
            "ms/transaction",
            "bare samples/s",
        ],
        rows,
    )

    rows = []
    for name, q in out["queries"].items():
        rows.append(
            [
                name,
                q["rows"],
                q["runs"],
                q["median_ms"],
                q["p99_ms"],
                q["min_ms"],
                q["cpu_ms"],
                q["group_by_ms"],
                q["python_ms"],
                q["median_ms"] / q["group_by_ms"] if q["group_by_ms"] else None,
                q["median_ms"] / q["python_ms"] if q["python_ms"] else None,
                q["agree"],
            ]
        )
    print_table(
        f"Queries over the {sizes['points']:,} points of one series "
        f"({sizes['buckets']:,} buckets; raw: {sizes['raw']:,} points; "
        f"the file also holds the {sizes['series']:,} other series)",
        [
            "query",
            "rows",
            "runs",
            "median ms",
            "p99 ms",
            "min ms",
            "CPU ms",
            "GROUP BY ms",
            "Python loop ms",
            "x GROUP BY",
            "x Python",
            "same result",
        ],
        rows,
    )
    print(
        "baselines: GROUP BY = bare SQL GROUP BY (t - start) / every on the same table; "
        "Python loop = bare SELECT t, v then itertools.groupby (for points: the bare "
        "SELECT, no objects); x = graphtwin / baseline, below 1 is faster; CPU ms = "
        "median CPU time of this process per call (wall well above it: the machine was busy)"
    )
    bucket_medians = [q["median_ms"] for n, q in out["queries"].items() if n.startswith("buckets")]
    if bucket_medians:
        worst = max(bucket_medians)
        verdict = "meets" if worst <= TARGET_MS else "misses"
        print(
            f"target: {sizes['points']:,} points -> {sizes['buckets']:,} buckets "
            f"<= {TARGET_MS:.0f} ms: slowest aggregate {worst:.0f} ms median ({verdict})"
        )
    for skipped in out["skipped"]:
        print(f"skipped (time cap reached): {skipped}")


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, help="points of the single series (1,000,000)")
    parser.add_argument("--runs", type=int, help="measured runs per query (default 11)")
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="cap on the whole run (default 300)"
    )
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.points:
        sizes["points"] = args.points
    if args.runs:
        sizes["runs"] = args.runs
    print(f"bench_history: {machine_summary()}; SQLite {sqlite3.sqlite_version}")
    with temp_data_dir("graphtwin-bench-history-") as work_dir:
        out = asyncio.run(run(sizes, work_dir, args.max_seconds))
    report(out)
    write_json(args.json, out)


if __name__ == "__main__":
    main()
