"""Import a generated plant into a fresh embedded engine, phase by phase.

Each plant size runs in its own child process with its own temp data dir, so a
size that blows the time cap is killed (its engine goes with it) and the run
still stops by itself. The child times the phases from outside the product code:
a probe object stands in for ``ChangeWriter.validator`` (SHACL), another for the
repository (the graph write) and one for the store (Bolt round trips).

Baseline: the same nodes (same property count each) and relationships written
as bare ``UNWIND … CREATE`` Cypher in one transaction through the same store, into
the same engine, after the graphtwin import.

    python bench/bench_import.py              # ~100k triples, then 10,000 machines
    python bench/bench_import.py --quick      # 300 machines
    python bench/bench_import.py --machines 3250 --max-seconds 300
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from _common import (
    Deadline,
    Stopwatch,
    base_parser,
    bench_settings,
    engine_name,
    machine_summary,
    print_table,
    temp_data_dir,
    write_json,
)

# generate_plant makes ~31 triples a machine: 3,250 machines is ~100k triples.
MACHINES_FOR_100K = 3250
DEFAULT_SIZES = (MACHINES_FOR_100K, 10_000)
QUICK_SIZES = (300,)
TARGET_SECONDS_100K = 20.0
_EVENT = "@@bench "
_BASELINE_LABEL = "BenchNode"
_BATCH = 2000


def _emit(kind: str, **data: Any) -> None:
    """One progress line for the parent (which keeps it even if it kills us later)."""
    print(_EVENT + json.dumps({"kind": kind, **data}), flush=True)


# -- probes (stand-ins assigned to the writer's attributes; product code untouched) ----


class StoreProbe:
    """Times the store's reads and writes (the Bolt round trips and the engine)."""

    def __init__(self, store: Any, watch: Stopwatch) -> None:
        self._store = store
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def read(self, query: str, params: Any = None) -> Any:
        start = time.perf_counter()
        try:
            return await self._store.read(query, params)
        finally:
            self._watch.add("store.read", time.perf_counter() - start)

    async def write(self, statements: Sequence[Any]) -> Any:
        _emit("phase", name="engine transaction", state="start", statements=len(statements))
        start = time.perf_counter()
        try:
            return await self._store.write(statements)
        finally:
            self._watch.add("store.write", time.perf_counter() - start)


class RepositoryProbe:
    """Times ``ResourceRepository.write`` (Cypher rows + the engine transaction)."""

    def __init__(self, repository: Any, watch: Stopwatch) -> None:
        self._repository = repository
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)

    async def write(self, plan: Any) -> None:
        _emit("phase", name="graph write", state="start", resources=len(plan.after))
        start = time.perf_counter()
        try:
            await self._repository.write(plan)
        finally:
            self._watch.add("repository.write", time.perf_counter() - start)


class ValidatorProbe:
    """Times SHACL validation: ``ShaclValidator.validate_descriptions`` (async, may fan
    out to worker processes) or, with writers that call it directly, ``validate``."""

    def __init__(self, validator: Any, watch: Stopwatch) -> None:
        self._validator = validator
        self._watch = watch
        self.data_triples = 0
        self.data_resources = 0
        self.focus_nodes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._validator, name)

    def _started(self) -> None:
        _emit(
            "phase",
            name="SHACL validation",
            state="start",
            data_triples=self.data_triples,
            focus_nodes=self.focus_nodes,
        )

    async def validate_descriptions(self, descriptions: Any, focus: Iterable[str]) -> Any:
        focus_list = list(focus)
        self.data_resources = len(descriptions)
        self.data_triples = sum(sum(1 for _ in d.triples()) for d in descriptions.values())
        self.focus_nodes = len(focus_list)
        self._started()
        start = time.perf_counter()
        try:
            return await self._validator.validate_descriptions(descriptions, focus_list)
        finally:
            self._watch.add("validate", time.perf_counter() - start)

    def validate(self, data: Any, focus: Iterable[str] | None = None) -> Any:
        focus_list = list(focus) if focus is not None else None
        self.data_triples = len(data)
        self.focus_nodes = len(focus_list or ())
        self._started()
        start = time.perf_counter()
        try:
            return self._validator.validate(data, focus_list)
        finally:
            self._watch.add("validate", time.perf_counter() - start)


