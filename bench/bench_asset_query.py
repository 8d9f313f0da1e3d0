"""``asset(iri)`` over HTTP against the real server, with N concurrent clients.

The server runs in a child process: ``uvicorn.run(build_app(settings, demo=True),
host="127.0.0.1", port=<free>, log_level="warning")``, i.e. what ``graphtwin
serve --demo`` runs, with a fresh temp data dir (embedded ArcadeDB as its child).

Baseline, same run: a bare Starlette app whose POST /graphql parses the JSON body
and returns the very payload graphtwin answered (``JSONResponse``), served by the
same uvicorn call and driven by the same client.

Client: this process, one ``httpx.AsyncClient`` with N workers (N keep-alive
connections), bounded by a request count and a time cap per level. It competes
with the server (and the engine) for the 2 cores; the CPU each process used is
reported so that is visible.

    python bench/bench_asset_query.py                 # 1, 8, 32 clients, 5,000 req / 30 s
    python bench/bench_asset_query.py --quick         # 1, 8 clients, 300 req / 5 s
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
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

TARGET_QPS = 1000.0
TARGET_P99_MS = 20.0

ASSET_QUERY = (
    "query Asset($iri: String!) { asset(iri: $iri) "
    "{ iri label properties { name value datatype unit { symbol } } } }"
)
_PICK_MACHINE = '{ assets(type: "gt:Machine", first: 1) { nodes { iri } } }'


# -- servers (run in a child process) ----------------------------------------------


def bare_app(payload: Any) -> Any:
    """A Starlette app answering POST /graphql with ``payload`` after reading the body."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def graphql(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(payload)

    async def ready(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/readyz", ready)])


def serve(kind: str, port: int, data_dir: Path, payload: Path | None) -> None:
    import uvicorn

    if kind == "graphtwin":
        from _common import bench_settings

        from graphtwin.bootstrap import build_app

        app = build_app(bench_settings(data_dir, port=port), demo=True)
    else:
        app = bare_app(json.loads(payload.read_text(encoding="utf-8")) if payload else {})
    # The same call as `graphtwin serve`, for both servers.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


class Server:
    """A server child process on a free loopback port; stopped with SIGTERM."""

    def __init__(self, kind: str, data_dir: Path, payload: Path | None = None) -> None:
        self.kind = kind
        self.port = free_port()
        cmd = [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--port",
            str(self.port),
            "--data-dir",
            str(data_dir),
        ]
        if payload is not None:
            cmd += ["--payload", str(payload)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        try:
            wait_for_http(self.port, "/readyz", 120, self.proc)
        except BaseException:
            stop_process(self.proc)
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (the uvicorn process, its children: the engine)."""
        pids = process_tree(self.proc.pid)
        own = cpu_seconds(self.proc.pid)
        return own, sum(cpu_seconds(p) for p in pids[1:])

    def stop(self) -> None:
        stop_process(self.proc)


# -- the client --------------------------------------------------------------------


async def drive(
    url: str, body: bytes, clients: int, max_requests: int, max_seconds: float, warmup: int
) -> dict[str, Any]:
    """``clients`` workers on keep-alive connections; latencies of the measured requests."""
    import httpx

    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def warm() -> None:
            for _ in range(max(1, warmup // clients)):
                await client.post(url, content=body, headers=headers)

        await asyncio.gather(*(warm() for _ in range(clients)))
        issued = 0
        stop_at = time.perf_counter() + max_seconds

        async def worker() -> None:
            nonlocal issued, errors
            while issued < max_requests and time.perf_counter() < stop_at:
                issued += 1
                start = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200 or b'"errors"' in response.content:
                    errors += 1

        cpu_start = own_cpu_seconds()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
        client_cpu = own_cpu_seconds() - cpu_start
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "qps": len(latencies) / elapsed if elapsed else float("nan"),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "client_cpu": client_cpu,
    }


def measure(server: Server, body: bytes, levels: list[int], args: Any) -> list[dict[str, Any]]:
    out = []
    for clients in levels:
        own0, engine0 = server.cpu()
        result = asyncio.run(
            drive(server.url, body, clients, args.requests, args.seconds, args.warmup)
        )
        own1, engine1 = server.cpu()
        n = max(1, result["requests"])
        result.update(
            server=server.kind,
            clients=clients,
            server_cpu_ms=(own1 - own0) * 1000 / n,
            engine_cpu_ms=(engine1 - engine0) * 1000 / n,
            client_cpu_ms=result["client_cpu"] * 1000 / n,
        )
        out.append(result)
        print(f"  {server.kind:9} {clients:3} clients: {result['qps']:8.0f} q/s", flush=True)
    return out


def query_once(url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    import httpx

    response = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"query failed: {body['errors']}")
    return body


def run(args: Any) -> dict[str, Any]:
    levels = [int(c) for c in args.clients.split(",")]
    results: list[dict[str, Any]] = []
    with temp_data_dir("graphtwin-bench-asset-") as work:
        graphtwin = Server("graphtwin", work / "data")
        try:
            picked = query_once(graphtwin.url, _PICK_MACHINE)
            iri = picked["data"]["assets"]["nodes"][0]["iri"]
            body = json.dumps({"query": ASSET_QUERY, "variables": {"iri": iri}}).encode()
            answer = query_once(graphtwin.url, ASSET_QUERY, {"iri": iri})
            payload = work / "payload.json"
            payload.write_text(json.dumps(answer), encoding="utf-8")
            results += measure(graphtwin, body, levels, args)
        finally:
            graphtwin.stop()
        bare = Server("bare", work / "bare", payload)
        try:
            results += measure(bare, body, levels, args)
        finally:
            bare.stop()
    return {
        "iri": iri,
        "properties": len(answer["data"]["asset"]["properties"]),
        "response_bytes": len(json.dumps(answer)),
        "results": results,
    }


def report(out: dict[str, Any], args: Any) -> None:
    rows = [
        [
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
    print_table(
        f"asset(iri) over HTTP: <{out['iri']}>, {out['properties']} property values, "
        f"~{out['response_bytes']} B response; up to {args.requests:,} requests or "
        f"{args.seconds:.0f}s per level (after {args.warmup} warm-up)",
        [
            "server",
            "clients",
            "requests",
            "errors",
            "q/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "uvicorn CPU ms/req",
            "engine CPU ms/req",
            "client CPU ms/req",
        ],
        rows,
    )
    by = {(r["server"], r["clients"]): r for r in out["results"]}
    ratio_rows = []
    for clients in sorted({r["clients"] for r in out["results"]}):
        g, b = by.get(("graphtwin", clients)), by.get(("bare", clients))
        if g and b:
            ratio_rows.append(
                [clients, g["qps"] / b["qps"], g["p50_ms"] / b["p50_ms"], g["p99_ms"] / b["p99_ms"]]
            )
    print_table(
        "graphtwin / bare Starlette", ["clients", "q/s ratio", "p50 ratio", "p99 ratio"], ratio_rows
    )
    best = max(
        (r for r in out["results"] if r["server"] == "graphtwin"),
        key=lambda r: r["qps"],
        default=None,
    )
    if best:
        met = best["qps"] >= TARGET_QPS and best["p99_ms"] <= TARGET_P99_MS
        print(
            f"\ntarget: >= {TARGET_QPS:.0f} q/s with p99 <= {TARGET_P99_MS:.0f} ms; best "
            f"graphtwin level: {best['qps']:.0f} q/s, p99 {best['p99_ms']:.1f} ms at "
            f"{best['clients']} clients ({'meets' if met else 'misses'}). The client runs on "
            "the same 2 cores (its CPU per request is in the table)."
        )


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default=None, help="concurrency levels (default 1,8,32)")
    parser.add_argument(
        "--requests", type=int, default=None, help="max requests per level (default 5000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="max seconds per level (default 30)"
    )
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per level")
    parser.add_argument("--serve", choices=("graphtwin", "bare"), help=_hidden())
    parser.add_argument("--port", type=int, help=_hidden())
    parser.add_argument("--data-dir", type=Path, help=_hidden())
    parser.add_argument("--payload", type=Path, help=_hidden())
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.data_dir, args.payload)
        return
    args.clients = args.clients or ("1,8" if args.quick else "1,8,32")
    args.requests = args.requests or (300 if args.quick else 5000)
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    if args.quick:
        args.warmup = min(args.warmup, 50)
    print(f"bench_asset_query: {machine_summary()}; client pid {os.getpid()}")
    out = run(args)
    report(out, args)
    write_json(args.json, out)


def _hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
