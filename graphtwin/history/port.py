"""The value history port: what the live layer and the API need from a history store.

A store keeps every accepted :class:`~graphtwin.values.Sample` of every bound property
(one *series* per :data:`~graphtwin.values.PropertyKey`) ordered by source time, and
answers raw range reads and downsampled (bucketed) reads. Writes are fire-and-forget
(``append`` never blocks); ``on_durable`` tells the caller when its samples are on
disk, which is what the MQTT adapter waits for before it acknowledges a QoS 1 message.

Time ranges are half-open, ``[start, end)``, and must be timezone-aware.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from graphtwin.errors import BadInput
from graphtwin.values import PropertyKey, Quality, Sample, Scalar

#: The most raw points one ``points`` call may return.
MAX_POINTS = 100_000
#: The most buckets one ``buckets`` call may ask for, empty ones included.
MAX_BUCKETS = 100_000


class Aggregate(enum.Enum):
    """How the values of one bucket become one value.

    ``MIN``, ``MAX`` and ``AVG`` look at numeric values only (int and float; not
    bool, not text, not missing values); a bucket without one is left out. ``FIRST``,
    ``LAST`` and ``COUNT`` take every point, whatever its value.
    """

    MIN = "min"
    MAX = "max"
    AVG = "avg"
    FIRST = "first"
    LAST = "last"
    COUNT = "count"

    @property
    def numeric(self) -> bool:
        return self in _NUMERIC


_NUMERIC = frozenset({Aggregate.MIN, Aggregate.MAX, Aggregate.AVG})


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One stored value: its source time, the value and its quality."""

    time: datetime
    value: Scalar | None
    quality: Quality


@dataclass(frozen=True, slots=True)
class HistoryBucket:
    """One downsampled interval ``[start, end)``.

    ``count`` is the number of points the value was computed from: for ``MIN``,
    ``MAX`` and ``AVG`` the numeric ones, for the others all points of the bucket.
    The last bucket of a range ends at the range's end, so it may be shorter.
    """

    start: datetime
    end: datetime
    value: Scalar | None
    count: int


class HistoryStore(Protocol):
    """Where samples go to stay. Reads only see samples that are already durable."""

    def append(
        self, samples: Sequence[Sample], on_durable: Callable[[], None] | None = None
    ) -> None:
        """Queue ``samples`` for writing and return at once. Thread-safe.

        ``on_durable`` is called once, from the store's writer thread, when every
        sample of this call is committed to disk (so it survives the process being
        killed); it must be quick and must not block. A sample whose series already
        has a point at the same source time is dropped as a duplicate (and still
        counts as durable: what is stored is what was first written).
        """
        ...

    async def points(
        self, key: PropertyKey, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[HistoryPoint]:
        """Raw points with ``start <= time < end``, oldest first, at most ``limit``."""
        ...

    async def buckets(
        self,
        key: PropertyKey,
        start: datetime,
        end: datetime,
        every: timedelta,
        aggregate: Aggregate,
    ) -> list[HistoryBucket]:
        """``[start, end)`` cut into buckets of ``every`` from ``start`` on, one
        aggregated value each, oldest first; buckets without a value are left out."""
        ...

    async def latest(self, keys: Iterable[PropertyKey]) -> dict[PropertyKey, Sample]:
        """The stored sample with the newest source time, per key that has one."""
        ...

    async def flush(self) -> None:
        """Wait until everything appended before this call is durable."""
        ...

    async def close(self) -> None:
        """Write what is pending, then release everything. Idempotent."""
        ...

    def stats(self) -> dict[str, int]:
        """Counters: ``appended``, ``written``, ``pending``, ``duplicates``,
        ``batches`` (and whatever else the implementation counts)."""
        ...


# -- argument checks shared by the implementations --------------------------------


def check_range(start: datetime, end: datetime) -> None:
    """:raises BadInput: a naive datetime, or ``start`` not before ``end``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise BadInput("history range: start and end must be timezone-aware datetimes")
    if start >= end:
        raise BadInput(
            f"history range: start ({start.isoformat()}) must be before end ({end.isoformat()})"
        )


def check_limit(limit: int) -> None:
    """:raises BadInput: ``limit`` outside ``1..MAX_POINTS``."""
    if not 1 <= limit <= MAX_POINTS:
        raise BadInput(f"history limit must be between 1 and {MAX_POINTS:,}, got {limit:,}")


def bucket_count(start: datetime, end: datetime, every: timedelta) -> int:
    """How many buckets of ``every`` cover ``[start, end)``; checks all three.

    :raises BadInput: a bad range, ``every`` under one microsecond, or more than
        ``MAX_BUCKETS`` buckets.
    """
    check_range(start, end)
    if every < timedelta(microseconds=1):
        raise BadInput(f"history bucket size must be at least 1 microsecond, got {every}")
    span = end - start
    count = -(-span // every)  # ceiling division of timedeltas
    if count > MAX_BUCKETS:
        raise BadInput(
            f"history query asks for {count:,} buckets of {every} over {span}; "
            f"at most {MAX_BUCKETS:,} are allowed (use a larger bucket or a shorter range)"
        )
    return count
