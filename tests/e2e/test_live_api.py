"""Live data through the API: a real uvicorn server, a real asyncua demo server.

Bindings are added by mutation, values are read from the live cache, history from
SQLite, writes go to the OPC UA server, and a subscription runs over WebSocket
(graphql-transport-ws).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from rdflib import Graph

from graphtwin.api.app import AppState, create_app
from graphtwin.api.context import Services
from graphtwin.bootstrap import build_live
from graphtwin.config import Settings
from graphtwin.demo.opcua_server import DemoOpcUaServer, demo_machines
from tests.support.waiting import wait_for

SITE = "https://acme.example/sites/lab"
LINE = f"{SITE}/lines/l1"
PRESS = f"{LINE}/stations/op10/press-1"
PLANT = f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{SITE}> a gt:Site ; rdfs:label "Lab" .
<{LINE}> a gt:Line ; rdfs:label "L1" ; gt:partOf <{SITE}> .
<{LINE}/stations/op10> a gt:Station ; rdfs:label "OP10" ; gt:partOf <{LINE}> .
<{PRESS}> a gt:Press ; rdfs:label "Press 1" ; gt:partOf <{LINE}/stations/op10> ;
    gt:idealCycleTime 12.0 ; gt:ratedPower 40.0 ; gt:temperature 30.0 .
"""