# -- the baseline --------------------------------------------------------------------


def _local(iri: str) -> str:
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def baseline_rows(graph: Any) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """Nodes with as many properties as graphtwin stores for each resource (iri,
    types, one per datatype predicate), and the links between them; no ontology."""
    from rdflib import RDF, Literal, URIRef

    subjects = {s for s in graph.subjects() if isinstance(s, URIRef)}
    nodes: dict[str, dict[str, Any]] = {}
    links: dict[str, list[dict[str, str]]] = {}
    for s, p, o in graph:
        props = nodes.setdefault(str(s), {"iri": str(s), "_types": []})
        if p == RDF.type:
            props["_types"].append(str(o))
        elif isinstance(o, Literal):
            value = o.toPython()
            props[_local(str(p))] = value if isinstance(value, (int, float, str)) else str(o)
        elif o in subjects:
            links.setdefault(_local(str(p)), []).append({"s": str(s), "o": str(o)})
        else:
            props[_local(str(p))] = str(o)
    return list(nodes.values()), links


async def run_baseline(store: Any, graph: Any) -> dict[str, Any]:
    start = time.perf_counter()
    nodes, links = baseline_rows(graph)
    statements: list[tuple[str, dict[str, Any]]] = []
    for i in range(0, len(nodes), _BATCH):
        statements.append(
            (
                f"UNWIND $rows AS r CREATE (n:{_BASELINE_LABEL}) SET n = r",
                {"rows": nodes[i : i + _BATCH]},
            )
        )
    for rel_type, rows in sorted(links.items()):
        for i in range(0, len(rows), _BATCH):
            statements.append(
                (
                    f"UNWIND $rows AS r MATCH (a:{_BASELINE_LABEL} {{iri: r.s}}) "
                    f"MATCH (b:{_BASELINE_LABEL} {{iri: r.o}}) CREATE (a)-[:`{rel_type}`]->(b)",
                    {"rows": rows[i : i + _BATCH]},
                )
            )
    rows_seconds = time.perf_counter() - start
    # The same kind of unique index graphtwin has on Resource.iri, made before the load.
    await store.write(
        [
            (
                f"CREATE CONSTRAINT bench_iri IF NOT EXISTS FOR (n:{_BASELINE_LABEL}) "
                "REQUIRE n.iri IS UNIQUE",
                {},
            )
        ]
    )
    write_start = time.perf_counter()
    await store.write(statements)
    write_seconds = time.perf_counter() - write_start
    return {
        "nodes": len(nodes),
        "relationships": sum(len(r) for r in links.values()),
        "rows_seconds": rows_seconds,
        "write_seconds": write_seconds,
        "seconds": rows_seconds + write_seconds,
        "statements": len(statements),
    }


# -- one size, in a child process ---------------------------------------------------


