"""The embedded history store: one SQLite file in WAL mode, one writer thread.

Writes
    ``append`` only puts the samples on an in-memory queue (a lock, a deque, a
    notify) and returns. One writer thread with its own connection drains the queue
    in batches of up to ``batch_size`` samples, each batch one transaction of
    multi-row ``INSERT OR IGNORE`` statements (up to 512 rows each rather than one
    step per row, see ``_insert``). It waits up to ``max_delay`` for a batch to
    fill, unless someone is waiting in ``flush``/``close``. After the
    ``COMMIT`` it calls the ``on_durable`` callbacks of every ``append`` call whose
    samples are now all committed.

Durability
    ``journal_mode=WAL`` with ``synchronous=NORMAL``: a commit appends the
    transaction's pages to the WAL file with ``write(2)`` and does not ``fsync``.
    Once ``write`` has returned the bytes belong to the kernel, so a commit survives
    the *process* dying in any way (kill -9, OOM killer, segfault); that is the
    guarantee ``on_durable`` gives the MQTT adapter (PUBACK only after it). A power
    cut or kernel crash may lose the last transactions before the next checkpoint,
    never corrupt the file; ``synchronous=FULL`` would close that gap at the price
    of an ``fsync`` per batch.

Schema
    ``series(id, asset, property, kinds)`` gives each :data:`PropertyKey` a small
    integer (cached in memory, on both sides); ``kinds``: see Downsampling.
    ``points`` is keyed ``(series_id, t)``, ``WITHOUT ROWID`` so the rows of a
    series are stored in time order in the primary key's B-tree itself: a range
    read is one seek and a sequential scan.
    ``t`` and ``server_t`` are microseconds since 1970 UTC. ``v`` has no declared
    type, so it keeps what it is given (INTEGER, REAL, TEXT or NULL); ``k`` says
    which Python type to give back (bools are stored as 0/1, NaN as NULL). ``v``
    and ``k`` come right after the key because the aggregates read them on every
    row and SQLite decodes a record's columns left to right.

Duplicates: the first write wins
    A sample whose series already has a point at the same source time is ignored
    (``INSERT OR IGNORE``) and counted in ``stats()["duplicates"]``, whatever its
    value or quality. For the case that matters, a QoS 1 message redelivered after a
    crash, the value is the same anyway. For a *different* value at the same source
    time we keep the first one on purpose: a point that was durable (and maybe
    acknowledged, read or exported) is never rewritten afterwards; the live layer
    marks values stale with :meth:`Sample.with_quality`, which keeps the source
    time, so "last write wins" would turn good history into stale history; and two
    different measurements with one timestamp mean the source's clock resolution is
    coarser than its update rate, which is for its binding to fix, not for history
    to guess. Ignored rows are not told apart from true duplicates (that would cost
    a lookup per ignored row).

Downsampling
    In SQL, but not as ``GROUP BY (t - start) / every``: SQLite cannot tell that the
    bucket index grows with ``t``, so it feeds every row through a temporary B-tree
    to group them (measured: ~500-750 ms for 1,000,000 points into 1,000 buckets).
    Instead a recursive CTE walks the non-empty buckets (seeking to the first point
    at or after the end of the previous one, so empty buckets cost nothing) and a
    correlated subquery aggregates each bucket over its primary key range, which is
    one sequential scan of the rows overall (~110-150 ms of CPU for the same query
    on a 2-core cloud VM). ``LAST`` and ``FIRST`` are one seek per bucket (``ORDER BY
    t DESC LIMIT 1``) plus a count. For ``MIN``/``MAX``/``AVG`` the count and the
    value come out of one scan as one string (``count || ' r ' || printf('%!.20e',
    min(v))``); ``printf('%!.20e')`` round-trips doubles exactly, which
    :func:`_printf_round_trips` checks against this SQLite build when a store opens
    (otherwise two scans, exact either way). ``series.kinds`` has a bit per kind of
    value the series ever got, updated in the transaction that writes the rows; for
    a series of nothing but numbers (the usual case) the numeric aggregates skip the
    per-row kind test (~20% less CPU), for one without numbers they skip the query.

Errors
    A value SQLite cannot bind (a lone surrogate in a string, say) is left out of
    its batch and counted in ``stats()["rejected"]``. Storage errors (disk full,
    I/O error, the file locked by another process) are retried with a growing
    pause, the callbacks waiting meanwhile; only ``close`` gives up on them (after
    three attempts, counted in ``stats()["lost"]``), and from then on no
    ``on_durable`` is called at all, so nothing unwritten is ever acknowledged.

Reads
    ``asyncio.to_thread`` on a small pool of read-only connections, each read in
    one read transaction (one consistent snapshot). In WAL mode readers neither
    wait for the writer nor block it. Reads only see committed samples.

Retention
    Every ``retention_interval`` seconds (and right after opening) the writer thread
    deletes points whose source time is older than now - ``retention``, series by
    series, in chunks of ``retention_chunk`` rows, each chunk its own transaction,
    with pending samples written in between, so retention never holds ingestion up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from graphtwin.errors import BadInput, SourceUnavailable
from graphtwin.history.port import (
    Aggregate,
    HistoryBucket,
    HistoryPoint,
    bucket_count,
    check_limit,
    check_range,
)
from graphtwin.values import PropertyKey, Quality, Sample, Scalar

log = logging.getLogger(__name__)

_T = TypeVar("_T")

SCHEMA_VERSION = 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_FAST_TIME_BELOW = 4_102_444_800_000_000  # 2100-01-01 in microseconds
_fromtimestamp = datetime.fromtimestamp
_MIN_I64 = -(2**63)
_MAX_I64 = 2**63 - 1

# Value kinds (column ``k``). Stored on disk: never renumber.
_INT = 0
_FLOAT = 1
_BOOL = 2
_STR = 3
_NONE = 4
_NUMERIC_BELOW = 2  # k < 2: int or float
# series.kinds: a bit per kind ever written to the series (1 << k), plus one for NaN
# (stored as NULL with k = float). Only grows; retention does not clear bits.
_NAN_BIT = 1 << 5
_NUMBER_BITS = (1 << _INT) | (1 << _FLOAT)

# Qualities as stored on disk: never renumber.
_QUALITY_CODE = {Quality.GOOD: 0, Quality.UNCERTAIN: 1, Quality.BAD: 2, Quality.STALE: 3}
_QUALITY = {code: quality for quality, code in _QUALITY_CODE.items()}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    asset TEXT NOT NULL,
    property TEXT NOT NULL,
    kinds INTEGER NOT NULL DEFAULT 0,  -- bit 1 << k per value kind written, 32: NaN
    UNIQUE (asset, property)
);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    t INTEGER NOT NULL,         -- source time, microseconds since 1970-01-01 UTC
    v,                          -- no type: INTEGER, REAL, TEXT or NULL, as given
    k INTEGER NOT NULL,         -- value kind: 0 int, 1 float, 2 bool, 3 text, 4 none
    quality INTEGER NOT NULL,   -- 0 good, 1 uncertain, 2 bad, 3 stale
    server_t INTEGER NOT NULL,  -- server (receive) time, microseconds since 1970 UTC
    PRIMARY KEY (series_id, t)
) WITHOUT ROWID;
"""

