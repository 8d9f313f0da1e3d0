"""Sparkplug B on the MQTT adapter: session state per edge node, events to bindings.

The host session (``graphtwin.sparkplug.session``) does the protocol: births and
aliases, sequence numbers with a reorder window, bdSeq-checked deaths. This route
feeds it the adapter's ``spBv1.0/...`` messages, turns metric updates into samples
of the bindings that name them, flags stale what the session says is stale, and
publishes the rebirth requests (NCMD) it asks for. Not thread-safe on its own: the
adapter calls it under its lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from graphtwin.live.bindings import Binding, SparkplugSource
from graphtwin.live.ingest import Ingest
from graphtwin.sparkplug.events import (
    Event,
    Malformed,
    MetricKey,
    MetricsStale,
    MetricUpdate,
    RequestRebirth,
)
from graphtwin.sparkplug.payload import encode_ncmd_rebirth
from graphtwin.sparkplug.session import SparkplugHost
from graphtwin.sparkplug.topic import topic_filter
from graphtwin.values import PropertyKey, Quality, Sample, utcnow


class SparkplugRoute:
    def __init__(self, ingest: Ingest, publish: Callable[[str, bytes], None]) -> None:
        self.ingest = ingest
        self.publish = publish
        self.host = SparkplugHost()
        self._bindings: dict[MetricKey, list[Binding]] = {}
        self.events: Counter[str] = Counter()

    def update(self, bindings: Sequence[Binding]) -> None:
        by_metric: dict[MetricKey, list[Binding]] = {}
        for binding in bindings:
            source = binding.source
            assert isinstance(source, SparkplugSource)
            key = MetricKey(source.group_id, source.edge_node, source.device, source.metric)
            by_metric.setdefault(key, []).append(binding)
        self._bindings = by_metric

    def filters(self) -> set[str]:
        """One subscription per bound edge node: its births, data and deaths."""
        return {topic_filter(k.group, "+", k.edge_node) for k in self._bindings}

    def keys(self) -> list[PropertyKey]:
        return [b.key for bs in self._bindings.values() for b in bs]

    def credentials(self) -> list[str | None]:
        return [b.source.credential for bs in self._bindings.values() for b in bs]

    def handle(self, topic: str, payload: bytes) -> None:
        self._apply(self.host.handle_raw(topic, payload))

    def tick(self) -> None:
        self._apply(self.host.tick())

    def _apply(self, events: list[Event]) -> None:
        samples: list[Sample] = []
        now = utcnow()
        for event in events:
            self.events[type(event).__name__] += 1
            if isinstance(event, MetricUpdate):
                for binding in self._bindings.get(event.key, ()):
                    if event.is_null:
                        continue
                    stamp = (
                        datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
                        if event.timestamp_ms is not None
                        else None
                    )
                    sample = self.ingest.sample(binding, event.value, stamp, server_time=now)
                    if sample is None:
                        continue
                    if event.is_historical:
                        # Store-and-forward: a past value for history, not the current one.
                        self.ingest.history.append([sample])
                    else:
                        samples.append(sample)
            elif isinstance(event, MetricsStale):
                keys = [b.key for k in event.keys for b in self._bindings.get(k, ())]
                if event.device is None:
                    # A node's death takes its devices' metrics with it.
                    keys += [
                        b.key
                        for k, bs in self._bindings.items()
                        if (k.group, k.edge_node) == (event.group, event.edge_node)
                        for b in bs
                    ]
                self.ingest.cache.mark(keys, Quality.STALE)
            elif isinstance(event, RequestRebirth):
                self.publish(event.topic, encode_ncmd_rebirth())
            elif isinstance(event, Malformed):
                self.ingest.refuse(event.topic, event.reason)
        if samples:
            self.ingest.commit(samples)

    def counters(self) -> dict[str, int]:
        return {f"sparkplug_{name}": count for name, count in sorted(self.events.items())}