async def import_once(machines: int, work_dir: Path, *, baseline: bool = True) -> dict[str, Any]:
    """Generate, serialize, parse and import one plant; then the baseline."""
    from graphtwin.bootstrap import running
    from graphtwin.demo.plant import generate_plant
    from graphtwin.semantics.documents import parse_document, serialize

    watch = Stopwatch()
    out: dict[str, Any] = {"machines": machines}
    with watch.phase("generate"):
        generated = generate_plant(machines)
    ttl = work_dir / "plant.ttl"
    with watch.phase("serialize"):
        ttl.write_text(serialize(generated, "turtle"), encoding="utf-8")
    out["ttl_bytes"] = ttl.stat().st_size
    del generated
    _emit("phase", name="parse", state="start")
    with watch.phase("parse"):
        # What `graphtwin import` does with a file.
        graph = parse_document(ttl.read_bytes(), "turtle", max_bytes=None)
    out["triples"] = len(graph)

    settings = bench_settings(work_dir / "data")
    out["engine"] = engine_name(settings)
    out["heap"] = settings.arcadedb_heap
    _emit("phase", name="engine start", state="start")
    start = time.perf_counter()
    async with running(settings, supervise=False) as runtime:
        watch.add("engine start", time.perf_counter() - start)
        twins = runtime.services.twins
        writer = twins.writer
        store = runtime.engine.store
        validator = ValidatorProbe(writer.validator, watch)
        writer.validator = validator
        writer.repository = RepositoryProbe(writer.repository, watch)
        twins.repository.store = StoreProbe(store, watch)
        trips = store.round_trips
        _emit("phase", name="pre-checks + planning", state="start")
        with watch.phase("import_graph"):
            result = await twins.import_graph(graph)
        out["round_trips"] = store.round_trips - trips
        out["resources"] = len(result.created)
        out["validated_triples"] = validator.data_triples
        out["focus_nodes"] = validator.focus_nodes
        out["shacl_workers"] = getattr(validator, "workers", 1)
        counts = await store.read(
            "MATCH (n:Resource) WITH count(n) AS nodes "
            "OPTIONAL MATCH (:Resource)-[r]->(:Resource) RETURN nodes, count(r) AS rels"
        )
        out["nodes"], out["relationships"] = counts[0]["nodes"], counts[0]["rels"]
        _emit("phase", name="import", state="end", **out)
        if baseline:
            _emit("phase", name="baseline", state="start")
            out["baseline"] = await run_baseline(store, graph)
    out["phases"] = dict(watch.totals)
    return out


def child_main(machines: int, work_dir: Path, baseline: bool) -> None:
    result = asyncio.run(import_once(machines, work_dir, baseline=baseline))
    _emit("result", **result)


# -- the parent: sizes, time cap, tables --------------------------------------------


