"""Bad input of every kind, over HTTP: each case gets a clear, typed answer and
writes nothing (the stored graph is compared before and after)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from graphtwin.config import Settings
from graphtwin.graph.engine import GraphEngine

from .conftest import (
    GT,
    LAB,
    LAB_B10,
    LAB_LINE,
    LAB_OP10,
    LAB_PRESS,
    XSD,
    Twin,
    graph_state,
    serve,
)

pytestmark = pytest.mark.e2e

PREFIXES = f"""@prefix gt: <{GT}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <{XSD}> .
"""
IMPORT = """
mutation($document: String!, $format: String! = "turtle", $replace: Boolean! = false) {
    importRdf(document: $document, format: $format, replace: $replace) {
        __typename
        ... on WriteSummary { created updated }
        ... on UserError { message code path }
    }
}"""
SET = """
mutation($iri: String!, $property: String!, $value: String!) {
    setProperty(iri: $iri, property: $property, value: $value) {
        __typename
        ... on WriteSummary { updated }
        ... on UserError { message code path }
    }
}"""
NEW_STATION = f"{LAB_LINE}/stations/op30"
# A valid document: used to show that only the bad part of a document is to blame.
VALID_STATION = f'<{NEW_STATION}> a gt:Station ; rdfs:label "OP30" ; gt:partOf <{LAB_LINE}> .\n'


@pytest.fixture
async def twin(shared_lab_twin: Twin) -> AsyncIterator[Twin]:
    """The module's small plant; after each test, it must be exactly as before."""
    before = await graph_state(shared_lab_twin.store)
    yield shared_lab_twin
    assert await graph_state(shared_lab_twin.store) == before, "a refused request wrote"


async def refused(
    twin: Twin, mutation: str, variables: dict[str, Any], code: str = "BAD_INPUT"
) -> dict[str, Any]:
    result = await twin.mutate(mutation, variables)
    assert result["__typename"] == "BadInputError", result
    assert result["code"] == code
    assert isinstance(result["path"], list)
    return result


async def refused_import(twin: Twin, document: str, fmt: str = "turtle") -> str:
    """The message of an import that must be refused as bad input."""
    result = await refused(twin, IMPORT, {"document": document, "format": fmt})
    message: str = result["message"]
    return message


def assert_no_internals(text: str) -> None:
    for leak in ("Traceback", 'File "', "graphtwin/", "MATCH ", "bolt://"):
        assert leak not in text


# --- documents ---------------------------------------------------------------------------
async def test_malformed_turtle_is_refused_with_the_parsers_reason(twin: Twin) -> None:
    document = PREFIXES + VALID_STATION + f'<{LAB}/x> a gt:Area ; rdfs:label "unterminated .\n'

    message = await refused_import(twin, document)

    assert message.startswith("malformed turtle document: ")
    assert "line" in message
    assert_no_internals(message)


async def test_malformed_json_ld_is_refused(twin: Twin) -> None:
    document = '{"@id": "https://acme.example/sites/lab/x", "@type": '

    message = await refused_import(twin, document, "json-ld")

    assert message.startswith("malformed json-ld document: ")


async def test_json_ld_that_is_not_rdf_is_refused(twin: Twin) -> None:
    # Well-formed JSON without any JSON-LD in it: no triples to import.
    message = await refused_import(twin, '{"name": "press", "power": 5}', "json-ld")

    assert message == "the document holds no triples"


@pytest.mark.parametrize(
    "context",
    [
        "https://schema.org/",
        ["https://w3id.org/graphtwin/context.jsonld", {"gt": GT}],
    ],
    ids=["string", "list"],
)
async def test_json_ld_with_a_remote_context_is_refused_without_fetching_it(
    twin: Twin, context: object
) -> None:
    document = json.dumps(
        {"@context": context, "@id": f"{LAB}/areas/x", "@type": "gt:Area", "name": "X"}
    )

    message = await refused_import(twin, document, "json-ld")

    assert "remote @context" in message


async def test_json_ld_with_a_remote_context_nested_in_the_graph_is_refused(twin: Twin) -> None:
    document = json.dumps(
        {
            "@context": {"gt": GT},
            "@graph": [
                {"@id": NEW_STATION, "@type": "gt:Station"},
                {"@context": "https://schema.org/", "@id": f"{LAB}/areas/x", "name": "X"},
            ],
        }
    )

    message = await refused_import(twin, document, "json-ld")

    assert "remote @context" in message


async def test_unknown_prefix_in_a_document_is_refused(twin: Twin) -> None:
    document = PREFIXES + VALID_STATION + f"<{LAB}/areas/x> a acme:Area .\n"

    message = await refused_import(twin, document)

    assert message.startswith("malformed turtle document: ")
    assert "acme" in message


