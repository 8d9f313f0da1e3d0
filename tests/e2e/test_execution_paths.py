"""The served schema answers over the demo plant what graphql-core's general
execution answers, field for field.

The app runs ``TwinExecutionContext`` (plain records, direct scalars, resolved
plans); the reference is the same schema with strawberry's own execution context,
over the same services and the same engine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphtwin.api.context import TwinContext
from graphtwin.api.loaders import build_loaders
from graphtwin.api.schema import build_schema
from graphtwin.auth.principal import ANONYMOUS_ADMIN
from tests.e2e.conftest import PRESS_LINE, Twin

_PROPERTY = "property name label value datatype language unit { iri symbol label }"

QUERIES = {
    "a walk down every site": (
        "{ sites { iri label labels { value language } types { iri label superClasses { iri } } "
        'isA(classIri: "gt:Site") parent { iri } relationships { predicate name direction '
        "assetIri } parts { iri label references { predicate name iri } parts { iri label "
        'parts { __typename iri label(language: "en") properties { ' + _PROPERTY + " } "
        'propertyMap property(name: "gt:manufacturer") { value } values { name } '
        'bindings { iri kind } parts { iri properties(names: ["gt:ratedPower"]) { name value } '
        "parts { iri label } } } } } } }"
    ),
    "a page of machines and their neighbours": (
        '{ assets(type: "gt:Machine", first: 7) { edges { cursor node { iri label '
        "components(depth: 2) { iri } downstream { iri } upstream { iri } parent { iri "
        "parent { iri label } } } } pageInfo { hasNextPage endCursor } nodes { iri types "
        "{ iri } } } }"
    ),
    "aliases, fragments and directives": (
        "query($yes: Boolean!, $no: Boolean!, $iri: String!) { asset(iri: $iri) { ...A "
        "kids: parts { ...A label @include(if: $yes) iri @skip(if: $yes) more: parts "
        "@include(if: $no) { iri } } } } fragment A on Asset { iri label properties { name "
        "value } }"
    ),
    "an unknown asset": '{ asset(iri: "https://acme.example/nothing") { iri parts { iri } } }',
}


def _general_schema(twin: Twin) -> Any:
    settings = twin.settings
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_tokens=settings.max_query_tokens,
    )
    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    return schema


@pytest.mark.parametrize("view_cache", [True, False], ids=["view cache", "no view cache"])
@pytest.mark.parametrize("query", list(QUERIES.values()), ids=list(QUERIES))
async def test_the_served_schema_answers_what_general_execution_answers(
    demo_twin: Twin, query: str, view_cache: bool
) -> None:
    # Without the view cache (Neo4j's default) parts and assets are loaded, so a
    # plan hands every level's awaitable to graphql-core.
    repository = demo_twin.services.twins.repository
    kept = repository.view_cache
    if not view_cache:
        repository.view_cache = None
    try:
        await _compare(demo_twin, query)
    finally:
        repository.view_cache = kept


async def _compare(demo_twin: Twin, query: str) -> None:
    variables = {"yes": True, "no": False, "iri": PRESS_LINE}
    context = TwinContext(
        principal=ANONYMOUS_ADMIN,
        services=demo_twin.services,
        loaders=build_loaders(demo_twin.services.twins.queries, demo_twin.services.aas),
        request=None,
        response=None,
    )
    expected = await _general_schema(demo_twin).execute(
        query, variable_values=variables, context_value=context
    )
    assert expected.errors is None, expected.errors
    # Twice: the second answer comes from the view cache and kept completions.
    for _ in range(2):
        response = await demo_twin.post(query, variables)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert "errors" not in payload, payload["errors"]
        assert payload["data"] == json.loads(json.dumps(expected.data))