_INSERT = (
    "INSERT OR IGNORE INTO points (series_id, t, v, k, quality, server_t) VALUES (?, ?, ?, ?, ?, ?)"
)
_ROW_PARAMS = 6
# Rows per INSERT statement, largest first (``_insert``): a batch of 5,000 rows is 16
# statements at most, and only these few statement texts are ever prepared.
_ROWS_PER_STATEMENT = (512, 64, 8, 1)


def _insert_rows_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)
    return f"INSERT OR IGNORE INTO points (series_id, t, v, k, quality, server_t) VALUES {values}"


# -- bucket queries ------------------------------------------------------------------
# Parameters: :sid, :start, :end (microseconds), :every (microseconds).

# The index of every non-empty bucket, each found with one seek on the primary key.
_NON_EMPTY = """
WITH RECURSIVE b(i) AS (
    SELECT (SELECT (t - :start) / :every FROM points
            WHERE series_id = :sid AND t >= :start AND t < :end ORDER BY t LIMIT 1)
    UNION ALL
    SELECT (SELECT (t - :start) / :every FROM points
            WHERE series_id = :sid AND t >= :start + (i + 1) * :every AND t < :end
            ORDER BY t LIMIT 1)
    FROM b WHERE i IS NOT NULL
)
"""
_IN_BUCKET = (
    "series_id = :sid AND t >= :start + i * :every AND t < min(:start + (i + 1) * :every, :end)"
)


def _numeric_rows(plain: bool) -> tuple[str, str]:
    """(WHERE clause, count) of the rows a numeric aggregate looks at. ``plain``: the
    series holds nothing but non-NaN numbers, so no row needs to be looked at twice."""
    if plain:
        return _IN_BUCKET, "count(*)"
    return f"{_IN_BUCKET} AND k < {_NUMERIC_BELOW}", "count(v)"


def _one_scan(function: str, plain: bool) -> str:
    """Count and value of a numeric aggregate from one scan, as ``'<count> i|r <value>'``."""
    where, count = _numeric_rows(plain)
    value = f"{function}(v)"
    return f"""{_NON_EMPTY}
SELECT i, (SELECT CASE WHEN {count} = 0 THEN NULL
                       WHEN typeof({value}) = 'integer' THEN {count} || ' i ' || {value}
                       ELSE {count} || ' r ' || printf('%!.20e', {value}) END
           FROM points WHERE {where})
FROM b WHERE i IS NOT NULL"""


def _two_scans(function: str, plain: bool) -> str:
    """The same as :func:`_one_scan` with native values (for SQLite builds whose
    ``printf`` does not round-trip doubles)."""
    where, count = _numeric_rows(plain)
    return f"""{_NON_EMPTY}
SELECT i, (SELECT {count} FROM points WHERE {where}),
          (SELECT {function}(v) FROM points WHERE {where})
FROM b WHERE i IS NOT NULL"""


