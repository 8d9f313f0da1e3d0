"""OPC UA: 10,000 monitored items at 1 s sampling on the demo server, through
graphtwin's OpcUaAdapter into the live cache and history; and a bare asyncua client.

The demo server (``DemoOpcUaServer``, ``demo_machines(generate_plant(1250))``, eight
simulated variables each, ``tick=1.0``) runs in a spawned process of its own, so
that its ticks and graphtwin do not share an event loop (or a GIL). A stand-in
wrapped around its ``tick_once`` counts, per tick, the values that really changed
(what a monitored item with the StatusValue trigger reports) and sends
(tick time, changed, tick seconds) to this process.

graphtwin side (this process): the embedded engine in a temp dir as
``bootstrap.running`` builds it, the same plant imported, one ``gtb:OpcUaBinding``
per variable (``nsu=urn:graphtwin:demo:opcua;s=<machine key>.<variable>``, as the
demo bindings write them; ``samplingInterval 1000``; the setup import skips pySHACL
unless ``--shacl``, see :class:`SkipShacl`), ``build_live`` + ``live.start()``.
Measured from outside the product code:

- **time to monitored**: from ``live.start()`` until the adapter reports every item
  monitored (``status().counters["monitored"]``);
- then, after a short settle, a window of ``--seconds`` (30 s): for every server
  tick in the window, the changed values it wrote (**expected**) and the samples
  graphtwin put in its cache with that tick's source timestamp (**received**; a
  stand-in assigned over ``cache.put_many``, ``Quality.GOOD`` only), waiting a few
  seconds after the window for late ones;
- **lag** = ``Sample.server_time - Sample.source_time`` (the server stamps the tick
  time, graphtwin stamps the time it handled the notification), p50/p99 over the
  window, and for its first and last 10 s: a lag that grows from one to the other
  is a growing backlog. It includes up to one publishing interval (the phase of the
  server's publish timer against its tick), so compare growth, not clients;
  **burst** (last - first lag of one tick) is a client's own time for a tick;
- sessions lost during the window, CPU of both processes, and the share of the
  window this process spent in the cyclic garbage collector.

**Baseline**, same run, same server (graphtwin stopped first): a bare asyncua
``Client`` with the adapter's settings (request timeout, health-probe interval),
one ``create_subscription(1000, handler)`` and one
``subscribe_data_change`` of the same 10,000 nodes (``ns=<index>;s=...``, no
resolving), whose handler only counts (and takes the same lag from the
notification's SourceTimestamp).

    python bench/bench_opcua_items.py            # 10,000 items, 30 s windows; ~2.5 min
    python bench/bench_opcua_items.py --quick    # 1,000 items, 6 s windows; ~35 s
    python bench/bench_opcua_items.py --machines 750 --seconds 20
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    Deadline,
    base_parser,
    bench_settings,
    cpu_seconds,
    engine_name,
    free_port,
    machine_summary,
    own_cpu_seconds,
    percentile,
    print_table,
    process_tree,
    temp_data_dir,
    write_json,
)

VARIABLES_PER_MACHINE = 8  # SIMULATED_VARIABLES of the demo server
TARGET_ITEMS = 10_000
NAMESPACE_URI = "urn:graphtwin:demo:opcua"  # DEFAULT_NAMESPACE_URI of the demo server
TICK_MATCH_S = 0.05  # a notification belongs to the tick whose time is this close

FULL = {"machines": 1250, "seconds": 30.0, "settle": 3.0, "grace": 5.0, "max_seconds": 180.0}
QUICK = {"machines": 125, "seconds": 6.0, "settle": 1.0, "grace": 2.0, "max_seconds": 40.0}


# -- the demo server (a spawned process) -------------------------------------------


def server_main(conn: Any, machines: int, port: int, tick: float) -> None:  # pragma: no cover
    """Run the demo server until told to stop; report every tick through ``conn``."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    asyncio.run(_serve(conn, machines, port, tick))


