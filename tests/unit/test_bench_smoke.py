"""Smoke tests of bench/: the modules import, their helpers and table formatter work,
and the nested-query bench runs on a tiny plant against the session engine (no
engine of its own). No timings are asserted."""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
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
    [
        "_common",
        "bench_import",
        "bench_asset_query",
        "bench_nested_query",
        "bench_history",
        "bench_mqtt_ingest",
        "bench_opcua_items",
        "bench_simulation",
    ],
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


# -- bench_mqtt_ingest / bench_opcua_items ------------------------------------------------

_MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
needs_mosquitto = pytest.mark.skipif(
    not Path(_MOSQUITTO).exists(), reason="mosquitto is not installed"
)


def test_mqtt_bench_builds_qos1_publish_packets() -> None:
    bench = _bench("bench_mqtt_ingest")
    body = bench.payload("2026-11-22T10:00:00+00:00", [("value", "1.25")])
    record = bench.payload(
        "2026-11-22T10:00:00+00:00", [("temperature", "1.25"), ("goodCount", "7")]
    )

    packet = bench.publish_packet(bench._string("a/b"), 7, body)

    assert packet[0] == 0x32  # PUBLISH, QoS 1
    assert packet[1] == len(packet) - 2  # remaining length, one byte here
    assert packet[2:7] == b"\x00\x03a/b"
    assert packet[7:9] == b"\x00\x07"  # packet id
    assert json.loads(packet[9:]) == {"value": 1.25, "ts": "2026-11-22T10:00:00+00:00"}
    assert json.loads(record) == {
        "ts": "2026-11-22T10:00:00+00:00",
        "temperature": 1.25,
        "goodCount": 7,
    }
    assert [bench._varint(n) for n in (0, 127, 128, 16_384)] == [
        b"\x00",
        b"\x7f",
        b"\x80\x01",
        b"\x80\x80\x01",
    ]


def _mqtt_step(rate: int, took: float, drain: float | None) -> dict[str, object]:
    step: dict[str, object] = {
        "offered": rate,
        "published_per_s": float(rate),
        "cache_per_s": took,
        "durable_per_s": took,
        "backlog_at_stop": 10,
        "backlog_slope_per_s": 0.0,
        "cache_drain_s": drain,
        "durable_drain_s": drain,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "durable_p50_ms": 3.0,
        "durable_p99_ms": 4.0,
        "cpu": {"bench process": 0.5, "broker": 0.1, "publisher": 0.1},
    }
    step["sustained"] = _bench("bench_mqtt_ingest").sustained(step)
    return step


def test_mqtt_bench_sustained_verdict_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench("bench_mqtt_ingest")
    gt = [_mqtt_step(1000, 990.0, 0.1), _mqtt_step(2000, 1500.0, 3.0)]
    bare = [_mqtt_step(1000, 1000.0, 0.0), _mqtt_step(2000, 1990.0, 0.2)]
    bare += [{"offered": 4000, "skipped": "time cap"}]

    verdict = bench.verdict(gt, bare, (1000, 2000, 4000))
    out = {
        "config": {
            "topics": 2,
            "machines": 2,
            "values_per_message": 2,
            "seconds": 1.0,
            "rates": [1000, 2000, 4000],
        },
        "graphtwin": {"engine": "test", "steps": gt},
        "bare": {"steps": bare},
        "verdict": verdict,
    }
    bench.report(out)
    bench.summarize([out])

    assert [s["sustained"] for s in gt] == [True, False]
    assert verdict["graphtwin_sustained"] == 1000
    assert verdict["bare_sustained"] == 2000
    assert verdict["sustained_ratio"] == 0.5
    assert verdict["peak_ratio"] == 1500.0 / 1990.0
    text = capsys.readouterr().out
    assert "bare paho: skipped 4,000/s (time cap)" in text
    assert "ratio graphtwin/bare, highest sustained: 0.50" in text
    assert "| 2,000/s          |          1,000 |" in text  # values/s, messages/s
    assert (
        "N=2: graphtwin 1,000 values/s (500 msgs/s), bare paho 2,000 values/s (1,000 msgs/s); "
        "ratio 0.50, an upper bound (target >= 0.5: meets); graphtwin >= 20,000 values/s: misses"
    ) in text


