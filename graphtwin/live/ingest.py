"""What adapters hand their values to: transform, cache, history, counters.

Thread-safe: the MQTT adapter calls it from paho's network thread, the OPC UA
adapter from the event loop. A value that cannot become the property's value is
counted and logged against its binding and goes nowhere else.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from graphtwin.history.port import HistoryStore
from graphtwin.live.bindings import Binding
from graphtwin.live.cache import LiveCache
from graphtwin.live.transform import ValueRefused, outside_deadband
from graphtwin.values import PropertyKey, Quality, Sample, utcnow

log = logging.getLogger(__name__)

# Per binding (or topic), log the first few refusals and then one in this many.
_LOG_FIRST = 5
_LOG_EVERY = 1000


class Ingest:
    def __init__(self, cache: LiveCache, history: HistoryStore) -> None:
        self.cache = cache
        self.history = history
        self._lock = threading.Lock()
        self.refused: Counter[str] = Counter()
        self.accepted = 0
        self.filtered = 0  # inside the deadband

    def sample(
        self,
        binding: Binding,
        raw: object,
        source_time: datetime | None = None,
        quality: Quality = Quality.GOOD,
        server_time: datetime | None = None,
    ) -> Sample | None:
        """The sample for one raw value, or None if refused or inside the deadband."""
        try:
            value = binding.convert(raw)
        except ValueRefused as exc:
            self.refuse(binding.iri, str(exc))
            return None
        if binding.transform.deadband is not None:
            last = self.cache.get(binding.key)
            if (
                last is not None
                and last.quality is Quality.GOOD
                and quality is Quality.GOOD
                and not outside_deadband(value, last.value, binding.transform)
            ):
                self.filtered += 1
                return None
        now = server_time or utcnow()
        return Sample(binding.key, value, source_time or now, now, quality)

    def commit(
        self, samples: Sequence[Sample], on_durable: Callable[[], None] | None = None
    ) -> None:
        """Make samples current and append them to history.

        ``on_durable`` runs once they are all on disk (for the MQTT PUBACK); at once
        when there is nothing to store.
        """
        if not samples:
            if on_durable is not None:
                on_durable()
            return
        self.cache.put_many(samples)
        self.history.append(samples, on_durable)
        self.accepted += len(samples)

    def stale(self, keys: Iterable[PropertyKey]) -> None:
        """The source of these properties is gone: keep their values, flag them stale."""
        self.cache.mark(keys, Quality.STALE)

    def refuse(self, where: str, reason: str) -> None:
        with self._lock:
            self.refused[where] += 1
            count = self.refused[where]
        if count <= _LOG_FIRST or count % _LOG_EVERY == 0:
            log.warning("refused value for %s (%d so far): %s", where, count, reason)
