"""AAS API: ``GET /api/v3.0/submodels/{id}`` of a submodel with 50 elements over
HTTP, with N concurrent clients; ``$value`` of the same submodel too.

Servers, each a child process on a free 127.0.0.1 port, served by uvicorn with
``log_level="warning"`` like ``graphtwin serve``:

- **graphtwin**: the app over the services ``bootstrap.running`` builds, on a fresh
  embedded engine (or Neo4j with ``GRAPHTWIN_NEO4J_URI``): a one-machine plant is
  imported, then a shell for the machine with the submodel, through
  ``AasService.import_bytes``. Ten of the submodel's Properties are bound to the
  machine's datatype properties (their semanticId names one), so every read also
  refreshes them from the graph, and five have a value in a live cache attached
  as the live runtime would be (both overlays on the path, as with ``--live``).
- **memory**: the same app over an in-memory read model (basyx objects, no graph)
  with the same live overlay: the cost of the REST layer alone.
- **bare**: a bare Starlette app whose GET answers the very payload graphtwin
  answered (``JSONResponse``): the baseline.

The submodel: 50 top-level elements: 30 Properties (double, int, string,
boolean; each with a semanticId), 5 MultiLanguageProperties, 5 Ranges, 5
collections of 2 Properties each, 2 Files, 1 Blob, 2 ReferenceElements.

Client: this process, one ``httpx.AsyncClient`` with N workers on N keep-alive
connections, bounded by a request count and a time cap per level. It shares the
2 cores with the server (and the engine); the CPU per request of each is reported.

    python bench/bench_aas_api.py              # 1, 8, 32 clients, 5,000 req / 30 s
    python bench/bench_aas_api.py --quick      # 1, 8 clients, 300 req / 5 s
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import decimal
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    base_parser,
    cpu_seconds,
    free_port,
    machine_summary,
    own_cpu_seconds,
    percentile,
    print_table,
    process_tree,
    stop_process,
    temp_data_dir,
    wait_for_http,
    write_json,
)

TARGET_P99_MS = 20.0
ELEMENTS = 50
SUBMODEL_ID = "https://bench.example/ids/sm/operational-50"
ASSET = "https://bench.example/assets/pump-1"
GT = "https://w3id.org/graphtwin/core#"
LIVE_PROPERTIES = 10

# What is measured: name -> path below /api/v3.0/submodels/{id}.
ENDPOINTS = {"submodel": "", "$value": "/$value"}


# -- the model and the apps (built in the server process) ------------------------------


def build_submodel(bound: Sequence[str] = (), elements: int = ELEMENTS) -> Any:
    """A submodel with ``elements`` top-level elements of the mix in the docstring;
    the first double Properties get the semanticIds in ``bound``."""
    from basyx.aas import model

    def gref(value: str) -> Any:
        return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))

    types = [model.datatypes.Double, model.datatypes.Int, model.datatypes.String]
    samples: dict[Any, Any] = {types[0]: 21.5, types[1]: 42, types[2]: "SN-0001"}
    made: list[Any] = []
    for n, iri in enumerate(bound):
        made.append(model.Property(f"Bound{n}", model.datatypes.Double, 0.5, semantic_id=gref(iri)))
    for i in range(len(made), 30):
        if i % 4 == 3:
            made.append(
                model.Property(
                    f"Flag{i}", model.datatypes.Boolean, True, semantic_id=gref(f"{GT}f{i}")
                )
            )
            continue
        kind = types[i % 3]
        made.append(model.Property(f"Prop{i}", kind, samples[kind], semantic_id=gref(f"{GT}p{i}")))
    for i in range(5):
        text = model.MultiLanguageTextType({"en": f"Label {i}", "de": f"Bezeichnung {i}"})
        made.append(model.MultiLanguageProperty(f"Label{i}", text))
        made.append(model.Range(f"Range{i}", model.datatypes.Double, min=-20.0, max=60.0 + i))
        children = [
            model.Property("Street", model.datatypes.String, f"Main St {i}"),
            model.Property("Number", model.datatypes.Int, i),
        ]
        made.append(model.SubmodelElementCollection(f"Address{i}", value=children))
    made += [
        model.File("Manual", content_type="application/pdf", value="/aasx/files/manual.pdf"),
        model.File("Drawing", content_type="image/png", value="/aasx/files/drawing.png"),
        model.Blob("Fingerprint", content_type="application/octet-stream", value=b"\x00" * 64),
        model.ReferenceElement("Vendor", value=gref("https://bench.example/vendor")),
        model.ReferenceElement("Product", value=gref("https://bench.example/product")),
    ]
    submodel = model.Submodel(SUBMODEL_ID, id_short="Operational", submodel_element=made[:elements])
    return submodel


SHELL_ID = "https://bench.example/ids/aas/machine-1"
LIVE_VALUES = 5


class CacheValues:
    """The live runtime's read side (``value(key)``) over a ``LiveCache``."""

    def __init__(self, samples: dict[tuple[str, str], float]) -> None:
        from graphtwin.live.cache import LiveCache
        from graphtwin.values import Sample, utcnow

        self.cache = LiveCache()
        now = utcnow()
        for key, value in samples.items():
            self.cache.put(Sample(key, value, now, now))

    def value(self, key: tuple[str, str]) -> Any:
        return self.cache.get(key)


