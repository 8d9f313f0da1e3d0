"""The live runtime: bindings from the graph, adapters per source, flush and staleness.

- Bindings are read from the graph at start and again whenever a committed write
  touches one (the writer tells the runtime), so adding or removing a binding by
  mutation or import takes effect without a restart. Every binding in a write is
  parsed before commit, so one that could not run is refused with the write.
- Adapters are grouped by connection: one per MQTT broker (JSON topics and
  Sparkplug B share it), one per OPC UA endpoint and security setting.
- The graph flush writes the latest value of each changed property at most once
  per interval, batched (``ResourceRepository.write_values``).
- A binding with an expected update period whose value is older than twice that
  period is flagged stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from graphtwin.errors import BadInput, Forbidden, NotFound, SourceUnavailable, TwinError
from graphtwin.history.port import HistoryStore
from graphtwin.live.adapter import AdapterFactory, AdapterStatus, SourceAdapter, group_key
from graphtwin.live.bindings import Binding, Transform, is_binding, parse_binding, unique_keys
from graphtwin.live.cache import LiveCache
from graphtwin.live.ingest import Ingest
from graphtwin.live.transform import ValueRefused, to_property_value, to_source_value
from graphtwin.semantics.vocab import GTB
from graphtwin.twins.repository import WritePlan
from graphtwin.twins.service import TwinService
from graphtwin.values import PropertyKey, Quality, Sample, Scalar, utcnow

log = logging.getLogger(__name__)

STALE_CHECK_SECONDS = 0.5


class LiveRuntime:
    def __init__(
        self,
        twins: TwinService,
        cache: LiveCache,
        history: HistoryStore,
        adapter_factory: AdapterFactory,
        *,
        default_broker: str | None = None,
        flush_interval: float = 1.0,
    ) -> None:
        self.twins = twins
        self.cache = cache
        self.history = history
        self.ingest = Ingest(cache, history)
        self.adapter_factory = adapter_factory
        self.default_broker = default_broker
        self.flush_interval = flush_interval
        self.bindings: dict[str, Binding] = {}
        self.by_key: dict[PropertyKey, Binding] = {}
        self.adapters: dict[tuple[str, str], SourceAdapter] = {}
        self._flushed: dict[PropertyKey, Scalar | None] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._reload_lock = asyncio.Lock()
        self.flushes = 0
        self.flushed_values = 0

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        """Load the bindings and start their adapters; warm the cache from history."""
        self.cache.attach(asyncio.get_running_loop())
        writer = self.twins.writer
        writer.plan_checks.append(self.check_plan)
        writer.commit_listeners.append(self.on_commit)
        await self.reload()
        await self._warm_from_history()
        self._tasks = [
            asyncio.create_task(self._flush_loop(), name="graphtwin-live-flush"),
            asyncio.create_task(self._stale_loop(), name="graphtwin-live-stale"),
        ]

    async def stop(self) -> None:
        writer = self.twins.writer
        with contextlib.suppress(ValueError):
            writer.plan_checks.remove(self.check_plan)
        with contextlib.suppress(ValueError):
            writer.commit_listeners.remove(self.on_commit)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for adapter in list(self.adapters.values()):
            await adapter.stop()
        self.adapters.clear()
        await self.history.flush()
        with contextlib.suppress(TwinError):
            await self.flush()

    async def _warm_from_history(self) -> None:
        # Values from before a restart are shown, flagged stale until their source speaks.
        if not self.by_key:
            return
        latest = await self.history.latest(list(self.by_key))
        known = self.cache.latest()
        restored = [s.with_quality(Quality.STALE) for k, s in latest.items() if k not in known]
        if restored:
            self.cache.put_many(restored)
            self.cache.take_dirty()

    # -- bindings ---------------------------------------------------------------
    async def load_bindings(self) -> list[Binding]:
        repository = self.twins.repository
        iris = await repository.iris_with_class(str(GTB.Binding))
        descriptions = await repository.load(iris)
        out = []
        for iri in iris:
            desc = descriptions.get(iri)
            if desc is None:
                continue
            try:
                out.append(
                    parse_binding(desc, self.twins.ontology, default_broker=self.default_broker)
                )
            except BadInput as exc:
                # Stored before this server's checks (or with another configuration).
                log.error("binding not started: %s", exc.message)
        return out

    async def reload(self) -> None:
        """Run exactly the bindings stored in the graph."""
        async with self._reload_lock:
            bindings = await self.load_bindings()
            by_key: dict[PropertyKey, Binding] = {}
            for binding in bindings:
                if binding.key in by_key:
                    log.error(
                        "binding <%s> not started: <%s> already feeds that property",
                        binding.iri,
                        by_key[binding.key].iri,
                    )
                    continue
                by_key[binding.key] = binding
            new_pairs = [k for k in by_key if k not in self.by_key]
            if new_pairs:
                await self.twins.repository.drop_exact_forms(new_pairs)
            gone = [k for k in self.by_key if k not in by_key]
            self.cache.forget(gone)
            self.bindings = {b.iri: b for b in by_key.values()}
            self.by_key = by_key
            groups: dict[tuple[str, str], list[Binding]] = {}
            for binding in by_key.values():
                groups.setdefault(group_key(binding), []).append(binding)
            for key in list(self.adapters):
                if key not in groups:
                    await self.adapters.pop(key).stop()
            for key, members in groups.items():
                adapter = self.adapters.get(key)
                if adapter is None:
                    adapter = self.adapter_factory(key, self.ingest)
                    self.adapters[key] = adapter
                    await adapter.update(members)
                    await adapter.start()
                else:
                    await adapter.update(members)
            log.info("live bindings: %d over %d sources", len(by_key), len(self.adapters))

    def check_plan(self, plan: WritePlan) -> None:
        """Refuse a write whose bindings could not run (run by the writer before SHACL)."""
        ontology = self.twins.ontology
        written = [
            parse_binding(desc, ontology, default_broker=self.default_broker)
            for desc in plan.after.values()
            if is_binding(desc, ontology)
        ]
        if not written:
            return
        changed = {b.iri for b in written} | plan.deleted
        kept = [b for b in self.bindings.values() if b.iri not in changed]
        unique_keys([*kept, *written])

    async def on_commit(self, plan: WritePlan) -> None:
        ontology = self.twins.ontology
        touched = any(is_binding(d, ontology) for d in plan.after.values()) or any(
            iri in self.bindings for iri in plan.deleted
        )
        if touched:
            await self.reload()

    # -- reads and writes ---------------------------------------------------------
    def value(self, key: PropertyKey) -> Sample | None:
        return self.cache.get(key)

    def bindings_of(self, asset: str) -> list[Binding]:
        return sorted((b for k, b in self.by_key.items() if k[0] == asset), key=lambda b: b.iri)

    async def write_value(self, key: PropertyKey, raw: object) -> Sample:
        """Write to the source behind a property; returns the value as written.

        :raises NotFound: the property is not bound.
        :raises Forbidden: its binding is not writable.
        :raises BadInput: the value does not fit the property.
        :raises SourceUnavailable: the source is down or refused the write.
        """
        binding = self.by_key.get(key)
        if binding is None:
            raise NotFound(f"<{key[1]}> of <{key[0]}> is not bound to a source", path=("property",))
        if not binding.writable:
            raise Forbidden(
                f"binding <{binding.iri}> is not writable (gtb:writable true)", path=("property",)
            )
        try:
            value = to_property_value(raw, binding.datatype, Transform())
        except ValueRefused as exc:
            raise BadInput(f"value does not fit <{key[1]}>: {exc}", path=("value",)) from None
        adapter = self.adapters.get(group_key(binding))
        if adapter is None:
            raise SourceUnavailable(f"no adapter runs binding <{binding.iri}>")
        await adapter.write(binding, to_source_value(value, binding.transform))
        now = utcnow()
        return Sample(key, value, now, now, Quality.GOOD)

    def status(self) -> list[AdapterStatus]:
        return [a.status() for _, a in sorted(self.adapters.items())]

    # -- background loops -----------------------------------------------------------
    async def flush(self) -> int:
        """Write changed values to the graph; returns how many were written."""
        dirty = self.cache.take_dirty()
        rows = []
        for key, sample in dirty.items():
            if sample.value is None or key not in self.by_key:
                continue
            if self._flushed.get(key) == sample.value:
                continue
            rows.append((key[0], key[1], sample.value))
        if not rows:
            return 0
        try:
            await self.twins.repository.write_values(rows)
        except TwinError:
            self.cache.restore_dirty(dirty)
            raise
        for iri, prop, value in rows:
            self._flushed[(iri, prop)] = value
        self.flushes += 1
        self.flushed_values += len(rows)
        return len(rows)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except TwinError as exc:
                log.warning("live flush failed, retried next interval: %s", exc.message)

    async def _stale_loop(self) -> None:
        while True:
            await asyncio.sleep(STALE_CHECK_SECONDS)
            self.mark_overdue()

    def mark_overdue(self) -> list[PropertyKey]:
        now = utcnow()
        overdue = []
        for key, binding in self.by_key.items():
            if binding.expected_period is None:
                continue
            sample = self.cache.get(key)
            if sample is None or sample.quality is not Quality.GOOD:
                continue
            if now - sample.server_time > timedelta(seconds=2 * binding.expected_period):
                overdue.append(key)
        if overdue:
            self.ingest.stale(overdue)
        return overdue

    def bound_keys(self) -> Sequence[PropertyKey]:
        return list(self.by_key)