async def test_unknown_prefix_in_an_argument_is_refused(twin: Twin) -> None:
    result = await refused(
        twin, SET, {"iri": LAB_PRESS, "property": "acme:temperature", "value": "20"}
    )

    assert "unknown property 'acme:temperature'" in result["message"]


async def test_unsupported_format_is_refused(twin: Twin) -> None:
    message = await refused_import(twin, PREFIXES + VALID_STATION, "rdf/xml")

    assert message == "unsupported RDF format 'rdf/xml': use turtle, json-ld or n-triples"


async def test_empty_document_is_refused(twin: Twin) -> None:
    message = await refused_import(twin, PREFIXES)

    assert message == "the document holds no triples"


@pytest.mark.parametrize(
    ("statement", "lexical"),
    [
        (f'<{LAB_B10}> gt:capacity "x"^^xsd:integer .', "x"),
        (f'<{LAB_PRESS}> gt:idealCycleTime "fast"^^xsd:decimal .', "fast"),
        (f'<{LAB_PRESS}> gt:commissioningDate "2021-13-45"^^xsd:date .', "2021-13-45"),
    ],
    ids=["integer", "decimal", "date"],
)
async def test_wrong_datatype_in_a_document_is_refused(
    twin: Twin, statement: str, lexical: str
) -> None:
    message = await refused_import(twin, PREFIXES + VALID_STATION + statement)

    assert f"literal {lexical!r} is not a valid" in message


async def test_wrong_datatype_in_an_argument_is_refused(twin: Twin) -> None:
    result = await refused(twin, SET, {"iri": LAB_B10, "property": "gt:capacity", "value": "x"})

    assert result["message"] == f"'x' is not a valid {XSD}integer for gt:capacity"
    assert result["path"] == ["value"]


@pytest.mark.parametrize(
    "subject",
    ["https://evil.example/sites/lab", "http://acme.example/sites/lab/x", "urn:uuid:1234"],
    ids=["other-host", "other-scheme", "urn"],
)
async def test_iris_outside_the_allowed_namespaces_are_refused(twin: Twin, subject: str) -> None:
    document = PREFIXES + VALID_STATION + f'<{subject}> a gt:Site ; rdfs:label "Elsewhere" .'

    message = await refused_import(twin, document)

    assert f"<{subject}> is outside the allowed namespaces" in message


async def test_dangling_reference_in_a_document_is_refused(twin: Twin) -> None:
    ghost_line = f"{LAB}/lines/ghost"
    station = f"{LAB_LINE}/stations/op40"
    document = PREFIXES + VALID_STATION + f"<{station}> a gt:Station ; gt:partOf <{ghost_line}> ."

    message = await refused_import(twin, document)

    assert message.startswith("dangling reference: ")
    assert f"<{ghost_line}>" in message


async def test_unknown_class_in_a_document_is_refused(twin: Twin) -> None:
    document = PREFIXES + VALID_STATION + f"<{LAB_OP10}/gizmo> a gt:Gizmo ."

    message = await refused_import(twin, document)

    assert f"unknown class <{GT}Gizmo>" in message


# --- size limits ---------------------------------------------------------------------------
def big_document(size: int) -> str:
    """A valid Turtle document of at least ``size`` bytes (a long comment)."""
    return PREFIXES + VALID_STATION + "# " + "x" * size + "\n"


@pytest.fixture
def small_limit(e2e_settings: Settings) -> Settings:
    return dataclasses.replace(e2e_settings, max_upload_bytes=2048)