def run_size(machines: int, seconds: float, baseline: bool) -> dict[str, Any]:
    """Run one size in a child; on timeout, what it had reported so far."""
    events: list[dict[str, Any]] = []
    with temp_data_dir("graphtwin-bench-import-") as work_dir:
        cmd = [sys.executable, __file__, "--child", str(machines), "--work-dir", str(work_dir)]
        if not baseline:
            cmd.append("--no-baseline")
        timed_out = False
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, check=False)
            stdout, stderr, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            # subprocess.run has killed the child; its ArcadeDB gets SIGTERM on our
            # child's death (PR_SET_PDEATHSIG). Give it a moment before the dir goes.
            timed_out = True
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
            code = None
            time.sleep(3)
    for text in stdout.splitlines():
        if text.startswith(_EVENT):
            events.append(json.loads(text[len(_EVENT) :]))
    final = next((e for e in events if e["kind"] == "result"), None)
    if final is not None:
        return final
    started = [e for e in events if e.get("state") == "start"]
    partial = next((e for e in reversed(events) if e.get("name") == "import"), {})
    return {
        "machines": machines,
        "failed": "timed out" if timed_out else f"exit code {code}",
        "last_phase": started[-1] if started else None,
        "partial": partial,
        "stderr_tail": stderr[-2000:] if not timed_out else "",
    }


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def report(results: list[dict[str, Any]], seconds_cap: float) -> None:
    ok = [r for r in results if "failed" not in r]
    rows = []
    for r in ok:
        p = r["phases"]
        total = p["parse"] + p["import_graph"]
        b = r.get("baseline")
        rows.append(
            [
                f"{r['machines']:,} machines",
                r["triples"],
                r["resources"],
                r["nodes"],
                r["relationships"],
                total,
                _rate(r["triples"], total),
                b["seconds"] if b else None,
                total / b["seconds"] if b else None,
            ]
        )
    if rows:
        print_table(
            "Import (Turtle file -> parse_document -> import_graph), fresh engine per size",
            [
                "plant",
                "triples",
                "resources",
                "nodes",
                "rels",
                "total s",
                "triples/s",
                "baseline s",
                "graphtwin/baseline",
            ],
            rows,
        )
    for r in ok:
        p = r["phases"]
        total = p["parse"] + p["import_graph"]
        write = p.get("repository.write", 0.0)
        store_write = p.get("store.write", 0.0)
        validate = p.get("validate", 0.0)
        planning = p["import_graph"] - validate - write
        phase_rows = [
            ["parse (rdflib Turtle + ill-typed scan)", p["parse"]],
            ["pre-checks + planning + SHACL context", planning],
            ["  of which graph reads (store.read)", p.get("store.read", 0.0)],
            [f"SHACL validation (pySHACL, {r.get('shacl_workers', 1)} worker(s))", validate],
            ["graph write", write],
            ["  Cypher rows (mapping)", write - store_write],
            ["  engine transaction (store.write)", store_write],
            ["total (parse + import)", total],
        ]
        b = r.get("baseline")
        table = [[name, secs, 100 * secs / total] for name, secs in phase_rows]
        if b:
            table += [
                ["baseline: build rows", b["rows_seconds"], None],
                ["baseline: engine transaction", b["write_seconds"], None],
                ["baseline: total", b["seconds"], None],
            ]
        print_table(
            f"Phases, {r['machines']:,} machines ({r['triples']:,} triples, "
            f"{r['ttl_bytes'] / 1e6:.1f} MB Turtle; SHACL on {r['validated_triples']:,} "
            f"triples / {r['focus_nodes']:,} focus nodes; {r['round_trips']} round trips; "
            f"not counted: generate {p['generate']:.1f}s, serialize {p['serialize']:.1f}s, "
            f"engine start {p['engine start']:.1f}s)",
            ["phase", "seconds", "% of total"],
            table,
        )
        if b:
            print(
                f"baseline: {b['nodes']:,} nodes, {b['relationships']:,} relationships, "
                f"{b['statements']} UNWIND statements in one transaction "
                f"(label {_BASELINE_LABEL}, unique index on iri, no labels from the "
                "ontology, no SHACL)"
            )
    for r in results:
        if "failed" in r:
            last = r.get("last_phase") or {}
            print(
                f"\n{r['machines']:,} machines: {r['failed']} (cap {seconds_cap:.0f}s for the "
                f"whole run); last phase started: {last.get('name', '?')} "
                f"{ {k: v for k, v in last.items() if k not in ('kind', 'name', 'state')} }"
            )
            if r.get("stderr_tail"):
                print(r["stderr_tail"])
    for r in ok:
        if abs(r["triples"] - 100_000) < 10_000:
            total = r["phases"]["parse"] + r["phases"]["import_graph"]
            verdict = "meets" if total <= TARGET_SECONDS_100K else "misses"
            print(
                f"\ntarget: <= {TARGET_SECONDS_100K:.0f}s for ~100k triples: {total:.1f}s "
                f"({verdict})"
            )


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--machines",
        type=str,
        default=None,
        help="comma-separated plant sizes in machines (default 3250,10000)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="wall-clock cap for the whole run (default 600)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare Cypher load")
    parser.add_argument("--child", type=int, help=argparse_hidden())
    parser.add_argument("--work-dir", type=Path, help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.child is not None:
        child_main(args.child, args.work_dir, not args.no_baseline)
        return
    if args.machines:
        sizes = [int(s) for s in args.machines.split(",") if s.strip()]
    else:
        sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    deadline = Deadline(args.max_seconds)
    print(f"bench_import: {machine_summary()}; sizes {sizes} machines; cap {args.max_seconds:.0f}s")
    results = []
    for machines in sizes:
        if deadline.left() < 5:
            results.append({"machines": machines, "failed": "skipped (time cap reached)"})
            continue
        started = time.monotonic()
        result = run_size(machines, deadline.left(), not args.no_baseline)
        result["wall_seconds"] = time.monotonic() - started
        results.append(result)
        print(
            f"  {machines:,} machines: done in {result['wall_seconds']:.0f}s"
            + (f" ({result['failed']})" if "failed" in result else ""),
            flush=True,
        )
    report(results, args.max_seconds)
    write_json(args.json, results)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