async def _serve(conn: Any, machines: int, port: int, tick: float) -> None:  # pragma: no cover
    from graphtwin.demo.opcua_server import DemoOpcUaServer, demo_machines
    from graphtwin.demo.plant import generate_plant

    started = time.perf_counter()
    server = DemoOpcUaServer(demo_machines(generate_plant(machines)), port=port, tick=tick)
    original = server.tick_once

    async def tick_once(dt: float | None = None) -> float:
        # Private attribute read: the simulation replaces each machine's value list
        # per step, so the lists taken before the tick are the previous values.
        states = list(server._machines.values())
        before = [m.values for m in states]
        t = time.time()
        elapsed = await original(dt)
        changed = 0
        for old, machine in zip(before, states, strict=True):
            for a, b in zip(old, machine.values, strict=True):
                if a.Value != b.Value:
                    changed += 1
        conn.send(("tick", t, changed, elapsed))
        return elapsed

    server.tick_once = tick_once  # type: ignore[method-assign]
    await server.start()
    conn.send(
        (
            "ready",
            server.endpoint,
            server.namespace_index,
            [m.key for m in server.machines],
            time.perf_counter() - started,
        )
    )
    await asyncio.to_thread(conn.recv)  # any message: stop
    conn.send(("stopped", server.ticks, server.overruns))
    await server.stop()


@dataclass
class Tick:
    t: float
    changed: int
    seconds: float


class ServerProcess:
    def __init__(self, machines: int, tick: float) -> None:
        ctx = mp.get_context("spawn")
        self.port = free_port()
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=server_main, args=(child, machines, self.port, tick), daemon=True
        )
        self.process.start()
        child.close()
        self.ticks: list[Tick] = []
        self.ready: tuple[Any, ...] | None = None
        self.final: tuple[Any, ...] | None = None

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def poll(self) -> None:
        while self._conn.poll():
            message = self._conn.recv()
            if message[0] == "tick":
                self.ticks.append(Tick(message[1], message[2], message[3]))
            elif message[0] == "ready":
                self.ready = message
            elif message[0] == "stopped":
                self.final = message

    async def wait_ready(self, timeout: float) -> tuple[Any, ...]:
        deadline = time.monotonic() + timeout
        while self.ready is None:
            if not self.process.is_alive():
                raise RuntimeError(f"the demo server exited with {self.process.exitcode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the demo server was not ready after {timeout:.0f}s")
            await asyncio.sleep(0.1)
            self.poll()
        return self.ready

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send("stop")
        end = time.monotonic() + 10
        while self.final is None and self.process.is_alive() and time.monotonic() < end:
            with contextlib.suppress(EOFError, OSError):
                self.poll()
            time.sleep(0.05)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self._conn.close()


# -- what a client received ----------------------------------------------------------


class Received:
    """Source time and lag of every notification, appended from the event loop."""

    def __init__(self) -> None:
        self.source: list[float] = []
        self.lag: list[float] = []

    def add(self, source: float, lag: float) -> None:
        self.source.append(source)
        self.lag.append(lag)


class CacheProbe(Received):
    """Assigned over ``cache.put_many``: every good sample's source time and lag."""

    def __init__(self, cache: Any) -> None:
        super().__init__()
        from graphtwin.values import Quality

        original = cache.put_many
        good = Quality.GOOD

        def put_many(samples: Sequence[Any]) -> None:
            original(samples)
            source, lag = self.source, self.lag
            for s in samples:
                if s.quality is good:
                    start = s.source_time.timestamp()
                    source.append(start)
                    lag.append(s.server_time.timestamp() - start)

        cache.put_many = put_many


def _stamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class BareHandler(Received):
    """The baseline's subscription handler: counts, and the lag of each notification."""

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        now = time.time()
        value = data.monitored_item.Value
        source = _stamp(value.SourceTimestamp) or _stamp(value.ServerTimestamp) or now
        self.add(source, now - source)

    def status_change_notification(self, status: Any) -> None:
        pass


# -- analysis ----------------------------------------------------------------------------


