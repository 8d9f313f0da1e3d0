"""A deep GraphQL query over a whole plant: site -> areas -> lines -> stations ->
machines -> properties, for 1,000 machines.

Runs in-process: the real Starlette app (``create_app`` with the services
``bootstrap.running`` builds) driven through ``httpx.ASGITransport``, so the
numbers include GraphQL parsing, validation, resolvers, DataLoaders, the Bolt
round trips and JSON encoding, but no socket or uvicorn. The embedded engine runs
in a fresh temp dir. Round trips come from ``store.round_trips`` before/after
each request; the time spent waiting on the store is measured by a stand-in
store assigned to ``repository.store``.

Baseline, same run: each query again with the view cache off (every request
reads the graph, as on Neo4j by default), when the engine has one.

    python bench/bench_nested_query.py            # 1,000 machines, 7 runs
    python bench/bench_nested_query.py --quick    # 100 machines, 3 runs
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _common import (
    Deadline,
    StoreTimer,
    base_parser,
    engine_name,
    fresh_runtime,
    machine_summary,
    median,
    print_table,
    write_json,
)

TARGET_MS = 150.0

_PROPS = "properties { name value datatype unit { symbol } }"
# generate_plant's hierarchy: site > area (hall) > line > station (and buffers) > machine.
NESTED = (
    "{ sites { iri label parts { iri label parts { iri label parts { iri label "
    "parts { iri label " + _PROPS + " } } } } } }"
)
# The same machines as one flat page (the API's max page is 1,000).
FLAT = '{ assets(type: "gt:Machine", first: 1000) { nodes { iri label ' + _PROPS + " } } }"
# The same nested walk with each machine's values as one JSON object (propertyMap).
NESTED_MAP = (
    "{ sites { iri label parts { iri label parts { iri label parts { iri label "
    "parts { iri label propertyMap } } } } } }"
)
QUERIES = {
    "nested parts (site>area>line>station>machine)": NESTED,
    "nested parts, propertyMap per machine": NESTED_MAP,
    "flat assets(gt:Machine)": FLAT,
}


def count_machines(data: Any) -> tuple[int, int]:
    """(assets that carry property values, property values) anywhere in a response."""
    assets = values = 0
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties") or node.get("propertyMap")
            if props:
                assets += 1
                values += len(props)
            stack.extend(v for k, v in node.items() if k not in ("properties", "propertyMap"))
        elif isinstance(node, list):
            stack.extend(node)
    return assets, values


async def measure(
    app: Any,
    store: Any,
    timer: StoreTimer,
    query: str,
    *,
    runs: int,
    warmup: int,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Latency (median of ``runs`` after ``warmup``), round trips and store wait per request."""
    import httpx

    transport = httpx.ASGITransport(app=app)
    latencies: list[float] = []
    trips: list[int] = []
    store_ms: list[float] = []
    size = 0
    assets = values = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for index in range(warmup + runs):
            if deadline is not None and deadline.passed() and latencies:
                break
            before, waited = store.round_trips, timer.seconds
            start = time.perf_counter()
            response = await client.post("/graphql", json={"query": query}, timeout=600)
            elapsed = time.perf_counter() - start
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"query failed: {response.status_code} {response.text[:500]}")
            if index >= warmup:
                latencies.append(elapsed * 1000)
                trips.append(store.round_trips - before)
                store_ms.append((timer.seconds - waited) * 1000)
                size = len(response.content)
                assets, values = count_machines(body["data"])
    return {
        "runs": len(latencies),
        "median_ms": median(latencies),
        "min_ms": min(latencies),
        "max_ms": max(latencies),
        "round_trips": median(trips),
        "store_ms": median(store_ms),
        "bytes": size,
        "assets": assets,
        "values": values,
    }


async def run(machines: int, runs: int, warmup: int, max_seconds: float) -> dict[str, Any]:
    from graphtwin.api.app import AppState, create_app
    from graphtwin.demo.plant import generate_plant

    deadline = Deadline(max_seconds)
    async with fresh_runtime() as runtime:
        services = runtime.services
        graph = generate_plant(machines)
        start = time.perf_counter()
        await services.twins.import_graph(graph)
        import_seconds = time.perf_counter() - start
        state = AppState(services=services, ready=runtime.engine.ready)
        app = create_app(runtime.settings, state)
        store = runtime.engine.store
        timer = StoreTimer(services.twins.repository.store)
        services.twins.repository.store = timer
        results = {}
        repository = services.twins.repository
        cache = repository.view_cache
        for name, query in QUERIES.items():
            results[name] = await measure(
                app, store, timer, query, runs=runs, warmup=warmup, deadline=deadline
            )
            if cache is not None:
                # Baseline, same run: every request reads the graph, as before
                # the view cache (off on Neo4j by default).
                repository.view_cache = None
                try:
                    results[f"{name}, view cache off"] = await measure(
                        app, store, timer, query, runs=runs, warmup=warmup, deadline=deadline
                    )
                finally:
                    repository.view_cache = cache
        return {
            "machines": machines,
            "triples": len(graph),
            "import_seconds": import_seconds,
            "engine": engine_name(runtime.settings),
            "results": results,
        }


def report(out: dict[str, Any]) -> None:
    rows = []
    for name, r in out["results"].items():
        rows.append(
            [
                name,
                r["assets"],
                r["values"],
                r["bytes"],
                r["runs"],
                r["median_ms"],
                r["min_ms"],
                r["max_ms"],
                r["round_trips"],
                r["store_ms"],
                r["median_ms"] - r["store_ms"],
            ]
        )
    print_table(
        f"Nested query, {out['machines']:,} machines ({out['triples']:,} triples, "
        f"{out['engine']}, in-process via httpx.ASGITransport; plant import took "
        f"{out['import_seconds']:.1f}s, not measured)",
        [
            "query",
            "assets w/ props",
            "prop values",
            "bytes",
            "runs",
            "median ms",
            "min ms",
            "max ms",
            "round trips",
            "store wait ms",
            "rest ms",
        ],
        rows,
    )
    results = out["results"]
    for name, result in results.items():
        if not name.startswith("nested") or name.endswith("view cache off"):
            continue
        verdict = "meets" if result["median_ms"] <= TARGET_MS else "misses"
        off = results.get(f"{name}, view cache off")
        against = (
            f"; view cache off {off['median_ms']:.0f} ms, ratio "
            f"{result['median_ms'] / off['median_ms']:.2f}"
            if off
            else ""
        )
        print(
            f"target: {name} over {out['machines']:,} machines <= {TARGET_MS:.0f} ms: "
            f"{result['median_ms']:.0f} ms median ({verdict}){against}"
        )
    print("'rest' = GraphQL execution, resolvers, mapping and JSON in the server's Python")


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--machines", type=int, default=None, help="plant size (default 1000)")
    parser.add_argument("--runs", type=int, default=None, help="measured runs (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="runs not measured (default 2)")
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="cap on the measuring loop (default 300)"
    )
    args = parser.parse_args(argv)
    machines = args.machines or (100 if args.quick else 1000)
    runs = args.runs or (3 if args.quick else 7)
    print(f"bench_nested_query: {machine_summary()}")
    out = asyncio.run(run(machines, runs, args.warmup, args.max_seconds))
    report(out)
    write_json(args.json, out)


if __name__ == "__main__":
    main()