def _edge(direction: str) -> str:
    """The value (and kind) at the first or last point of each bucket, and the count."""
    order = f"ORDER BY t {direction} LIMIT 1"
    return f"""{_NON_EMPTY}
SELECT i, (SELECT v FROM points WHERE {_IN_BUCKET} {order}),
          (SELECT k FROM points WHERE {_IN_BUCKET} {order}),
          (SELECT count(*) FROM points WHERE {_IN_BUCKET})
FROM b WHERE i IS NOT NULL"""


_COUNT_SQL = f"""{_NON_EMPTY}
SELECT i, (SELECT count(*) FROM points WHERE {_IN_BUCKET}) FROM b WHERE i IS NOT NULL"""

_NUMERIC_FUNCTION = {Aggregate.MIN: "min", Aggregate.MAX: "max", Aggregate.AVG: "avg"}


def _printf_round_trips(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite's ``printf('%!.20e', x)`` gives every double back exactly."""
    probes = [
        0.1,
        1 / 3,
        2.0**-1074,
        1.7976931348623157e308,
        -1.1473795370384099e285,
        1.6606416114015866e240,
        123456789.12345678,
        -2.2250738585072014e-308,
        9007199254740993.0,
    ]
    for value in probes:
        (text,) = conn.execute("SELECT printf('%!.20e', ?)", (value,)).fetchone()
        if float(text) != value:
            return False
    return True


# -- conversions ---------------------------------------------------------------------


def _us(when: datetime) -> int:
    """Microseconds since 1970 UTC (exact). The caller checked it is aware."""
    return (when - _EPOCH) // _US


def _time(us: int) -> datetime:
    """The UTC datetime of ``us`` microseconds since 1970 (exact)."""
    if 0 <= us < _FAST_TIME_BELOW:
        # A double holds t / 1e6 to within 0.44 us before 2100, and fromtimestamp
        # rounds to the nearest microsecond: exact, and faster than timedelta math.
        return _fromtimestamp(us / 1e6, UTC)
    return _EPOCH + timedelta(0, 0, us)


def _decode(value: Any, kind: int) -> Scalar | None:
    if kind == _BOOL:
        return bool(value)
    if kind == _FLOAT:
        return float("nan") if value is None else float(value)
    return value  # type: ignore[no-any-return]


def _encode_other(value: object) -> tuple[Scalar | None, int]:
    """Values of subclasses and foreign number types (the fast path takes exact types)."""
    if isinstance(value, bool):
        return int(value), _BOOL
    if isinstance(value, int) or hasattr(value, "__index__"):
        number = int(value)
        if _MIN_I64 <= number <= _MAX_I64:
            return number, _INT
        return float(number), _FLOAT
    if isinstance(value, float) or hasattr(value, "__float__"):
        real = float(value)
        return (None if math.isnan(real) else real), _FLOAT
    if isinstance(value, str):
        return str(value), _STR
    raise TypeError(f"cannot store a {type(value).__name__} value in history")


def _as_utc_us(when: object) -> int:
    """The slow path of the time conversion: naive datetimes are taken as UTC."""
    if not isinstance(when, datetime):
        raise TypeError(f"a sample time must be a datetime, got {type(when).__name__}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _us(when)


def _times_us(source_time: datetime, server_time: datetime) -> tuple[int, int]:
    """A sample's source and server time in microseconds since 1970 UTC."""
    try:
        return (source_time - _EPOCH) // _US, (server_time - _EPOCH) // _US
    except TypeError:
        return _as_utc_us(source_time), _as_utc_us(server_time)


def _check_key(key: object) -> PropertyKey:
    """:raises BadInput: ``key`` is not a pair of strings."""
    if (
        not isinstance(key, tuple)
        or len(key) != 2
        or not isinstance(key[0], str)
        or not isinstance(key[1], str)
    ):
        raise BadInput(f"a history key is a pair (asset IRI, property IRI), got {key!r}")
    return cast(PropertyKey, key)


# -- the queue -----------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    """One ``append`` call (or a ``flush`` marker, with no samples)."""

    samples: Sequence[Sample]
    callback: Callable[[], None] | None
    offset: int = 0  # samples before this were taken by the writer already
    urgent: bool = False  # a flush marker: do not wait for the batch to fill
    on_error: Callable[[BaseException], None] | None = None


# Readers map the file rather than read(2) its pages into their own small caches: a
# downsampling query scans a series' pages in order, and each page copied per query
# was a large part of its CPU. Address space only; the kernel shares the pages.
_READER_MMAP_BYTES = 1 << 30


class _Readers:
    """A small pool of read-only connections, each used by one thread at a time."""

    def __init__(self, path: Path, keep: int) -> None:
        self._path = path
        self._keep = keep
        self._cond = threading.Condition()
        self._idle: list[sqlite3.Connection] = []
        self._busy: set[sqlite3.Connection] = set()
        self._closed = False

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute(f"PRAGMA mmap_size = {_READER_MMAP_BYTES}")
        except BaseException:
            conn.close()
            raise
        return conn

    def acquire(self) -> sqlite3.Connection:
        with self._cond:
            if self._closed:
                raise SourceUnavailable("the history store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        with self._cond:
            if self._closed:
                conn.close()
                raise SourceUnavailable("the history store is closed")
            self._busy.add(conn)
        return conn

    def release(self, conn: sqlite3.Connection) -> None:
        with self._cond:
            self._busy.discard(conn)
            keep = not self._closed and len(self._idle) < self._keep
            if keep:
                self._idle.append(conn)
            self._cond.notify_all()
        if not keep:
            conn.close()

    def close(self, wait: float = 10.0) -> None:
        """Close idle connections, interrupt busy ones and wait for them to come back
        (``release`` closes them then)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
        for conn in idle:
            conn.close()
        for conn in busy:
            conn.interrupt()
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout=wait)


class SqliteHistory:
    """The :class:`~graphtwin.history.port.HistoryStore` on one SQLite file.

    :param path: the database file (its directory is created); ``-wal`` and
        ``-shm`` files appear next to it while it is open.
    :param retention: keep points whose source time is at most this old; ``None``
        keeps everything.
    :param batch_size: the most samples written in one transaction.
    :param max_delay: seconds a sample may wait for its batch to fill.
    :param retention_interval: seconds between two retention passes.
    :param retention_chunk: the most points one retention transaction deletes.
    :param readers: read connections kept open for reuse.
    :raises SourceUnavailable: the file cannot be opened or is not a history store.
    """

    def __init__(
        self,
        path: Path,
        *,
        retention: timedelta | None,
        batch_size: int = 5000,
        max_delay: float = 0.05,
        retention_interval: float = 60.0,
        retention_chunk: int = 10_000,
        readers: int = 4,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_delay < 0:
            raise ValueError("max_delay must not be negative")
        if retention is not None and retention <= timedelta(0):
            raise ValueError("retention must be positive (or None to keep everything)")
        if retention_chunk < 1:
            raise ValueError("retention_chunk must be at least 1")
        self.path = Path(path)
        self._retention = retention
        self._batch_size = batch_size
        self._max_delay = max_delay
        self._retention_interval = retention_interval
        self._retention_chunk = retention_chunk

        self._cond = threading.Condition()
        self._queue: deque[_Entry] = deque()
        self._queued = 0  # samples on the queue not taken by the writer yet
        self._urgent = 0  # flush markers on the queue
        self._first_at: float | None = None  # when the oldest queued entry came
        self._closing = False
        self._failure: BaseException | None = None
        self._retention_waiters: list[Callable[[int | BaseException], None]] = []
        self._next_retention: float | None = time.monotonic() if retention else None
        self._counts = {
            "appended": 0,
            "written": 0,
            "duplicates": 0,
            "rejected": 0,
            "lost": 0,
            "batches": 0,
            "write_errors": 0,
            "retention_deleted": 0,
            "retention_passes": 0,
        }
        # Committed series ids. Only the writer thread adds to it (after COMMIT);
        # reader threads look up single keys (atomic under the GIL).
        self._series: dict[PropertyKey, int] = {}
        # Committed series.kinds per series id; only the writer thread uses it.
        self._kinds: dict[int, int] = {}

        self._gave_up = False  # a batch was lost: no on_durable callback from then on

        conn = self._open_writer()
        try:
            self._one_scan = _printf_round_trips(conn)
            # Older SQLite builds bind at most 999 parameters to a statement.
            most = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _ROW_PARAMS
            self._rows_per_statement = tuple(n for n in _ROWS_PER_STATEMENT if n <= most)
            self._insert_sql = {n: _insert_rows_sql(n) for n in self._rows_per_statement}
            self._readers = _Readers(self.path, keep=max(1, readers))
            self._thread = threading.Thread(
                target=self._run, args=(conn,), name="graphtwin-history-writer", daemon=True
            )
            self._thread.start()
        except BaseException:
            conn.close()
            raise

    def _open_writer(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise SourceUnavailable(f"cannot open the history store {self.path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise SourceUnavailable(f"{self.path}: cannot switch to WAL mode (got {mode})")
            # WAL + NORMAL: a commit is a write(2) to the WAL without fsync. That is
            # durable across a crash of this process (kill -9 included), which is what
            # on_durable promises; a power cut may lose the last commits, never the file.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            # 64 MiB of page cache (default 2 MiB): rows of many series arrive
            # interleaved, so every batch touches the newest leaf page of each series;
            # with 1,250 series those pages alone outgrow the default cache and every
            # insert read its page back (about 50 % more rows/s with the larger cache).
            conn.execute("PRAGMA cache_size = -65536")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SourceUnavailable(
                    f"{self.path} has history schema version {version}; "
                    f"this graphtwin knows version {SCHEMA_VERSION} at most"
                )
            conn.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            for sid, asset, prop, kinds in conn.execute(
                "SELECT id, asset, property, kinds FROM series"
            ):
                self._series[asset, prop] = sid
                self._kinds[sid] = kinds
        except sqlite3.Error as exc:
            conn.close()
            raise SourceUnavailable(f"cannot open the history store {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    # -- HistoryStore: writes ---------------------------------------------------------

    def append(
        self, samples: Sequence[Sample], on_durable: Callable[[], None] | None = None
    ) -> None:
        """Queue ``samples``; see :meth:`HistoryStore.append`.

        :raises SourceUnavailable: the store is closed (or its writer died).
        """
        batch = tuple(samples)
        if not batch and on_durable is None:
            return
        with self._cond:
            self._check_open()
            if not self._queue:
                self._first_at = time.monotonic()
            self._queue.append(_Entry(batch, on_durable))
            self._queued += len(batch)
            self._counts["appended"] += len(batch)
            self._cond.notify()

    async def flush(self) -> None:
        """Wait until every sample appended before this call is committed.

        :raises SourceUnavailable: the store is closed, or samples appended before
            this call could not be written.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._check_open()
            lost_before = self._counts["lost"]

        def resolve(error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(None)

        def done() -> None:
            lost = self._counts["lost"] - lost_before
            error = (
                SourceUnavailable(f"{lost:,} history samples could not be written")
                if lost
                else None
            )
            _call_soon(loop, resolve, error)

        def failed(error: BaseException) -> None:
            _call_soon(loop, resolve, error)

        with self._cond:
            self._check_open()
            self._queue.append(_Entry((), done, urgent=True, on_error=failed))
            if len(self._queue) == 1:
                self._first_at = time.monotonic()
            self._urgent += 1
            self._cond.notify()
        await future

    async def apply_retention(self) -> int:
        """Run a retention pass now (the writer runs one every ``retention_interval``
        anyway) and return how many points it deleted; 0 without a retention."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()

        def resolve(result: int | BaseException) -> None:
            if future.done():
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        with self._cond:
            self._check_open()
            self._retention_waiters.append(lambda result: _call_soon(loop, resolve, result))
            self._cond.notify()
        return await future

    async def close(self) -> None:
        """Write everything pending, stop the writer, close all connections."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)
        await asyncio.to_thread(self._readers.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def stats(self) -> dict[str, int]:
        """``appended``, ``written``, ``duplicates`` (ignored: same series and source
        time), ``rejected`` (values that cannot be stored), ``lost`` (given up at
        close after write errors), ``pending``, ``batches`` (transactions),
        ``write_errors`` (failed attempts, retried), ``retention_deleted``,
        ``retention_passes``."""
        with self._cond:
            counts = dict(self._counts)
        counts["pending"] = counts["appended"] - (
            counts["written"] + counts["duplicates"] + counts["rejected"] + counts["lost"]
        )
        return counts

    def _check_open(self) -> None:
        if self._failure is not None:
            raise SourceUnavailable(f"the history writer stopped: {self._failure}")
        if self._closing:
            raise SourceUnavailable("the history store is closed")

    # -- HistoryStore: reads ----------------------------------------------------------

    async def points(
        self, key: PropertyKey, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[HistoryPoint]:
        """Raw points of ``key`` with ``start <= time < end``, oldest first."""
        key = _check_key(key)
        check_range(start, end)
        check_limit(limit)
        params = (_us(start), _us(end), limit)

        def read(conn: sqlite3.Connection) -> list[HistoryPoint]:
            sid = self._series_id(conn, key)
            if sid is None:
                return []
            rows = conn.execute(
                "SELECT t, v, k, quality FROM points "
                "WHERE series_id = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?",
                (sid, *params),
            ).fetchall()
            time_of, decode, qualities = _time, _decode, _QUALITY
            return [HistoryPoint(time_of(t), decode(v, k), qualities[q]) for t, v, k, q in rows]

        return await self._read(read)

    async def buckets(
        self,
        key: PropertyKey,
        start: datetime,
        end: datetime,
        every: timedelta,
        aggregate: Aggregate,
    ) -> list[HistoryBucket]:
        """``aggregate`` over buckets of ``every`` from ``start``; empty ones left out."""
        key = _check_key(key)
        bucket_count(start, end, every)
        if not isinstance(aggregate, Aggregate):
            raise BadInput(f"unknown history aggregate {aggregate!r}")
        start_us, end_us, every_us = _us(start), _us(end), every // _US
        params = {"start": start_us, "end": end_us, "every": every_us}

        def bucket(i: int, value: Scalar | None, count: int) -> HistoryBucket:
            lower = start_us + i * every_us
            upper = min(lower + every_us, end_us)
            return HistoryBucket(_time(lower), _time(upper), value, count)

        def read(conn: sqlite3.Connection) -> list[HistoryBucket]:
            sid = self._series_id(conn, key)
            if sid is None:
                return []
            query = {**params, "sid": sid}
            out: list[HistoryBucket] = []
            plain = False
            if aggregate.numeric:
                # Read in the same snapshot as the points, so it matches them.
                (kinds,) = conn.execute("SELECT kinds FROM series WHERE id = ?", (sid,)).fetchone()
                if not kinds & _NUMBER_BITS:
                    return out  # not a single number in this series
                plain = not kinds & ~_NUMBER_BITS
            if aggregate is Aggregate.COUNT:
                for i, count in conn.execute(_COUNT_SQL, query):
                    out.append(bucket(i, count, count))
            elif aggregate is Aggregate.FIRST or aggregate is Aggregate.LAST:
                sql = _edge("ASC" if aggregate is Aggregate.FIRST else "DESC")
                for i, v, k, count in conn.execute(sql, query):
                    out.append(bucket(i, _decode(v, k), count))
            elif self._one_scan:
                sql = _one_scan(_NUMERIC_FUNCTION[aggregate], plain)
                for i, text in conn.execute(sql, query):
                    if text is not None:
                        count, tag, number = text.split(" ", 2)
                        value = int(number) if tag == "i" else float(number)
                        out.append(bucket(i, value, int(count)))
            else:
                sql = _two_scans(_NUMERIC_FUNCTION[aggregate], plain)
                for i, count, value in conn.execute(sql, query):
                    if count:
                        out.append(bucket(i, value, count))
            return out

        return await self._read(read)

    async def latest(self, keys: Iterable[PropertyKey]) -> dict[PropertyKey, Sample]:
        """The sample with the newest source time per key (keys without any are left
        out). Only committed samples: ``flush`` first to include pending ones."""
        wanted = [_check_key(key) for key in keys]

        def read(conn: sqlite3.Connection) -> dict[PropertyKey, Sample]:
            out: dict[PropertyKey, Sample] = {}
            for key in wanted:
                sid = self._series_id(conn, key)
                if sid is None:
                    continue
                row = conn.execute(
                    "SELECT t, v, k, quality, server_t FROM points "
                    "WHERE series_id = ? ORDER BY t DESC LIMIT 1",
                    (sid,),
                ).fetchone()
                if row is not None:
                    t, v, k, q, server_t = row
                    out[key] = Sample(key, _decode(v, k), _time(t), _time(server_t), _QUALITY[q])
            return out

        if not wanted:
            return {}
        return await self._read(read)

    def _series_id(self, conn: sqlite3.Connection, key: PropertyKey) -> int | None:
        sid = self._series.get(key)
        if sid is None:
            row = conn.execute(
                "SELECT id FROM series WHERE asset = ? AND property = ?", key
            ).fetchone()
            sid = None if row is None else int(row[0])
        return sid

    async def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        return await asyncio.to_thread(self._read_sync, fn)

    def _read_sync(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._readers.acquire()
        try:
            conn.execute("BEGIN")  # one snapshot for all statements of this read
            try:
                return fn(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"history read failed: {exc}") from exc
        finally:
            self._readers.release(conn)

    # -- the writer thread ------------------------------------------------------------

    def _run(self, conn: sqlite3.Connection) -> None:
        job: Generator[None, None, None] | None = None
        try:
            while True:
                taken = self._take(block=job is None)
                if taken is None:
                    break
                samples, entries = taken
                if samples or entries:
                    self._write(conn, samples, entries)
                if job is None and self._retention_due():
                    job = self._retention_pass(conn)
                if job is not None and next(job, _DONE) is _DONE:
                    job = None
        except BaseException as exc:
            log.exception("the history writer stopped")
            with self._cond:
                self._failure = exc
        finally:
            if job is not None:
                job.close()
            self._fail_waiting()
            conn.close()

    def _fail_waiting(self) -> None:
        """The writer is gone: nobody may wait for it any more."""
        with self._cond:
            entries = list(self._queue)
            waiters, self._retention_waiters = self._retention_waiters, []
            failure = self._failure
        error = SourceUnavailable(
            f"the history writer stopped: {failure}" if failure else "the history store is closed"
        )
        for entry in entries:
            if entry.on_error is not None:
                entry.on_error(error)
        for waiter in waiters:
            waiter(error)

    def _take(self, *, block: bool) -> tuple[list[Sample], list[_Entry]] | None:
        """The next batch: up to ``batch_size`` samples and the entries they finish.
        ``None`` when the store is closing and nothing is left."""
        wait: float | None
        with self._cond:
            while True:
                if self._queue:
                    if self._closing or self._urgent or self._queued >= self._batch_size:
                        break
                    assert self._first_at is not None
                    wait = self._first_at + self._max_delay - time.monotonic()
                    if wait <= 0:
                        break
                elif self._closing:
                    return None
                else:
                    wait = self._retention_wait()
                    if wait is not None and wait <= 0:
                        return [], []
                if not block:
                    return [], []
                self._cond.wait(wait)

            samples: list[Sample] = []
            done: list[_Entry] = []
            room = self._batch_size
            while self._queue:
                entry = self._queue[0]
                left = len(entry.samples) - entry.offset
                if left <= room:
                    if entry.offset:
                        samples.extend(entry.samples[entry.offset :])
                    else:
                        samples.extend(entry.samples)
                    room -= left
                    self._queue.popleft()
                    self._urgent -= entry.urgent
                    done.append(entry)
                elif room > 0:
                    samples.extend(entry.samples[entry.offset : entry.offset + room])
                    entry.offset += room
                    break
                else:
                    break
            self._queued -= len(samples)
            if not self._queue:
                self._first_at = None
            return samples, done

    def _write(
        self, conn: sqlite3.Connection, samples: list[Sample], entries: list[_Entry]
    ) -> None:
        """Commit ``samples`` (retrying storage errors), then call the callbacks."""
        if samples:
            outcome = self._commit_retrying(conn, samples)
            if outcome is None:  # given up (only while closing)
                self._gave_up = True
            else:
                written, rejected = outcome
                with self._cond:
                    self._counts["written"] += written
                    self._counts["duplicates"] += len(samples) - written - rejected
                    self._counts["rejected"] += rejected
                    self._counts["batches"] += 1
        if self._gave_up:
            # Some samples were lost, maybe part of a call that ends in a later batch:
            # acknowledge nothing any more (the sources will deliver again).
            error = SourceUnavailable("history samples could not be written")
            for entry in entries:
                if entry.on_error is not None:
                    entry.on_error(error)
            return
        for entry in entries:
            if entry.callback is not None:
                try:
                    entry.callback()
                except Exception:
                    log.exception("history: an on_durable callback failed")

    def _commit_retrying(
        self, conn: sqlite3.Connection, samples: list[Sample]
    ) -> tuple[int, int] | None:
        """``_commit``, retried with a growing pause while SQLite reports storage
        errors (disk full, I/O error, locked by another process). Gives up (``None``,
        the samples counted as lost) only when the store is closing."""
        attempt = 0
        while True:
            try:
                return self._commit(conn, samples)
            except sqlite3.Error as exc:
                attempt += 1
                with self._cond:
                    self._counts["write_errors"] += 1
                    closing = self._closing
                if closing and attempt >= 3:
                    log.error(
                        "history: giving up on %d samples after %d attempts: %s",
                        len(samples),
                        attempt,
                        exc,
                    )
                    with self._cond:
                        self._counts["lost"] += len(samples)
                    return None
                delay = min(0.05 * 2**attempt, 2.0)
                log.warning(
                    "history: write of %d samples failed (attempt %d, retry in %.2fs): %s",
                    len(samples),
                    attempt,
                    delay,
                    exc,
                )
                time.sleep(delay)

    def _commit(self, conn: sqlite3.Connection, samples: list[Sample]) -> tuple[int, int]:
        """One transaction: the rows of ``samples``. Returns (inserted, rejected).

        A value SQLite refuses to bind fails the whole ``executemany``; then the batch
        is rolled back and written again row by row, leaving out the refused rows.
        Storage errors (disk full, I/O, locked) are raised for ``_write`` to retry.
        """
        new_ids: dict[PropertyKey, int] = {}
        new_kinds: dict[int, int] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows, rejected = self._rows(conn, samples, new_ids, new_kinds)
            try:
                inserted = self._insert(conn, rows)
            except _BAD_ROW as exc:
                conn.execute("ROLLBACK")
                log.warning("history: a batch has values SQLite refuses (%s); row by row", exc)
                new_ids.clear()
                new_kinds.clear()
                conn.execute("BEGIN IMMEDIATE")
                rows, rejected = self._rows(conn, samples, new_ids, new_kinds)
                inserted = 0
                for row in rows:
                    try:
                        inserted += conn.execute(_INSERT, row).rowcount
                    except _BAD_ROW as row_exc:
                        rejected += 1
                        log.warning("history: rejected a sample of series %s: %s", row[0], row_exc)
            if new_kinds:  # in the same transaction as the rows: readers see both or none
                conn.executemany(
                    "UPDATE series SET kinds = kinds | ? WHERE id = ?",
                    [(bits, sid) for sid, bits in new_kinds.items()],
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("history: rollback failed")
            raise
        self._series.update(new_ids)
        for sid, bits in new_kinds.items():
            self._kinds[sid] = self._kinds.get(sid, 0) | bits
        return inserted, rejected

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
        """Insert ``rows`` with a few multi-row statements; returns the rows inserted.

        Not ``executemany``: the sqlite3 module releases the GIL around every
        ``sqlite3_step``, which ``executemany`` does once per row, and getting it back
        waits for whichever thread holds it, up to the switch interval (5 ms) when that
        thread is busy. Beside one busy Python thread (paho's network loop under load)
        the writer fell from ~148,000 to ~540 rows/s. A multi-row ``INSERT`` is one
        step (one GIL hand-over) for up to 512 rows.
        """
        inserted = 0
        start, total = 0, len(rows)
        for size in self._rows_per_statement:
            sql = self._insert_sql[size]
            while total - start >= size:
                params = list(chain.from_iterable(rows[start : start + size]))
                inserted += conn.execute(sql, params).rowcount
                start += size
        return inserted

    def _rows(
        self,
        conn: sqlite3.Connection,
        samples: list[Sample],
        new_ids: dict[PropertyKey, int],
        new_kinds: dict[int, int],
    ) -> tuple[list[tuple[Any, ...]], int]:
        """Rows for ``_INSERT``, and in ``new_kinds`` the kind bits they add to their
        series; samples that cannot become a row are counted, logged and left out.
        The hot loop of the writer: exact type checks first."""
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        series = self._series
        known_kinds = self._kinds.get
        quality_code = _QUALITY_CODE
        good = Quality.GOOD  # Enum.__hash__ is Python code: skip it for the common case
        rejected = 0
        first_error: str | None = None
        last_source: object = None
        last_server: object = None
        last_t = last_server_t = 0
        for sample in samples:
            try:
                key = sample.key
                sid = series.get(key) or new_ids.get(key) or self._new_series(conn, key, new_ids)
                v: Any = sample.value
                tp = type(v)
                if tp is float:
                    k = _FLOAT
                    if v != v:  # noqa: PLR0124 - NaN, the fast way
                        v = None  # NaN: SQLite would store NULL anyway
                elif tp is int:
                    k = _INT
                    if not _MIN_I64 <= v <= _MAX_I64:
                        v, k = float(v), _FLOAT
                elif tp is bool:
                    v, k = (1 if v else 0), _BOOL
                elif tp is str:
                    k = _STR
                elif v is None:
                    k = _NONE
                else:
                    v, k = _encode_other(v)
                # The values of one message share their two datetimes: convert once.
                source_time, server_time = sample.source_time, sample.server_time
                if source_time is not last_source or server_time is not last_server:
                    last_t, last_server_t = _times_us(source_time, server_time)
                    last_source, last_server = source_time, server_time
                quality = sample.quality
                q = 0 if quality is good else quality_code[quality]
                append((sid, last_t, v, k, q, last_server_t))
                bit = (1 << k) if v is not None or k != _FLOAT else _NAN_BIT
                if not known_kinds(sid, 0) & bit:
                    new_kinds[sid] = new_kinds.get(sid, 0) | bit
            except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
                rejected += 1
                if first_error is None:
                    first_error = f"{sample!r}: {exc!r}"
        if rejected:
            log.warning("history: rejected %d samples (first: %s)", rejected, first_error)
        return rows, rejected

    def _new_series(
        self, conn: sqlite3.Connection, key: PropertyKey, new_ids: dict[PropertyKey, int]
    ) -> int:
        asset, prop = key
        if type(asset) is not str or type(prop) is not str:
            raise TypeError(f"a history key is a pair of IRIs (str), got {key!r}")
        conn.execute("INSERT OR IGNORE INTO series (asset, property) VALUES (?, ?)", key)
        sid = int(
            conn.execute("SELECT id FROM series WHERE asset = ? AND property = ?", key).fetchone()[
                0
            ]
        )
        new_ids[key] = sid
        return sid

    # -- retention (in the writer thread) ---------------------------------------------

    def _retention_wait(self) -> float | None:
        """Seconds until a retention pass is due (under the lock); None: never."""
        if self._retention_waiters:
            return 0.0
        if self._next_retention is None:
            return None
        return self._next_retention - time.monotonic()

    def _retention_due(self) -> bool:
        with self._cond:
            wait = self._retention_wait()
        return wait is not None and wait <= 0

    def _retention_pass(self, conn: sqlite3.Connection) -> Generator[None, None, None]:
        """Delete old points, one chunk per step; the writer steps it between batches."""
        with self._cond:
            waiters, self._retention_waiters = self._retention_waiters, []
        deleted = 0
        # What the waiters get if the pass is abandoned (the store closes meanwhile).
        result: int | BaseException = SourceUnavailable("the history store is closed")
        try:
            if self._retention is not None:
                cutoff = time.time_ns() // 1000 - self._retention // _US
                series = [row[0] for row in conn.execute("SELECT id FROM series")]
                for checked, sid in enumerate(series, 1):
                    if checked % 500 == 0:
                        yield  # many series: let pending samples through now and then
                    oldest = conn.execute(
                        "SELECT t FROM points WHERE series_id = ? ORDER BY t LIMIT 1", (sid,)
                    ).fetchone()
                    if oldest is None or oldest[0] >= cutoff:
                        continue  # nothing to delete: no write transaction at all
                    while True:
                        # The t of the chunk-th oldest point older than the cutoff, if any.
                        row = conn.execute(
                            "SELECT t FROM points WHERE series_id = ? AND t < ? "
                            "ORDER BY t LIMIT 1 OFFSET ?",
                            (sid, cutoff, self._retention_chunk - 1),
                        ).fetchone()
                        upto = cutoff - 1 if row is None else row[0]
                        count = conn.execute(
                            "DELETE FROM points WHERE series_id = ? AND t <= ?", (sid, upto)
                        ).rowcount
                        deleted += count
                        if count:
                            yield  # let the writer commit pending samples in between
                        if row is None:
                            break
            result = deleted
        except sqlite3.Error as exc:
            log.warning("history: retention pass failed after %d deletions: %s", deleted, exc)
            result = SourceUnavailable(f"history retention failed: {exc}")
        finally:
            with self._cond:
                self._counts["retention_deleted"] += deleted
                self._counts["retention_passes"] += 1
                if self._retention is not None:
                    self._next_retention = time.monotonic() + self._retention_interval
            if deleted:
                log.info("history: retention deleted %d points", deleted)
            for waiter in waiters:
                waiter(result)


_DONE = object()  # what next() gives for a finished retention pass

# Errors that mean "this row's values cannot be bound", as opposed to storage errors.
_BAD_ROW = (
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
    ValueError,
    OverflowError,
    TypeError,
)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[Any], None], arg: Any) -> None:
    """``fn(arg)`` on ``loop`` from another thread; nothing if the loop is closed."""
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(fn, arg)