def environment_json(submodel: Any, asset: str) -> bytes:
    """A JSON environment: a shell for ``asset`` referencing ``submodel``."""
    import io

    from basyx.aas import model
    from basyx.aas.adapter.json import write_aas_json_file

    shell = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id=asset),
        SHELL_ID,
        id_short="Machine1",
        submodel={model.ModelReference.from_referable(submodel)},
    )
    buffer = io.StringIO()
    write_aas_json_file(buffer, model.DictObjectStore([shell, submodel]))
    return buffer.getvalue().encode()


async def serve_graph(port: int, data_dir: Path) -> None:
    """graphtwin over the graph: engine, plant, AAS import, then uvicorn (same loop)."""
    import dataclasses

    import uvicorn
    from _common import bench_settings

    from graphtwin.api.app import AppState, create_app
    from graphtwin.bootstrap import running
    from graphtwin.demo.plant import generate_plant

    settings = bench_settings(data_dir, port=port)
    async with running(settings, supervise=False) as runtime:
        services = runtime.services
        await services.twins.import_graph(generate_plant(1))
        (machine,) = (await services.twins.queries.list_assets(type_=f"{GT}Machine")).iris
        (desc,) = await services.twins.queries.describe([machine])
        assert desc is not None
        numeric = sorted(
            p
            for p, values in desc.literals.items()
            if any(isinstance(v.toPython(), int | float | decimal.Decimal) for v in values)
        )[:LIVE_PROPERTIES]
        submodel = build_submodel(bound=numeric)
        assert services.aas is not None
        await services.aas.import_bytes(
            environment_json(submodel, machine), "json", link={SHELL_ID: machine}
        )
        live = CacheValues({(machine, p): 100.0 + n for n, p in enumerate(numeric[:LIVE_VALUES])})
        services.aas.live = live  # what build_live attaches
        services = dataclasses.replace(services, live=live)  # type: ignore[arg-type]
        app = create_app(settings, AppState(services=services, ready=runtime.engine.ready))
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        await uvicorn.Server(config).serve()


@dataclass
class BenchServices:
    """What the AAS API reads from ``Services``: the authorizer, the AAS read model and
    the live values."""

    aas: Any
    live: Any
    authorizer: Any = field(default=None)


def memory_app(data_dir: Path) -> Any:
    """The graphtwin app (``create_app``) over an in-memory AAS read model."""
    from _common import bench_settings
    from basyx.aas import model

    from graphtwin.aas.port import StoreReadModel
    from graphtwin.api.app import AppState, create_app
    from graphtwin.auth.principal import Authorizer

    bound = [f"{GT}bound{n}" for n in range(LIVE_PROPERTIES)]
    submodel = build_submodel(bound=bound)
    keys = {(SUBMODEL_ID, f"Bound{n}"): (ASSET, iri) for n, iri in enumerate(bound)}

    class BoundReadModel(StoreReadModel):
        def live_key(self, submodel_id: str, path: str) -> tuple[str, str] | None:
            return keys.get((submodel_id, path))

    live = CacheValues({(ASSET, iri): 100.0 + n for n, iri in enumerate(bound[:LIVE_VALUES])})
    services = BenchServices(
        aas=BoundReadModel(model.DictObjectStore([submodel])),
        live=live,
        authorizer=Authorizer(),
    )

    async def ready() -> bool:
        return True

    return create_app(bench_settings(data_dir), AppState(services=services, ready=ready))