async def test_http_body_over_the_limit_is_413_with_a_json_error(
    twin: Twin, graph_engine: GraphEngine, small_limit: Settings
) -> None:
    async with serve(graph_engine, small_limit) as limited:
        response = await limited.post(IMPORT, {"document": big_document(4096)})

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [
            {
                "message": "request body over 2048 bytes",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }


async def test_streamed_http_body_over_the_limit_is_413(
    twin: Twin, graph_engine: GraphEngine, small_limit: Settings
) -> None:
    # Chunked: no Content-Length to refuse by, so the limit must count the bytes.
    body = json.dumps({"query": IMPORT, "variables": {"document": big_document(4096)}}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    async with serve(graph_engine, small_limit) as limited:
        response = await limited.client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


async def test_http_body_under_the_limit_is_served(
    twin: Twin, graph_engine: GraphEngine, small_limit: Settings
) -> None:
    async with serve(graph_engine, small_limit) as limited:
        data = await limited.query("{ sites { iri } }")

    assert data == {"sites": [{"iri": LAB}]}


async def test_import_document_over_the_upload_limit_is_payload_too_large(
    twin: Twin, graph_engine: GraphEngine, e2e_settings: Settings
) -> None:
    # The services' limit alone (the HTTP edge keeps the default, larger one).
    services_settings = dataclasses.replace(e2e_settings, max_upload_bytes=512)
    document = big_document(1024)

    async with serve(graph_engine, services_settings, app_settings=e2e_settings) as limited:
        result = await refused(limited, IMPORT, {"document": document}, "PAYLOAD_TOO_LARGE")

    size = len(document.encode())
    assert result["message"] == (f"document of {size} bytes is larger than the limit of 512 bytes")


# --- invalid GraphQL -------------------------------------------------------------------------
async def test_graphql_syntax_error(twin: Twin) -> None:
    response = await twin.post("{ sites { iri ")

    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None
    (error,) = payload["errors"]
    assert error["message"] == "Syntax Error: Expected Name, found <EOF>."
    assert error["locations"] == [{"line": 1, "column": 15}]
    assert_no_internals(response.text)


async def test_graphql_unknown_field(twin: Twin) -> None:
    response = await twin.post("{ sites { iri serial } }")

    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None
    (error,) = payload["errors"]
    assert error["message"] == "Cannot query field 'serial' on type 'Asset'."
    assert_no_internals(response.text)


async def test_graphql_argument_of_the_wrong_type(twin: Twin) -> None:
    response = await twin.post('{ assets(first: "ten") { nodes { iri } } }')

    payload = response.json()
    assert payload["data"] is None
    assert "Int cannot represent non-integer value" in payload["errors"][0]["message"]


async def test_mutation_with_a_missing_argument_writes_nothing(twin: Twin) -> None:
    response = await twin.post('mutation { createAsset(type: "gt:Station") { __typename } }')

    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"][0]["message"] == (
        "Argument 'Mutation.createAsset(iri:)' of type 'String!' is required, but it was not "
        "provided."
    )


async def test_request_body_that_is_not_json_is_400(twin: Twin) -> None:
    response = await twin.client.post(
        "/graphql", content=b"{query: sites", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert_no_internals(response.text)


async def test_request_without_a_query_is_400(twin: Twin) -> None:
    response = await twin.client.post("/graphql", json={"variables": {}})

    assert response.status_code == 400
    assert "No GraphQL query found" in response.text


async def test_operations_over_get_are_refused(twin: Twin) -> None:
    query = await twin.client.get("/graphql", params={"query": "{ sites { iri } }"})
    mutation = await twin.client.get(
        "/graphql",
        params={"query": f'mutation {{ deleteAsset(iri: "{LAB_B10}") {{ __typename }} }}'},
    )

    assert query.status_code == 400
    assert mutation.status_code == 400


# --- query limits ----------------------------------------------------------------------------
def parents(depth: int) -> str:
    return "iri " + "parent { iri " * depth + "}" * depth


async def test_query_over_the_depth_limit_is_refused_before_it_runs(twin: Twin) -> None:
    trips = twin.store.round_trips
    deep = await twin.post(f'{{ asset(iri: "{LAB_PRESS}") {{ {parents(12)} }} }}')

    assert twin.store.round_trips == trips  # nothing was resolved
    payload = deep.json()
    assert payload["data"] is None
    assert payload["errors"][0]["message"] == "'anonymous' exceeds maximum operation depth of 12"
    # At the limit it runs (and walks up to the site).
    data = await twin.query(f'{{ asset(iri: "{LAB_PRESS}") {{ {parents(11)} }} }}')
    assert data["asset"]["parent"]["parent"]["parent"]["iri"] == LAB


async def test_mutation_over_the_depth_limit_writes_nothing(twin: Twin) -> None:
    iri = f"{LAB_LINE}/stations/op90"
    response = await twin.post(
        f'mutation {{ createAsset(iri: "{iri}", type: "gt:Station", partOf: "{LAB_LINE}") {{'
        f" ... on WriteSummary {{ asset {{ {parents(12)} }} }} }} }}"
    )

    assert response.json()["data"] is None
    assert "exceeds maximum operation depth" in response.json()["errors"][0]["message"]


async def test_too_many_aliases_are_refused(twin: Twin) -> None:
    too_many = " ".join(f"a{i}: sites {{ iri }}" for i in range(51))
    at_limit = " ".join(f"a{i}: sites {{ iri }}" for i in range(50))

    response = await twin.post(f"{{ {too_many} }}")

    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"][0]["message"] == "51 aliases found. Allowed: 50"
    assert len(await twin.query(f"{{ {at_limit} }}")) == 50


async def test_too_many_tokens_are_refused(twin: Twin) -> None:
    response = await twin.post("{ sites { " + "iri " * 4000 + "} }")

    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"][0]["message"] == (
        "Syntax Error: Document contains more than 4000 tokens. Parsing aborted."
    )
