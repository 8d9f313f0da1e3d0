"""The live cache: the latest sample per bound property, and who wants to hear of it.

Adapters put samples from their own threads (paho's network thread) or from the
event loop (asyncua); reads and subscriptions are served on the event loop. A
put takes a lock only long enough to store the sample and queue it; fan-out to
subscriptions happens on the loop, once per burst rather than once per message,
and every subscription coalesces: a slow client sees the latest value of each
property, never an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from graphtwin.values import PropertyKey, Quality, Sample

# A subscription holding more distinct properties than this is unsubscribed: the
# client is not reading and keeping everything for it would grow without bound.
MAX_PENDING_PER_SUBSCRIPTION = 100_000


@dataclass(eq=False)
class Subscription:
    """What one client listens to: properties, assets, or everything (both None)."""

    keys: frozenset[PropertyKey] | None = None
    assets: frozenset[str] | None = None
    pending: dict[PropertyKey, Sample] = field(default_factory=dict)
    event: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def wants(self, sample: Sample) -> bool:
        if self.keys is not None and sample.key in self.keys:
            return True
        if self.assets is not None and sample.key[0] in self.assets:
            return True
        return self.keys is None and self.assets is None

    def offer(self, sample: Sample) -> None:
        self.pending[sample.key] = sample
        if len(self.pending) > MAX_PENDING_PER_SUBSCRIPTION:
            self.closed = True
        self.event.set()

    async def samples(self) -> AsyncIterator[Sample]:
        while not self.closed:
            await self.event.wait()
            self.event.clear()
            batch, self.pending = self.pending, {}
            for sample in sorted(batch.values(), key=lambda s: s.server_time):
                yield sample


class LiveCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[PropertyKey, Sample] = {}
        self._changed: list[Sample] = []
        self._dirty: dict[PropertyKey, Sample] = {}
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_scheduled = False
        self.puts = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fan-out runs on ``loop``; until attached, puts only update the cache."""
        self._loop = loop

    # -- writes (any thread) ---------------------------------------------------
    def put(self, sample: Sample) -> None:
        self.put_many((sample,))

    def put_many(self, samples: Iterable[Sample]) -> None:
        wake = False
        with self._lock:
            for sample in samples:
                self._latest[sample.key] = sample
                self._dirty[sample.key] = sample
                self.puts += 1
                if self._subscriptions:
                    self._changed.append(sample)
            if self._changed and not self._wake_scheduled:
                self._wake_scheduled = wake = True
        if wake and self._loop is not None:
            # A closed loop means the server is stopping: nobody is listening.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._fan_out)

    def mark(self, keys: Iterable[PropertyKey], quality: Quality) -> list[Sample]:
        """Re-issue the latest samples of ``keys`` under ``quality`` (e.g. stale)."""
        marked = []
        with self._lock:
            for key in keys:
                old = self._latest.get(key)
                if old is not None and old.quality != quality:
                    marked.append(old.with_quality(quality))
        if marked:
            self.put_many(marked)
        return marked

    def forget(self, keys: Iterable[PropertyKey]) -> None:
        with self._lock:
            for key in keys:
                self._latest.pop(key, None)
                self._dirty.pop(key, None)

    # -- reads (event loop) ----------------------------------------------------
    def get(self, key: PropertyKey) -> Sample | None:
        return self._latest.get(key)

    def latest(self) -> dict[PropertyKey, Sample]:
        with self._lock:
            return dict(self._latest)

    def take_dirty(self) -> dict[PropertyKey, Sample]:
        """The samples changed since the last call (at most one per property)."""
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        return dirty

    def restore_dirty(self, samples: dict[PropertyKey, Sample]) -> None:
        """Give back samples a failed flush took, unless newer ones arrived meanwhile."""
        with self._lock:
            for key, sample in samples.items():
                self._dirty.setdefault(key, sample)

    # -- subscriptions (event loop) -------------------------------------------
    def subscribe(
        self, keys: Iterable[PropertyKey] | None = None, assets: Iterable[str] | None = None
    ) -> Subscription:
        sub = Subscription(
            keys=frozenset(keys) if keys is not None else None,
            assets=frozenset(assets) if assets is not None else None,
        )
        with self._lock:
            self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.closed = True
        sub.event.set()
        with self._lock:
            self._subscriptions.discard(sub)

    @property
    def subscriptions(self) -> int:
        return len(self._subscriptions)

    def _fan_out(self) -> None:
        with self._lock:
            changed, self._changed = self._changed, []
            self._wake_scheduled = False
            subs = list(self._subscriptions)
        for sub in subs:
            for sample in changed:
                if sub.wants(sample):
                    sub.offer(sample)
            if sub.closed:
                self.unsubscribe(sub)
