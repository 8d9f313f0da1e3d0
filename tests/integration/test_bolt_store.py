"""BoltGraphStore against the session's real engine (ArcadeDB, or Neo4j when configured)."""

from __future__ import annotations

import time

import pytest
from neo4j.exceptions import Neo4jError

from graphtwin.errors import Conflict, SourceUnavailable
from graphtwin.graph.arcadedb import free_port
from graphtwin.graph.bolt_store import BoltGraphStore
from graphtwin.graph.schema import SCHEMA_STATEMENTS, ensure_schema

pytestmark = pytest.mark.integration

CREATE = "CREATE (r:Resource:acme__Machine {iri: $iri, name: $name}) RETURN r.iri AS iri"


async def _iris(store: BoltGraphStore) -> list[str]:
    records = await store.read("MATCH (r:Resource) RETURN r.iri AS iri ORDER BY iri")
    return [record["iri"] for record in records]


async def test_read_returns_records_as_plain_dicts(graph_store: BoltGraphStore) -> None:
    records = await graph_store.read("UNWIND $xs AS x RETURN x, x * 2 AS y", {"xs": [1, 2]})

    assert records == [{"x": 1, "y": 2}, {"x": 2, "y": 4}]
    assert all(type(record) is dict for record in records)


async def test_write_commits_every_statement_and_returns_their_records(
    graph_store: BoltGraphStore,
) -> None:
    results = await graph_store.write(
        [
            (CREATE, {"iri": "https://acme.example/m1", "name": "M1"}),
            (CREATE, {"iri": "https://acme.example/m2", "name": "M2"}),
        ]
    )

    assert results == [[{"iri": "https://acme.example/m1"}], [{"iri": "https://acme.example/m2"}]]
    assert await _iris(graph_store) == ["https://acme.example/m1", "https://acme.example/m2"]
    machines = await graph_store.read("MATCH (m:acme__Machine) RETURN count(m) AS n")
    assert machines == [{"n": 2}]


async def test_write_rolls_back_everything_when_a_later_statement_conflicts(
    graph_store: BoltGraphStore,
) -> None:
    await graph_store.write([(CREATE, {"iri": "https://acme.example/a", "name": "A"})])

    with pytest.raises(Conflict):
        await graph_store.write(
            [
                (CREATE, {"iri": "https://acme.example/b", "name": "B"}),
                (CREATE, {"iri": "https://acme.example/a", "name": "again"}),
            ]
        )

    assert await _iris(graph_store) == ["https://acme.example/a"]
    names = await graph_store.read("MATCH (r:Resource) RETURN r.name AS name")
    assert names == [{"name": "A"}]


async def test_conflict_inside_one_transaction_writes_nothing(graph_store: BoltGraphStore) -> None:
    with pytest.raises(Conflict) as caught:
        await graph_store.write(
            [
                (CREATE, {"iri": "https://acme.example/x", "name": "X"}),
                (CREATE, {"iri": "https://acme.example/x", "name": "X"}),
            ]
        )

    assert "MATCH" not in caught.value.message and "CREATE" not in caught.value.message
    assert await _iris(graph_store) == []


async def test_round_trips_count_reads_and_each_written_statement(
    graph_store: BoltGraphStore,
) -> None:
    before = graph_store.round_trips

    await graph_store.read("RETURN 1 AS one")
    await graph_store.write(
        [(CREATE, {"iri": f"https://acme.example/r{i}", "name": str(i)}) for i in range(3)]
    )
    await graph_store.write([])
    await graph_store.ping()

    assert graph_store.round_trips - before == 4


async def test_ensure_schema_is_idempotent(graph_store: BoltGraphStore) -> None:
    await ensure_schema(graph_store)
    await ensure_schema(graph_store)

    constraints = await graph_store.read("SHOW CONSTRAINTS")
    assert [c for c in constraints if c["name"] == "resource_iri"]
    assert len(SCHEMA_STATEMENTS) >= 1


async def test_temporal_values_come_back_as_driver_types(graph_store: BoltGraphStore) -> None:
    [record] = await graph_store.read("RETURN datetime('2025-01-02T03:04:05Z') AS t")

    assert record["t"].to_native().isoformat() == "2025-01-02T03:04:05+00:00"


async def test_bad_cypher_is_not_masked_as_an_expected_error(graph_store: BoltGraphStore) -> None:
    with pytest.raises(Neo4jError):
        await graph_store.read("THIS IS NOT CYPHER")


async def test_unreachable_engine_fails_fast_with_source_unavailable() -> None:
    port = free_port()
    store = BoltGraphStore(
        f"bolt://127.0.0.1:{port}", user="root", password="s3cret", connection_timeout=2.0
    )
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable) as caught:
            await store.read("RETURN 1")
        with pytest.raises(SourceUnavailable):
            await store.write([("CREATE (:Resource {iri: 'x'})", {})])
        assert not await store.ping()
        assert time.monotonic() - started < 3.0
        assert caught.value.retryable
        for secret in (str(port), "127.0.0.1", "s3cret", "RETURN"):
            assert secret not in caught.value.message
    finally:
        await store.close()