def bare_app(payloads: dict[str, Any]) -> Any:
    """A Starlette app answering GET /<name> with ``payloads[name]``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def answer(payload: Any) -> Any:
        async def endpoint(_: Request) -> JSONResponse:
            return JSONResponse(payload)

        return endpoint

    async def ready(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    routes = [Route(f"/{name}", answer(p)) for name, p in payloads.items()]
    return Starlette(routes=[*routes, Route("/readyz", ready)])


def submodel_url(endpoint: str) -> str:
    encoded = base64.urlsafe_b64encode(SUBMODEL_ID.encode()).decode().rstrip("=")
    return f"/api/v3.0/submodels/{encoded}{ENDPOINTS[endpoint]}"


def serve(kind: str, port: int, data_dir: Path, payloads: Path | None) -> None:
    import uvicorn

    if kind == "graphtwin":
        asyncio.run(serve_graph(port, data_dir))
        return
    if kind == "memory":
        app = memory_app(data_dir)
    else:
        app = bare_app(json.loads(payloads.read_text(encoding="utf-8")) if payloads else {})
    # The same call as `graphtwin serve`, for both servers.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


class Server:
    """A server child process on a free loopback port; stopped with SIGTERM."""

    def __init__(self, kind: str, data_dir: Path, payloads: Path | None = None) -> None:
        self.kind = kind
        self.port = free_port()
        cmd = [sys.executable, __file__, "--serve", kind, "--port", str(self.port)]
        cmd += ["--data-dir", str(data_dir)]
        if payloads is not None:
            cmd += ["--payloads", str(payloads)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        try:
            wait_for_http(self.port, "/readyz", 180, self.proc)
        except BaseException:
            stop_process(self.proc)
            raise

    def url(self, endpoint: str) -> str:
        path = f"/{endpoint}" if self.kind == "bare" else submodel_url(endpoint)
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (the uvicorn process, its children: the engine)."""
        pids = process_tree(self.proc.pid)
        return cpu_seconds(self.proc.pid), sum(cpu_seconds(p) for p in pids[1:])

    def stop(self) -> None:
        stop_process(self.proc)


# -- the client --------------------------------------------------------------------------