def match_ticks(
    ticks: Sequence[Tick], received: Received, start: float, end: float
) -> list[dict[str, Any]]:
    """Per server tick in [start, end): changed values, notifications carrying its
    source time, and their lag."""
    chosen = [t for t in ticks if start <= t.t < end]
    if not chosen:
        return []
    times = [t.t for t in chosen]
    rows = [
        {"t": t.t, "expected": t.changed, "received": 0, "lags": [], "tick_s": t.seconds}
        for t in chosen
    ]
    for source, lag in zip(received.source, received.lag, strict=False):
        if source < start - TICK_MATCH_S or source >= end + TICK_MATCH_S:
            continue
        i = bisect.bisect_left(times, source)
        best = None
        for j in (i - 1, i):
            if (
                0 <= j < len(times)
                and abs(times[j] - source) <= TICK_MATCH_S
                and (best is None or abs(times[j] - source) < abs(times[best] - source))
            ):
                best = j
        if best is not None:
            rows[best]["received"] += 1
            rows[best]["lags"].append(lag)
    return rows


def summarize(rows: Sequence[dict[str, Any]], span: float = 10.0) -> dict[str, Any]:
    """Totals, lag percentiles, and first vs last ``span`` seconds."""
    if not rows:
        return {"ticks": 0}
    t0, t1 = rows[0]["t"], rows[-1]["t"]
    lags = [lag for r in rows for lag in r["lags"]]
    first = [lag for r in rows if r["t"] < t0 + span for lag in r["lags"]]
    last = [lag for r in rows if r["t"] > t1 - span for lag in r["lags"]]
    expected = sum(r["expected"] for r in rows)
    received = sum(r["received"] for r in rows)
    seconds = max(t1 - t0, 1e-9) + (t1 - t0) / max(len(rows) - 1, 1)
    per_tick = [r["received"] / r["expected"] for r in rows if r["expected"]]
    # How long one tick's notifications take to get through (the publish phase is
    # common to all of them, so this is the client's own time for a burst).
    spreads = [max(r["lags"]) - min(r["lags"]) for r in rows if r["lags"]]
    return {
        "ticks": len(rows),
        "expected": expected,
        "received": received,
        "share": received / expected if expected else float("nan"),
        "expected_per_s": expected / seconds,
        "received_per_s": received / seconds,
        "worst_tick_share": min(per_tick) if per_tick else float("nan"),
        "p50_ms": percentile(lags, 50) * 1000,
        "p99_ms": percentile(lags, 99) * 1000,
        "max_ms": max(lags) * 1000 if lags else float("nan"),
        "first_p50_ms": percentile(first, 50) * 1000,
        "first_p99_ms": percentile(first, 99) * 1000,
        "last_p50_ms": percentile(last, 50) * 1000,
        "last_p99_ms": percentile(last, 99) * 1000,
        "spread_p50_ms": percentile(spreads, 50) * 1000,
        "spread_max_ms": max(spreads) * 1000 if spreads else float("nan"),
        "tick_p50_s": percentile([r["tick_s"] for r in rows], 50),
        "tick_max_s": max(r["tick_s"] for r in rows),
    }


