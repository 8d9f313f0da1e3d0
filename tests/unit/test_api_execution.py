"""The fast paths answer exactly what graphql-core's general path does.

Each query runs twice over the same schema: once with graphql-core's completion
(strawberry's own execution context) and once with ``TwinExecutionContext``; data
and errors (messages and paths) must be equal. ``Reading`` and ``Unit`` are plain
records; ``Machine`` has resolvers, so it is completed by a resolved plan.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphtwin.api.completion import SharedRecords
from graphtwin.api.execution import TwinExecutionContext


@strawberry.enum
class State(enum.Enum):
    RUNNING = "running"
    IDLE = "idle"


@strawberry.type
class Unit:
    symbol: str | None
    iri: str


@strawberry.type
class Reading:
    name: str
    value: str | None
    count: int
    ratio: float
    state: State
    unit: Unit | None
    tags: list[str]
    grid: list[list[int]]


@strawberry.type
class Machine:
    iri: str

    # Plain methods returning scalars: resolved directly.
    @strawberry.field
    def code(self) -> str:
        return self.iri.upper()

    @strawberry.field
    def label(self, language: str | None = None) -> str | None:
        return f"{self.iri}@{language}" if language else self.iri

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError(f"no reading from {self.iri}")

    @strawberry.field
    def missing(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    def state(self) -> State:
        return State.IDLE

    @strawberry.field
    def readings(self) -> list[Reading]:
        return _READINGS[self.iri]

    @strawberry.field
    def reading_tuple(self) -> list[Reading]:
        return tuple(_READINGS[self.iri])  # type: ignore[return-value]

    @strawberry.field
    def reading_stream(self) -> list[Reading]:
        # A generator: completed by graphql-core (it could only be walked once).
        return (r for r in _READINGS[self.iri])  # type: ignore[return-value]

    @strawberry.field
    def shared(self) -> list[Reading]:
        return _SHARED[self.iri]

    @strawberry.field
    def first(self) -> Reading:
        return _READINGS[self.iri][0]

    @strawberry.field
    async def later(self) -> list[Reading]:
        return _READINGS[self.iri]

    @strawberry.field
    def broken(self) -> list[Reading]:
        # A null where the schema says String! and a count that is no Int.
        return [_reading(None, None), _reading("n", "1", count="x")]

    # Resolvers of a resolved plan: info, nesting, awaitables, errors.
    @strawberry.field
    def children(self, info: strawberry.Info) -> list[Machine]:
        return _children_of(self.iri)

    @strawberry.field
    def waiting_children(self, info: strawberry.Info) -> list[Machine]:
        # A sync resolver handing back a coroutine, as Asset.parts on a cache miss.
        async def load() -> list[Machine]:
            return _children_of(self.iri)

        return load()  # type: ignore[return-value]

    @strawberry.field
    def some_awaited(self) -> list[Machine]:
        async def late() -> Machine:
            return Machine(iri=f"{self.iri}.late")

        return [Machine(iri=f"{self.iri}.now"), late()]  # type: ignore[list-item]

    @strawberry.field
    def path(self, info: strawberry.Info) -> str:
        return "/".join(str(key) for key in info.path.as_list())

    @strawberry.field
    def strict(self) -> str:
        return _strict_of(self.iri)

    @strawberry.field
    async def strict_later(self) -> str:
        return _strict_of(self.iri)

    @strawberry.field
    def optional_child(self) -> Machine | None:
        return Machine(iri=f"{self.iri}.1")

    @strawberry.field
    def count(self, info: strawberry.Info, step: int = 2) -> int:
        return len(self.iri) * step


def _children_of(iri: str) -> list[Machine]:
    return [Machine(iri=f"{iri}.{i}") for i in range(2)] if iri.count(".") < 2 else []


def _strict_of(iri: str) -> str:
    if iri.endswith(".1"):
        raise ValueError(f"{iri} has no strict value")
    return iri


def _reading(name: Any, value: str | None, count: Any = 3) -> Reading:
    reading = Reading(
        name=name,
        value=value,
        count=count,
        ratio=0.5,
        state=State.RUNNING,
        unit=Unit(symbol="°C", iri="http://qudt.org/vocab/unit/DEG_C") if value else None,
        tags=["a", "b"],
        grid=[[1, 2], [3]],
    )
    return reading


_READINGS = {
    "m1": [_reading("temperature", "21.5"), _reading("state", None)],
    "m2": [],
}
_SHARED = {iri: SharedRecords(readings) for iri, readings in _READINGS.items()}


@strawberry.type
class Query:
    @strawberry.field
    def machines(self) -> list[Machine]:
        return [Machine(iri="m1"), Machine(iri="m2")]

    @strawberry.field
    def machine(self) -> Machine:
        return Machine(iri="m1")


def _schema(context_class: type) -> strawberry.Schema:
    # The parser cache as in graphtwin's schema: one query text, the same nodes.
    return strawberry.Schema(
        query=Query, execution_context_class=context_class, extensions=[ParserCache]
    )


@pytest.fixture(scope="module")
def schemas() -> Iterator[tuple[strawberry.Schema, strawberry.Schema]]:
    yield _schema(StrawberryGraphQLCoreExecutionContext), _schema(TwinExecutionContext)


_ALL = "name value count ratio state unit { symbol iri __typename } tags grid __typename"

QUERIES = {
    "every field": "{ machines { iri readings { " + _ALL + " } } }",
    "aliases": "{ machines { readings { n: name v: value u: unit { s: symbol } n2: name } } }",
    "fragments": (
        "{ machines { readings { ...R ... on Reading { count } } } } "
        "fragment R on Reading { name unit { ...U } } fragment U on Unit { symbol }"
    ),
    "same field twice, merged": "{ machines { readings { unit { symbol } unit { iri } } } }",
    "include and skip": (
        "query($yes: Boolean!, $no: Boolean!) { machines { readings "
        "{ name @include(if: $yes) value @include(if: $no) count @skip(if: $yes) } } }"
    ),
    "a tuple": "{ machines { readingTuple { name tags } } }",
    "a generator": "{ machines { readingStream { name value } } }",
    "a single object": "{ machines { first { name unit { symbol } } } }",
    "async resolver": "{ machines { later { name grid } } }",
    "errors: null for String!, Int from a string": "{ machines { broken { name count } } }",
    "errors beside good data": "{ machines { iri readings { name } broken { name value } } }",
    "shared records": "{ machines { shared { name unit { symbol } } } }",
    "plain methods": '{ machines { iri code label de: label(language: "de") state } }',
    "a plain method that raises": "{ machines { code fails } }",
    "a plain method returning null for String!": "{ machines { iri missing } }",
    "resolvers taking info, nested": (
        "{ machines { iri path children { iri path count children { iri code path } } } }"
    ),
    "a sync resolver returning a coroutine": (
        "{ machines { waitingChildren { iri path code children { iri path } } } }"
    ),
    "awaitable list items": "{ machines { someAwaited { iri path children { path } } } }",
    "a non-null error nulls the nearest nullable field": (
        "{ machines { iri optionalChild { iri strict } } }"
    ),
    "a non-null error nulls everything up to the root": "{ machines { children { strict } } }",
    "an awaited non-null error": "{ machines { optionalChild { iri strictLater } } }",
    "an awaited non-null error in a list": (
        "{ machines { iri someAwaited { children { strictLater } } } }"
    ),
    "a nullable error beside a non-null one": (
        "{ machines { optionalChild { fails strict } children { fails } } }"
    ),
    "arguments, aliases and typenames on a resolved type": (
        '{ machines { children { __typename label de: label(language: "de") '
        "c: count c3: count(step: 3) readings { name } shared { name } } } }"
    ),
    "fragments and directives on a resolved type": (
        "query($yes: Boolean!, $no: Boolean!) { machines { ...M children { ...M "
        "path @include(if: $yes) strict @skip(if: $yes) iri @include(if: $no) } } } "
        "fragment M on Machine { iri code }"
    ),
}


@pytest.mark.parametrize("query", list(QUERIES.values()), ids=list(QUERIES))
async def test_the_fast_path_answers_what_graphql_core_answers(
    schemas: tuple[strawberry.Schema, strawberry.Schema], query: str
) -> None:
    general, fast = schemas
    variables = {"yes": True, "no": False}
    expected = await general.execute(query, variable_values=variables)
    got = await fast.execute(query, variable_values=variables)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or ()] == [
        (e.message, e.path) for e in expected.errors or ()
    ]


async def test_a_null_in_a_non_null_field_is_the_general_paths_error(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
) -> None:
    # The broken reading's errors come from graphql-core, not the fast path.
    _, fast = schemas
    result = await fast.execute("{ machines { broken { name } } }")
    assert result.errors
    assert result.errors[0].path == ["machines", 0, "broken", 0, "name"]
    assert "Cannot return null for non-nullable field Reading.name" in result.errors[0].message


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []
    build = TwinExecutionContext._build_plan

    def spy(self: TwinExecutionContext, return_type: Any, details: Any) -> Any:
        built.append(return_type.name)
        return build(self, return_type, details)

    monkeypatch.setattr(TwinExecutionContext, "_build_plan", spy)
    return built


def test_requests_of_one_query_text_share_its_plans(
    schemas: tuple[strawberry.Schema, strawberry.Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, fast = schemas
    built = _count_builds(monkeypatch)
    query = "{ machines { readings { name count unit { iri } } } }"
    first = fast.execute_sync(query)
    after_first = len(built)
    second = fast.execute_sync(query)
    assert first.data == second.data
    assert after_first > 0
    assert len(built) == after_first


def test_plans_of_a_query_with_directives_follow_its_variables(
    schemas: tuple[strawberry.Schema, strawberry.Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    # @include with a variable: what a selection collects changes per request, so
    # its plans are built per request, never shared.
    _, fast = schemas
    built = _count_builds(monkeypatch)
    query = "query($v: Boolean!) { machines { readings { name value @include(if: $v) } } }"
    shown = fast.execute_sync(query, variable_values={"v": True})
    hidden = fast.execute_sync(query, variable_values={"v": False})
    assert shown.data is not None and hidden.data is not None
    assert shown.data["machines"][0]["readings"][0] == {"name": "temperature", "value": "21.5"}
    assert hidden.data["machines"][0]["readings"][0] == {"name": "temperature"}
    assert built.count("Reading") == 2


def _count_resolved_plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    planned: list[str] = []
    build = TwinExecutionContext._build_resolved_plan

    def spy(self: TwinExecutionContext, return_type: Any, details: Any) -> Any:
        plan = build(self, return_type, details)
        if plan is not None:
            planned.append(return_type.name)
        return plan

    monkeypatch.setattr(TwinExecutionContext, "_build_resolved_plan", spy)
    return planned


def test_objects_with_resolvers_take_resolved_plans(
    schemas: tuple[strawberry.Schema, strawberry.Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = _count_resolved_plans(monkeypatch)
    _, fast = schemas
    result = fast.execute_sync("{ machines { code children { code children { code } } } }")
    assert result.errors is None
    # One plan per selection: the machines, their children, the grandchildren.
    # (A selection of attributes only, such as "{ iri }", is a plain record.)
    assert planned == ["Machine", "Machine", "Machine"]


def test_a_selection_completed_once_builds_no_plan(
    schemas: tuple[strawberry.Schema, strawberry.Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One asset (asset(iri)): building a plan would cost more than it saves.
    planned = _count_resolved_plans(monkeypatch)
    general, fast = schemas
    query = "{ machine { code path children { code path } } }"
    result = fast.execute_sync(query)
    assert result.errors is None
    assert result.data == general.execute_sync(query).data
    # The machine's two children repeat their selection: the second gets a plan.
    assert planned == ["Machine"]


def test_mutation_results_are_not_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    # A mutation's fields run in order through graphql-core; its result objects
    # keep the general path (a resolved plan may call a resolver twice only for
    # reads, and none does, but a mutation is not the place to find out).
    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def touch(self) -> Machine:
            return Machine(iri="m1")

    schema = strawberry.Schema(
        query=Query, mutation=Mutation, execution_context_class=TwinExecutionContext
    )
    planned = _count_resolved_plans(monkeypatch)
    result = schema.execute_sync("mutation { touch { iri children { iri } } }")
    assert result.errors is None
    assert result.data == {"touch": {"iri": "m1", "children": [{"iri": "m1.0"}, {"iri": "m1.1"}]}}
    assert planned == []


def test_plain_records_take_the_fast_path(
    schemas: tuple[strawberry.Schema, strawberry.Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading and Unit are plain; Machine (resolvers) is not.
    planned: dict[str, bool] = {}
    build = TwinExecutionContext._build_plan

    def spy(self: TwinExecutionContext, return_type: Any, details: Any) -> Any:
        plan = build(self, return_type, details)
        planned[return_type.name] = plan is not None
        return plan

    monkeypatch.setattr(TwinExecutionContext, "_build_plan", spy)
    _, fast = schemas
    result = fast.execute_sync("{ machines { readings { name unit { symbol } } } }")
    assert result.errors is None
    assert planned == {"Machine": False, "Reading": True, "Unit": True}


def test_shared_records_keep_their_completed_form_per_selection(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
) -> None:
    general, fast = schemas
    kept = len(_SHARED["m1"].completed)
    for query in (
        "{ machines { shared { name count } } }",
        "{ machines { shared { value state unit { iri } } } }",
    ):
        expected = general.execute_sync(query)
        assert fast.execute_sync(query).data == expected.data
        # Again, now from what the list kept.
        assert fast.execute_sync(query).data == expected.data
    assert len(_SHARED["m1"].completed) == kept + 2
