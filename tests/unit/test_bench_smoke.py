"""Smoke tests of bench/: the modules import, their helpers and table formatter work,
and the nested-query bench runs on a tiny plant against the session engine (no
engine of its own). No timings are asserted."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _bench(name: str) -> ModuleType:
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    return importlib.import_module(name)


@pytest.mark.parametrize(
    "name",
    ["_common", "bench_import", "bench_asset_query", "bench_nested_query", "bench_history"],
)
def test_bench_modules_import(name: str) -> None:
    assert _bench(name).__doc__


def test_table_aligns_columns_and_formats_numbers() -> None:
    common = _bench("_common")

    table = common.format_table(
        "title", ["name", "n", "secs"], [["a", 12345, 1.5], ["longer", 2, float("nan")]]
    )

    lines = table.splitlines()
    assert lines[0] == "title"
    assert lines[1] == "| name   |      n | secs |"
    assert lines[3] == "| a      | 12,345 | 1.50 |"
    assert lines[4] == "| longer |      2 |    - |"
    assert len({len(line) for line in lines[1:]}) == 1


def test_percentile_is_nearest_rank() -> None:
    common = _bench("_common")
    values = [float(v) for v in range(1, 101)]

    assert common.percentile(values, 50) == 50.0
    assert common.percentile(values, 99) == 99.0
    assert common.percentile(values, 100) == 100.0
    assert common.percentile([3.0], 99) == 3.0


def test_import_baseline_has_a_node_per_resource_and_a_row_per_link() -> None:
    from graphtwin.demo.plant import generate_plant

    bench = _bench("bench_import")
    graph = generate_plant(10)

    nodes, links = bench.baseline_rows(graph)

    assert len(nodes) == len(set(graph.subjects()))
    assert {"partOf", "feeds"} <= set(links)
    assert all("iri" in n and "_types" in n for n in nodes)


def test_import_report_prints_phases(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench("bench_import")
    phases = {
        "generate": 1.0,
        "serialize": 1.0,
        "engine start": 1.0,
        "parse": 1.0,
        "import_graph": 4.0,
        "validate": 2.0,
        "repository.write": 1.0,
        "store.write": 0.5,
        "store.read": 0.2,
    }
    result = {
        "machines": 3,
        "triples": 100,
        "resources": 10,
        "nodes": 10,
        "relationships": 9,
        "ttl_bytes": 1000,
        "validated_triples": 100,
        "focus_nodes": 10,
        "round_trips": 7,
        "phases": phases,
        "baseline": {
            "seconds": 1.0,
            "rows_seconds": 0.1,
            "write_seconds": 0.9,
            "nodes": 10,
            "relationships": 9,
            "statements": 2,
        },
    }

    bench.report([result, {"machines": 9, "failed": "timed out"}], 60)

    out = capsys.readouterr().out
    assert "SHACL validation (pySHACL" in out
    assert "9 machines: timed out" in out


def test_nested_query_counts_assets_with_properties() -> None:
    bench = _bench("bench_nested_query")
    data = {
        "sites": [
            {
                "parts": [
                    {"properties": [{"name": "a"}, {"name": "b"}]},
                    {"parts": [{"properties": [{"name": "c"}]}]},
                ]
            }
        ]
    }

    assert bench.count_machines(data) == (2, 3)


async def test_bare_baseline_app_answers_the_payload() -> None:
    import httpx

    bench = _bench("bench_asset_query")
    app = bench.bare_app({"data": {"asset": {"iri": "x"}}})

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        response = await client.post("/graphql", json={"query": "{ x }"})

    assert response.json() == {"data": {"asset": {"iri": "x"}}}


async def test_nested_query_bench_runs_on_a_tiny_plant(graph_store: object) -> None:
    """Reuses the session engine (the graph_store fixture), so no engine is started."""
    from graphtwin.api.app import AppState, create_app
    from graphtwin.bootstrap import build_services
    from graphtwin.config import load_settings
    from graphtwin.demo.plant import generate_plant

    common = _bench("_common")
    bench = _bench("bench_nested_query")
    settings = load_settings()
    services = build_services(settings, graph_store)  # type: ignore[arg-type]
    await services.twins.repository.load_prefixes()
    await services.twins.import_graph(generate_plant(3))
    app = create_app(settings, AppState(services=services))
    timer = common.StoreTimer(services.twins.repository.store)
    services.twins.repository.store = timer

    result = await bench.measure(app, graph_store, timer, bench.NESTED, runs=1, warmup=0)

    assert result["assets"] == 3
    assert result["round_trips"] > 0


def test_bench_queries_are_valid_graphql() -> None:
    from graphql import parse

    nested = _bench("bench_nested_query")
    asset = _bench("bench_asset_query")

    for query in [*nested.QUERIES.values(), asset.ASSET_QUERY]:
        parse(query)


async def test_history_bench_runs_on_tiny_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole history bench (appends, every aggregate, both baselines) on a few
    thousand points in tmp_path; no timings asserted."""
    bench = _bench("bench_history")
    sizes = {
        "points": 3000,
        "series": 10,
        "per_series": 50,
        "buckets": 30,
        "raw": 100,
        "runs": 1,
        "baseline_runs": 1,
    }

    out = await bench.run(sizes, tmp_path, max_seconds=60)
    bench.report(out)

    assert all(q["agree"] for q in out["queries"].values())
    assert out["queries"]["buckets last"]["rows"] == 30
    assert out["appends"]["interleaved"]["samples"] == 500
    text = capsys.readouterr().out
    assert "bare executemany" in text
    assert "target: 3,000 points -> 30 buckets" in text