async def drive(
    client: Any, url: str, clients: int, max_requests: int, max_seconds: float, warmup: int
) -> dict[str, Any]:
    """``clients`` workers GETting ``url``; latencies of the measured requests."""
    import httpx

    latencies: list[float] = []
    transport_errors: list[str] = []
    errors = 0

    async def warm() -> None:
        for _ in range(max(1, warmup // clients)):
            await client.get(url)

    await asyncio.gather(*(warm() for _ in range(clients)))
    issued = 0
    stop_at = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued, errors
        while issued < max_requests and time.perf_counter() < stop_at:
            issued += 1
            start = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.TransportError as exc:  # counted, and the run goes on
                errors += 1
                transport_errors.append(repr(exc))
                continue
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                errors += 1

    cpu_start = own_cpu_seconds()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "qps": len(latencies) / elapsed if elapsed else float("nan"),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "client_cpu": own_cpu_seconds() - cpu_start,
        "transport_errors": transport_errors[:5],
    }


async def drive_http(url: str, clients: int, args: Any) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        return await drive(client, url, clients, args.requests, args.seconds, args.warmup)


def measure(server: Server, levels: list[int], args: Any) -> list[dict[str, Any]]:
    out = []
    for endpoint in ENDPOINTS:
        for clients in levels:
            own0, engine0 = server.cpu()
            result = asyncio.run(drive_http(server.url(endpoint), clients, args))
            own1, engine1 = server.cpu()
            n = max(1, result["requests"])
            result.update(
                server=server.kind,
                endpoint=endpoint,
                clients=clients,
                server_cpu_ms=(own1 - own0) * 1000 / n,
                engine_cpu_ms=(engine1 - engine0) * 1000 / n,
                client_cpu_ms=result["client_cpu"] * 1000 / n,
            )
            out.append(result)
            print(
                f"  {server.kind:9} {endpoint:8} {clients:3} clients: {result['qps']:8.0f} q/s",
                flush=True,
            )
    return out


def fetch(url: str) -> Any:
    import httpx

    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    return response.json()


def run(args: Any) -> dict[str, Any]:
    levels = [int(c) for c in args.clients.split(",")]
    results: list[dict[str, Any]] = []
    with temp_data_dir("graphtwin-bench-aas-") as work:
        graphtwin = Server("graphtwin", work / "data")
        try:
            payloads = {name: fetch(graphtwin.url(name)) for name in ENDPOINTS}
            results += measure(graphtwin, levels, args)
        finally:
            graphtwin.stop()
        payload_file = work / "payloads.json"
        payload_file.write_text(json.dumps(payloads), encoding="utf-8")
        for kind in ("memory", "bare"):
            server = Server(kind, work / kind, payload_file)
            try:
                results += measure(server, levels, args)
            finally:
                server.stop()
    return {
        "elements": len(payloads["submodel"]["submodelElements"]),
        "bytes": {name: len(json.dumps(p)) for name, p in payloads.items()},
        "results": results,
    }


def report(out: dict[str, Any], args: Any) -> None:
    columns = ["endpoint", "server", "clients", "requests", "errors", "q/s", "p50 ms"]
    columns += ["p90 ms", "p99 ms", "max ms", "uvicorn CPU ms/req", "engine CPU ms/req"]
    columns += ["client CPU ms/req"]
    rows = [
        [
            r["endpoint"],
            r["server"],
            r["clients"],
            r["requests"],
            r["errors"],
            r["qps"],
            r["p50_ms"],
            r["p90_ms"],
            r["p99_ms"],
            r["max_ms"],
            r["server_cpu_ms"],
            r["engine_cpu_ms"],
            r["client_cpu_ms"],
        ]
        for r in out["results"]
    ]
    sizes = ", ".join(f"{name} ~{size:,} B" for name, size in out["bytes"].items())
    print_table(
        f"GET /api/v3.0/submodels/{{id}}: {out['elements']} elements ({sizes}); up to "
        f"{args.requests:,} requests or {args.seconds:.0f}s per level "
        f"(after {args.warmup} warm-up)",
        columns,
        rows,
    )
    by = {(r["endpoint"], r["server"], r["clients"]): r for r in out["results"]}
    ratio_rows = []
    for kind in ("graphtwin", "memory"):
        for endpoint in ENDPOINTS:
            for clients in sorted({r["clients"] for r in out["results"]}):
                g, b = by.get((endpoint, kind, clients)), by.get((endpoint, "bare", clients))
                if g and b:
                    ratio_rows.append(
                        [
                            f"{kind} / bare",
                            endpoint,
                            clients,
                            g["qps"] / b["qps"],
                            g["p50_ms"] / b["p50_ms"],
                            g["p99_ms"] / b["p99_ms"],
                        ]
                    )
    print_table(
        "against the bare Starlette baseline",
        ["servers", "endpoint", "clients", "q/s ratio", "p50 ratio", "p99 ratio"],
        ratio_rows,
    )
    verdict(out)


def verdict(out: dict[str, Any]) -> None:
    """The target, read off the graphtwin ``submodel`` rows."""
    rows = [r for r in out["results"] if r["server"] == "graphtwin" and r["endpoint"] == "submodel"]
    if not rows:
        return
    best = max(rows, key=lambda r: r["qps"])
    within = [r["clients"] for r in rows if r["p99_ms"] <= TARGET_P99_MS]
    print(
        f"\ntarget: p99 <= {TARGET_P99_MS:.0f} ms for GET submodel ({out['elements']} elements); "
        f"met at {within or 'no'} clients; best {best['qps']:.0f} q/s (p99 "
        f"{best['p99_ms']:.1f} ms at {best['clients']} clients). The client shares the 2 "
        "cores with the server (its CPU per request is in the table)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default=None, help="concurrency levels (default 1,8,32)")
    parser.add_argument("--requests", type=int, default=None, help="max per level (5000)")
    parser.add_argument("--seconds", type=float, default=None, help="max s per level (30)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per level")
    parser.add_argument("--serve", choices=("graphtwin", "memory", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--payloads", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.data_dir, args.payloads)
        return
    args.clients = args.clients or ("1,8" if args.quick else "1,8,32")
    args.requests = args.requests or (300 if args.quick else 5000)
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    if args.quick:
        args.warmup = min(args.warmup, 50)
    print(f"bench_aas_api: {machine_summary()}; client pid {os.getpid()}")
    out = run(args)
    report(out, args)
    write_json(args.json, out)


if __name__ == "__main__":
    main()