def windows(rows: Sequence[dict[str, Any]], span: float = 10.0) -> list[dict[str, Any]]:
    """The rows grouped in consecutive ``span``-second windows."""
    if not rows:
        return []
    t0 = rows[0]["t"]
    # Whole windows only: a last tick or two past the end joins the window before.
    count = max(1, round((rows[-1]["t"] - t0 + 1.0) / span))
    groups: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(min(int((r["t"] - t0) // span), count - 1), []).append(r)
    out = []
    for index in sorted(groups):
        s = summarize(groups[index], span)
        s["from_s"], s["to_s"] = index * span, (index + 1) * span
        out.append(s)
    return out


# -- the measurement -----------------------------------------------------------------------


@dataclass
class Window:
    start: float
    end: float
    cpu: dict[str, float] = field(default_factory=dict)
    gc: dict[str, float] = field(default_factory=dict)


class GcTimer:
    """Time this process spends in the cyclic garbage collector (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.seconds[generation] += time.perf_counter() - self._started
            self.counts[generation] += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self)


async def observe(
    server: ServerProcess, seconds: float, settle: float, grace: float, pids: dict[str, int]
) -> Window:
    """Settle, then a window of ``seconds``; wait ``grace`` for late notifications."""
    await _pump(server, settle)
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    own0 = own_cpu_seconds()
    start = time.time()
    with GcTimer() as timer:
        await _pump(server, seconds)
    end = time.time()
    cpu = {name: (cpu_seconds(pid) - cpu0[name]) / seconds for name, pid in pids.items()}
    cpu["bench process"] = (own_cpu_seconds() - own0) / seconds
    await _pump(server, grace)
    collected = {
        "share": sum(timer.seconds) / seconds,
        "full_collections": timer.counts[2],
        "full_seconds": timer.seconds[2],
    }
    return Window(start, end, cpu, collected)


async def _pump(server: ServerProcess, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        server.poll()
        await asyncio.sleep(min(0.2, max(0.0, end - time.monotonic())))
    server.poll()


async def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{what}: not after {timeout:.0f}s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


def engine_pids() -> dict[str, int]:
    """The embedded engine's JVM: a child process of this one (none with Neo4j)."""
    for pid in process_tree(os.getpid())[1:]:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "java":
                return {"engine": pid}
    return {}


def opcua_bindings(machines: Sequence[Any], endpoint: str) -> Any:
    """One gtb:OpcUaBinding per simulated variable of every machine."""
    from decimal import Decimal

    from rdflib import RDF, XSD, Graph, Literal, URIRef

    from graphtwin.demo.opcua_server import SIMULATED_VARIABLES
    from graphtwin.semantics.vocab import GT, GTB

    graph = Graph()
    for machine in machines:
        for variable in SIMULATED_VARIABLES:
            node = URIRef(f"{machine.iri}/bindings/bench-{variable}")
            graph.add((node, RDF.type, GTB.OpcUaBinding))
            graph.add((node, GTB.asset, URIRef(machine.iri)))
            graph.add((node, GTB.property, GT[variable]))
            graph.add((node, GTB.endpoint, Literal(endpoint, datatype=XSD.anyURI)))
            graph.add(
                (node, GTB.nodeId, Literal(f"nsu={NAMESPACE_URI};s={machine.key}.{variable}"))
            )
            graph.add((node, GTB.samplingInterval, Literal(Decimal("1000.0"))))
    return graph


class SkipShacl:
    """Stands in for ``writer.validator`` during the setup import: the generated plant
    and bindings are valid by construction, and pySHACL on ~100k triples would take
    most of the time budget on two cores (bench_import measures that). Everything
    else of ``import_graph`` runs. ``--shacl`` keeps the real validator."""

    def __init__(self, validator: Any) -> None:
        self._validator = validator

    def __getattr__(self, name: str) -> Any:
        return getattr(self._validator, name)

    async def validate_descriptions(self, descriptions: Any, focus: Any) -> Any:
        from graphtwin.errors import ShapeReport

        return ShapeReport(conforms=True)


def analyse(out: dict[str, Any], server: ServerProcess, received: Received) -> None:
    """Match what a client received to the server's ticks of its window (done after
    the client stopped: tens of thousands of rows must not stall its event loop)."""
    start, end = out["window"]
    rows = match_ticks(server.ticks, received, start, end)
    out["summary"] = summarize(rows)
    out["windows"] = windows(rows)
    out["per_tick"] = [{k: v for k, v in r.items() if k != "lags"} for r in rows]


async def graphtwin_phase(
    plants: list[Any],
    machines: Sequence[Any],
    server: ServerProcess,
    cfg: dict[str, Any],
    deadline: Deadline,
) -> dict[str, Any]:
    """A fresh embedded engine (as ``bootstrap.running`` builds it) in a temp dir."""
    from graphtwin.bootstrap import running

    with temp_data_dir("graphtwin-bench-opcua-") as data_dir:
        settings = bench_settings(data_dir / "data")
        start = time.perf_counter()
        async with running(settings, supervise=False) as runtime:
            engine_start = time.perf_counter() - start
            out = await measure_graphtwin(
                runtime.services, settings, plants, machines, server, cfg, deadline
            )
    out["engine"] = engine_name(settings)
    out["engine_start_s"] = engine_start
    return out


async def measure_graphtwin(
    services: Any,
    settings: Any,
    plants: list[Any],
    machines: Sequence[Any],
    server: ServerProcess,
    cfg: dict[str, Any],
    deadline: Deadline,
) -> dict[str, Any]:
    """Import plant and bindings, start the live runtime, wait for every item, observe.

    ``plants`` holds the plant graph; it is emptied once imported, so that the bench's
    copy does not sit in the heap the garbage collector walks while graphtwin is
    measured (a server does not keep it either)."""
    from graphtwin.bootstrap import build_live

    out: dict[str, Any] = {"shacl": cfg["shacl"]}
    endpoint = f"opc.tcp://127.0.0.1:{server.port}/graphtwin/demo/"
    twins = services.twins
    validator = twins.writer.validator
    if not cfg["shacl"]:
        twins.writer.validator = SkipShacl(validator)
    try:
        start = time.perf_counter()
        await twins.import_graph(plants.pop())
        out["import_plant_s"] = time.perf_counter() - start
        server.poll()
        start = time.perf_counter()
        result = await twins.import_graph(opcua_bindings(machines, endpoint))
        out["import_bindings_s"] = time.perf_counter() - start
        out["bindings"] = len(result.created)
    finally:
        twins.writer.validator = validator
    del result
    gc.collect()
    out["gc_tracked_objects"] = len(gc.get_objects())
    ready = await server.wait_ready(120)
    out["server_ready_s"] = ready[4]
    services = build_live(settings, services)
    live, history = services.live, services.history
    assert live is not None and history is not None
    probe = CacheProbe(live.cache)
    items = len(machines) * VARIABLES_PER_MACHINE

    def counter(name: str) -> int:
        return sum(s.counters.get(name, 0) for s in live.status())

    try:
        start = time.perf_counter()
        await live.start()
        out["live_start_s"] = time.perf_counter() - start

        def monitored() -> int:
            server.poll()
            return counter("monitored")

        timeout = max(10.0, deadline.left() - cfg["seconds"] - 20)
        await wait_for(lambda: monitored() >= items, timeout, "items monitored")
        out["monitored_s"] = time.perf_counter() - start
        out["monitored"] = monitored()
        print(
            f"  graphtwin: {items:,} items monitored after {out['monitored_s']:.1f} s; "
            f"observing {cfg['seconds']:.0f} s ...",
            flush=True,
        )
        connects = counter("connects")
        window = await observe(
            server,
            cfg["seconds"],
            cfg["settle"],
            cfg["grace"],
            {"demo server": server.pid, **engine_pids()},
        )
        out["reconnects"] = counter("connects") - connects
        out["window"] = (window.start, window.end)
        out["cpu"] = window.cpu
        out["gc"] = window.gc
        out["history"] = history.stats()
        out["adapter"] = [s.counters for s in live.status()]
        out["refused"] = sum(live.ingest.refused.values())
    finally:
        await live.stop()
        await history.close()
    analyse(out, server, probe)
    return out


async def bare_phase(
    machines: Sequence[Any], server: ServerProcess, cfg: dict[str, Any]
) -> dict[str, Any]:
    """The same subscription as graphtwin's adapter makes (one subscription, one
    subscribe call, the adapter's request timeout and health probe), handler only."""
    from asyncua import Client, ua

    from graphtwin.demo.opcua_server import SIMULATED_VARIABLES
    from graphtwin.live import opcua as adapter

    out: dict[str, Any] = {}
    ready = await server.wait_ready(60)
    endpoint, ns = ready[1], ready[2]
    handler = BareHandler()
    settings: dict[str, float] = {"timeout": adapter.REQUEST_TIMEOUT}
    watchdog = getattr(adapter, "WATCHDOG_SECONDS", None)
    if watchdog is not None:
        settings["watchdog_intervall"] = watchdog
    out["client"] = settings
    client = Client(endpoint, **settings)  # type: ignore[arg-type]
    lost: list[str] = []

    async def on_lost(exc: Exception) -> None:
        lost.append(repr(exc))

    client.connection_lost_callback = on_lost
    start = time.perf_counter()
    await client.connect()
    try:
        subscription = await client.create_subscription(1000, handler)
        nodes = [
            client.get_node(ua.NodeId(f"{m.key}.{v}", ns))
            for m in machines
            for v in SIMULATED_VARIABLES
        ]
        handles = await subscription.subscribe_data_change(nodes, sampling_interval=1000)
        out["monitored_s"] = time.perf_counter() - start
        out["monitored"] = sum(1 for h in handles if isinstance(h, int))
        print(
            f"  bare asyncua: {out['monitored']:,} items monitored after "
            f"{out['monitored_s']:.1f} s; observing {cfg['seconds']:.0f} s ...",
            flush=True,
        )
        window = await observe(
            server, cfg["seconds"], cfg["settle"], cfg["grace"], {"demo server": server.pid}
        )
        out["window"] = (window.start, window.end)
        out["cpu"] = window.cpu
        out["reconnects"] = len(lost)
        out["connection_lost"] = lost
        out["gc"] = window.gc
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 10)
    analyse(out, server, handler)
    return out


# -- report ------------------------------------------------------------------------------


def report(out: dict[str, Any]) -> None:
    gt, bare, cfg = out.get("graphtwin", {}), out.get("bare", {}), out["config"]
    items = cfg["items"]
    shacl = "" if cfg.get("shacl") else ", SHACL skipped"
    print_table(
        f"Setup ({gt.get('engine', '?')}; {cfg['machines']:,} machines x "
        f"{VARIABLES_PER_MACHINE} variables = {items:,} items; demo server in its own process)",
        ["phase", "seconds"],
        [
            ["engine start", gt.get("engine_start_s")],
            [f"import plant ({cfg['machines']:,} machines){shacl}", gt.get("import_plant_s")],
            [
                f"import {gt.get('bindings', 0):,} OPC UA bindings{shacl}",
                gt.get("import_bindings_s"),
            ],
            ["demo server start (own process, in parallel)", gt.get("server_ready_s")],
            ["graphtwin: live.start() returned", gt.get("live_start_s")],
            [
                f"graphtwin: live.start() until {gt.get('monitored', 0):,} items monitored",
                gt.get("monitored_s"),
            ],
            [
                f"bare asyncua: connect until {bare.get('monitored', 0):,} items monitored",
                bare.get("monitored_s"),
            ],
        ],
    )
    headers = [
        "client",
        "ticks",
        "expected/s",
        "received/s",
        "received %",
        "worst tick %",
        "lag p50 ms",
        "lag p99 ms",
        "first 10 s p50/p99 ms",
        "last 10 s p50/p99 ms",
        "burst p50/max ms",
        "sessions lost",
        "bench CPU %",
        "GC % of time",
        "engine CPU %",
        "server CPU %",
    ]
    rows = []
    for name, phase in (("graphtwin", gt), ("bare asyncua", bare)):
        s = phase.get("summary")
        if not s or not s.get("ticks"):
            continue
        cpu = phase.get("cpu", {})
        rows.append(
            [
                name,
                s["ticks"],
                s["expected_per_s"],
                s["received_per_s"],
                100 * s["share"],
                100 * s["worst_tick_share"],
                s["p50_ms"],
                s["p99_ms"],
                f"{s['first_p50_ms']:.0f} / {s['first_p99_ms']:.0f}",
                f"{s['last_p50_ms']:.0f} / {s['last_p99_ms']:.0f}",
                f"{s['spread_p50_ms']:.0f} / {s['spread_max_ms']:.0f}",
                phase.get("reconnects"),
                100 * cpu.get("bench process", float("nan")),
                100 * phase.get("gc", {}).get("share", float("nan")),
                100 * cpu.get("engine", float("nan")),
                100 * cpu.get("demo server", float("nan")),
            ]
        )
    if rows:
        print_table(
            f"{items:,} monitored items, 1 s sampling, {cfg['seconds']:.0f} s window "
            "(expected = values the server changed per tick; lag = handled - source time, "
            "which includes up to one publishing interval; burst = last - first of a tick)",
            headers,
            rows,
        )
    window_rows = []
    for name, phase in (("graphtwin", gt), ("bare asyncua", bare)):
        for w in phase.get("windows", []):
            if not w.get("ticks"):
                continue
            window_rows.append(
                [
                    f"{name} {w['from_s']:.0f}-{w['to_s']:.0f} s",
                    w["ticks"],
                    w["expected"],
                    w["received"],
                    100 * w["share"],
                    w["p50_ms"],
                    w["p99_ms"],
                    w["max_ms"],
                    w["tick_p50_s"],
                ]
            )
    if window_rows:
        print_table(
            "Per 10 s of the window (does the lag grow?)",
            [
                "client, window",
                "ticks",
                "expected",
                "received",
                "received %",
                "lag p50 ms",
                "lag p99 ms",
                "lag max ms",
                "server tick s",
            ],
            window_rows,
        )
    server = out.get("server", {})
    if server:
        print(
            f"\ndemo server: {server.get('ticks', 0)} ticks, {server.get('overruns', 0)} overruns "
            f"(a tick that started late); tick p50 {server.get('tick_p50_s', float('nan')):.2f} s, "
            f"max {server.get('tick_max_s', float('nan')):.2f} s"
        )
    if gt.get("history"):
        h = gt["history"]
        print(
            f"graphtwin history: {h['written']:,} written, {h['duplicates']:,} duplicates, "
            f"{h['pending']:,} pending; refused values {gt.get('refused', 0)}"
        )
    for name, phase in (("graphtwin", gt), ("bare asyncua", bare)):
        s = phase.get("summary")
        if s and s.get("ticks"):
            grows = s["last_p50_ms"] > max(2 * s["first_p50_ms"], s["first_p50_ms"] + 500)
            keeps = s["share"] >= 0.99 and s["worst_tick_share"] >= 0.99 and not grows
            keeps = keeps and not phase.get("reconnects")
            print(
                f"{name}: {items:,} items, {100 * s['share']:.1f} % of the changed values "
                f"received, lag p50 {s['first_p50_ms']:.0f} -> {s['last_p50_ms']:.0f} ms "
                f"(first -> last 10 s): {'keeps up' if keeps else 'does NOT keep up'}"
            )


# -- main ----------------------------------------------------------------------------------


async def run(cfg: dict[str, Any]) -> dict[str, Any]:
    from graphtwin.demo.opcua_server import demo_machines
    from graphtwin.demo.plant import generate_plant

    deadline = Deadline(cfg["max_seconds"])
    server = ServerProcess(cfg["machines"], tick=1.0)
    out: dict[str, Any] = {}
    try:
        plants = [generate_plant(cfg["machines"])]
        machines = demo_machines(plants[0])
        items = len(machines) * VARIABLES_PER_MACHINE
        out["config"] = {**cfg, "items": items}
        out["graphtwin"] = await graphtwin_phase(plants, machines, server, cfg, deadline)
        ready = server.ready
        assert ready is not None
        if sorted(ready[3]) != sorted(m.key for m in machines):
            raise RuntimeError("the demo server's machines differ from the bound ones")
        if deadline.left() < cfg["seconds"] + cfg["settle"] + cfg["grace"] + 5:
            out["bare"] = {"skipped": "time cap"}
        else:
            out["bare"] = await bare_phase(machines, server, cfg)
    finally:
        await asyncio.to_thread(server.stop)
    ticks = server.ticks
    out["server"] = {
        "ticks": server.final[1] if server.final else len(ticks),
        "overruns": server.final[2] if server.final else None,
        "tick_p50_s": percentile([t.seconds for t in ticks], 50),
        "tick_max_s": max((t.seconds for t in ticks), default=float("nan")),
        "changed_p50": percentile([float(t.changed) for t in ticks], 50),
    }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--machines", type=int, help=f"demo machines ({VARIABLES_PER_MACHINE} items each)"
    )
    parser.add_argument("--seconds", type=float, help="measurement window per client")
    parser.add_argument("--max-seconds", type=float, help="wall-clock cap for the whole run")
    parser.add_argument(
        "--shacl", action="store_true", help="validate the setup import with SHACL (slow)"
    )
    args = parser.parse_args(argv)
    cfg: dict[str, Any] = dict(QUICK if args.quick else FULL)
    cfg["shacl"] = args.shacl
    for name in ("machines", "seconds", "max_seconds"):
        if getattr(args, name) is not None:
            cfg[name] = getattr(args, name)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    print(
        f"bench_opcua_items: {machine_summary()}; {cfg['machines'] * VARIABLES_PER_MACHINE:,} "
        f"items, {cfg['seconds']:.0f} s windows, cap {cfg['max_seconds']:.0f}s",
        flush=True,
    )
    out = asyncio.run(run(cfg))
    report(out)
    write_json(args.json, out)


if __name__ == "__main__":
    main()