@needs_mosquitto
@pytest.mark.parametrize("per_message", [1, 2])
async def test_mqtt_bench_runs_a_tiny_step(
    graph_store: object, test_settings: object, tmp_path: Path, per_message: int
) -> None:
    """Publisher process, Mosquitto, graphtwin on the session engine and the bare
    subscriber, one 200 values/s step of 1 s each, with one value a message (a topic
    per property) and with two (one JSON object per machine, two bindings on its
    topic); no timings asserted."""
    from graphtwin.bootstrap import build_services

    bench = _bench("bench_mqtt_ingest")
    common = _bench("_common")
    plant = bench.make_plant(2, per_message)
    cfg = {"rates": (200,), "seconds": 1.0, "drain": 5.0, "warm": 0.0}
    publisher = bench.Publisher(plant.topics, plant.fields)
    try:
        with bench.Broker(tmp_path / "broker-graphtwin") as broker:
            settings = test_settings.with_overrides(  # type: ignore[attr-defined]
                data_dir=tmp_path / "data",
                mqtt_url=broker.url,
                mqtt_client_id=f"bench-smoke-{per_message}",
            )
            services = build_services(settings, graph_store)  # type: ignore[arg-type]
            await services.twins.repository.load_prefixes()
            gt = await bench.measure_graphtwin(
                services, settings, plant, broker, publisher, cfg, common.Deadline(60)
            )
        with bench.Broker(tmp_path / "broker-bare") as broker:
            bare = await bench.bare_phase(plant, broker, publisher, cfg, common.Deadline(30))
    finally:
        publisher.stop()

    # 16 topics x 1 value, or 2 topics (one per machine) x 2 values
    assert len(plant.topics) == (16 if per_message == 1 else 2)
    assert gt["bindings"] == plant.values == (16 if per_message == 1 else 4)
    (step,) = gt["steps"]
    assert (step["sent"], step["messages"]) == (200, 200 // per_message)  # values, messages
    assert step["cached_total"] == 200
    assert gt["refused"] == 0
    # warm-up (every topic once) + the step
    assert gt["history"]["written"] == plant.values + 200
    (bare_step,) = bare["steps"]
    assert bare_step["cached_total"] == bare_step["sent"] == 200


def test_opcua_bench_matches_notifications_to_ticks() -> None:
    bench = _bench("bench_opcua_items")
    ticks = [bench.Tick(100.0 + i, 10, 0.1) for i in range(25)]
    received = bench.Received()
    received.add(50.0, 0.1)  # a value from before the window (the initial read)
    for i in range(25):
        for _ in range(7 if i == 3 else 10):
            received.add(100.0 + i + 0.0001, 0.5 + 0.01 * i)

    rows = bench.match_ticks(ticks, received, 100.0, 120.0)
    summary = bench.summarize(rows)
    windows = bench.windows(rows)

    assert len(rows) == 20
    assert (summary["expected"], summary["received"]) == (200, 197)
    assert summary["worst_tick_share"] == 0.7
    assert summary["first_p50_ms"] < summary["last_p50_ms"]
    assert [w["ticks"] for w in windows] == [10, 10]


async def test_opcua_bench_runs_on_a_tiny_plant(
    graph_store: object, test_settings: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo server in its own process, graphtwin on the session engine (SHACL on),
    then the bare asyncua client, 16 items for a 2 s window each; no timings asserted."""
    from graphtwin.bootstrap import build_services
    from graphtwin.demo.opcua_server import demo_machines
    from graphtwin.demo.plant import generate_plant

    bench = _bench("bench_opcua_items")
    common = _bench("_common")
    cfg = {"machines": 2, "seconds": 2.0, "settle": 0.5, "grace": 1.0, "shacl": True}
    server = bench.ServerProcess(2, tick=1.0)
    try:
        plants = [generate_plant(2)]
        machines = demo_machines(plants[0])
        settings = test_settings.with_overrides(data_dir=tmp_path / "data")  # type: ignore[attr-defined]
        services = build_services(settings, graph_store)  # type: ignore[arg-type]
        await services.twins.repository.load_prefixes()
        gt = await bench.measure_graphtwin(
            services, settings, plants, machines, server, cfg, common.Deadline(60)
        )
        bare = await bench.bare_phase(machines, server, cfg)
    finally:
        await asyncio.to_thread(server.stop)
    bench.report({"config": {**cfg, "items": 16}, "graphtwin": gt, "bare": bare})

    assert gt["bindings"] == gt["monitored"] == bare["monitored"] == 16
    assert gt["summary"]["ticks"] >= 1
    assert gt["summary"]["received"] > 0
    assert bare["summary"]["received"] > 0
    assert "16 monitored items" in capsys.readouterr().out


async def test_aas_api_bench_measures_both_apps_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The AAS API bench's in-memory app (50-element submodel, live overlay) and its
    bare baseline, driven in-process for a few requests each; no timings asserted.
    (Its graph-backed server is the same app over AasService, as the AAS API tests run.)"""
    from types import SimpleNamespace

    import httpx

    bench = _bench("bench_aas_api")
    results = []
    payloads: dict[str, object] = {}
    for kind in ("memory", "bare"):
        app = bench.memory_app(tmp_path) if kind == "memory" else bench.bare_app(payloads)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for endpoint in bench.ENDPOINTS:
                url = bench.submodel_url(endpoint) if kind == "memory" else f"/{endpoint}"
                if kind == "memory":
                    payloads[endpoint] = (await client.get(url)).json()
                result = await bench.drive(client, url, 2, 6, 10.0, 2)
                result.update(server=kind, endpoint=endpoint, clients=2)
                nan = float("nan")
                result.update(server_cpu_ms=nan, engine_cpu_ms=nan, client_cpu_ms=nan)
                results.append(result)
    out = {"elements": 50, "bytes": {"submodel": 1, "$value": 1}, "results": results}
    bench.report(out, SimpleNamespace(requests=6, seconds=10.0, warmup=2))

    submodel = payloads["submodel"]
    assert isinstance(submodel, dict) and len(submodel["submodelElements"]) == 50
    live = payloads["$value"]
    assert isinstance(live, dict) and live["Bound0"] == 100.0  # the live cache's value
    assert all(r["requests"] == 6 and r["errors"] == 0 for r in results)
    assert "memory / bare" in capsys.readouterr().out


async def test_aas_import_bench_runs_on_a_tiny_package(
    graph_store: object, test_settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench_aas_import on 5 shells x 6 elements against the session engine (no engine
    of its own): baseline, import phases, read-back and the report; no timings asserted."""
    from graphtwin.bootstrap import build_services

    common = _bench("_common")
    bench = _bench("bench_aas_import")
    services = build_services(test_settings, graph_store)  # type: ignore[arg-type]
    await services.twins.repository.load_prefixes()
    data = bench.build_package(5, 6)
    watch = common.Stopwatch()

    identifiables = bench.baseline(data, watch)
    counts = await bench.measure(services, data, watch)
    bench.report(
        {
            "shells": 5,
            "elements": 6,
            "aasx_bytes": len(data),
            "identifiables": identifiables,
            "engine": "session engine",
            **counts,
            "phases": dict(watch.totals),
        }
    )

    assert identifiables == 11  # 5 shells, 5 submodels, 1 concept description
    assert counts["shells"] == 5 and counts["submodels"] == 5 and counts["read_back"]
    text = capsys.readouterr().out
    assert "baseline: basyx parse alone" in text
    assert "target: 5 shells <= 30 s: meets" in text