ADD = """
mutation($input: BindingInput!) {
  addBinding(input: $input) {
    __typename
    ... on WriteSummary { created }
    ... on UserError { message code path }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.ws = f"ws://127.0.0.1:{port}/graphql"

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=20) as client:
            response = await client.post(self.url, json={"query": query, "variables": variables})
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture
async def live_api(
    services: Services, test_settings: Settings
) -> AsyncIterator[tuple[Api, Services, DemoOpcUaServer]]:
    plant = Graph().parse(data=PLANT, format="turtle")
    await services.twins.import_graph(plant)
    opcua = DemoOpcUaServer(demo_machines(plant), port=free_port(), tick=0.2)
    await opcua.start()
    built = build_live(test_settings.with_overrides(flush_interval=0.2), services)
    assert built.live is not None and built.history is not None
    await built.live.start()

    async def ready() -> bool:
        return True

    app = create_app(test_settings, AppState(services=built, ready=ready))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, what="uvicorn started")
    try:
        yield Api(port), built, opcua
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        await built.live.stop()
        await built.history.close()
        await opcua.stop()


def binding_input(opcua: DemoOpcUaServer, variable: str, **extra: Any) -> dict[str, Any]:
    key = demo_machines(Graph().parse(data=PLANT, format="turtle"))[0].key
    return {
        "iri": f"{PRESS}/bindings/{variable}",
        "kind": "OPCUA",
        "asset": PRESS,
        "property": f"gt:{variable}",
        "endpoint": opcua.endpoint,
        "nodeId": f"nsu=urn:graphtwin:demo:opcua;s={key}.{variable}",
        "samplingInterval": 100,
        **extra,
    }


async def add(api: Api, opcua: DemoOpcUaServer, variable: str, **extra: Any) -> dict[str, Any]:
    data = await api.gql(ADD, input=binding_input(opcua, variable, **extra))
    return data["addBinding"]  # type: ignore[no-any-return]


async def test_bound_value_history_and_source(
    live_api: tuple[Api, Services, DemoOpcUaServer],
) -> None:
    api, services, opcua = live_api
    assert (await add(api, opcua, "temperature", expectedPeriod=5))["__typename"] == "WriteSummary"
    live = services.live
    assert live is not None
    await wait_for(lambda: live.value((PRESS, "https://w3id.org/graphtwin/core#temperature")))

    data = await api.gql(
        """query($iri: String!) { asset(iri: $iri) {
             value(property: "gt:temperature") { v unit { symbol } sourceTime serverTime quality }
             property(name: "gt:temperature") { live { quality } }
             bindings { iri kind connected source } } }""",
        iri=PRESS,
    )
    asset = data["asset"]
    assert isinstance(asset["value"]["v"], float)
    assert asset["value"]["unit"]["symbol"] == "°C"
    assert asset["value"]["quality"] == "GOOD"
    assert asset["property"]["live"]["quality"] == "GOOD"
    assert asset["bindings"][0]["kind"] == "opcua"
    assert asset["bindings"][0]["source"]["endpoint"] == opcua.endpoint

    where = await api.gql(
        'query($a: String!) { binding(asset: $a, property: "gt:temperature") { iri connected } }',
        a=PRESS,
    )
    assert where["binding"] == {"iri": f"{PRESS}/bindings/temperature", "connected": True}

    await asyncio.sleep(1.0)
    assert services.history is not None
    await services.history.flush()
    start = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    history = await api.gql(
        """query($a: String!, $from: DateTime!, $to: DateTime!) {
             raw: history(asset: $a, property: "gt:temperature", from: $from, to: $to) {
               points { v quality } }
             avg: history(asset: $a, property: "gt:temperature", from: $from, to: $to,
                          every: 60, aggregate: COUNT) { buckets { v count } } }""",
        a=PRESS,
        to=datetime.now(UTC).isoformat(),
        **{"from": start},
    )
    points = history["raw"]["points"]
    assert len(points) >= 3
    # Two 60 s buckets at most; together they hold every raw point.
    assert sum(b["count"] for b in history["avg"]["buckets"]) == len(points)


async def test_write_value_reaches_the_opcua_server(
    live_api: tuple[Api, Services, DemoOpcUaServer],
) -> None:
    api, services, opcua = live_api
    assert (await add(api, opcua, "speedSetpoint", writable=True))["__typename"] == "WriteSummary"
    assert (await add(api, opcua, "cycleTime"))["__typename"] == "WriteSummary"
    live = services.live
    assert live is not None
    await wait_for(lambda: all(s.connected for s in live.status()))
    write = """mutation($a: String!, $p: String!, $v: JSON!) {
      writeValue(asset: $a, property: $p, value: $v) {
        __typename ... on LiveValue { v } ... on UserError { message code } } }"""
    ok = await api.gql(write, a=PRESS, p="gt:speedSetpoint", v=55.5)
    assert ok["writeValue"] == {"__typename": "LiveValue", "v": 55.5}
    key = (PRESS, "https://w3id.org/graphtwin/core#speedSetpoint")
    await wait_for(
        lambda: (s := live.value(key)) is not None and s.value == 55.5, what="setpoint read back"
    )

    refused = await api.gql(write, a=PRESS, p="gt:cycleTime", v=1)
    assert refused["writeValue"]["__typename"] == "ForbiddenError"
    out_of_range = await api.gql(write, a=PRESS, p="gt:speedSetpoint", v=500)
    assert out_of_range["writeValue"]["__typename"] == "UnavailableError"
    unbound = await api.gql(write, a=PRESS, p="gt:ratedPower", v=1)
    assert unbound["writeValue"]["__typename"] == "NotFoundError"


async def test_subscription_over_websocket(live_api: tuple[Api, Services, DemoOpcUaServer]) -> None:
    api, _services, opcua = live_api
    await add(api, opcua, "temperature")
    await add(api, opcua, "totalCount")
    async with websockets.connect(api.ws, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($u: String!) "
                        "{ values(under: $u) { asset name v quality } }",
                        "variables": {"u": LINE},
                    },
                }
            )
        )
        names = set()
        async with asyncio.timeout(10):
            while len(names) < 2:
                message = json.loads(await ws.recv())
                assert message["type"] == "next", message
                value = message["payload"]["data"]["values"]
                assert value["asset"] == PRESS
                names.add(value["name"])
        assert names == {"gt:temperature", "gt:totalCount"}
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_bad_binding_is_refused_and_removal_stops_it(
    live_api: tuple[Api, Services, DemoOpcUaServer],
) -> None:
    api, services, opcua = live_api
    bad = await add(api, opcua, "temperature", nodeId="not a node id")
    assert bad["__typename"] in ("ShapeViolationError", "BadInputError")
    policy = await add(
        api, opcua, "temperature", securityPolicy="Basic256Sha256", securityMode="None"
    )
    assert policy["__typename"] == "BadInputError"
    assert "does not go with" in policy["message"]
    live = services.live
    assert live is not None
    assert live.bindings == {}

    assert (await add(api, opcua, "temperature"))["__typename"] == "WriteSummary"
    assert f"{PRESS}/bindings/temperature" in live.bindings
    removed = await api.gql(
        "mutation($i: String!) { removeBinding(iri: $i) "
        "{ __typename ... on WriteSummary { deleted } } }",
        i=f"{PRESS}/bindings/temperature",
    )
    assert removed["removeBinding"]["deleted"] == [f"{PRESS}/bindings/temperature"]
    assert live.bindings == {}
    data = await api.gql(
        'query($iri: String!) { asset(iri: $iri) { value(property: "gt:temperature") { v } } }',
        iri=PRESS,
    )
    assert data["asset"]["value"] is None
