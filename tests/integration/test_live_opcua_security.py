"""The OPC UA adapter over Basic256Sha256: certificates, users, a pinned server certificate.

A real asyncua demo server that refuses unsecured sessions and anonymous users;
graphtwin's adapter connects with the credential a binding names.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rdflib import Graph

from graphtwin.api.context import Services
from graphtwin.bootstrap import build_live
from graphtwin.config import Settings
from graphtwin.demo.opcua_server import DemoOpcUaServer, SecurityOptions, demo_machines
from graphtwin.live.opcua import APPLICATION_URI
from graphtwin.security.certs import ensure_client_certificate, ensure_server_certificate
from graphtwin.semantics.vocab import GT
from graphtwin.values import Quality
from tests.support.mosquitto import free_port
from tests.support.plants import one_press_plant, press_of
from tests.support.waiting import wait_for

SITE = "https://acme.example/sites/sec"
PRESS = press_of(SITE)
PLANT = one_press_plant(SITE, "Sec")
KEY = (PRESS, str(GT.temperature))


def binding(endpoint: str, key: str, mode: str) -> str:
    return f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix gtb: <https://w3id.org/graphtwin/binding#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{PRESS}/bindings/temperature> a gtb:OpcUaBinding ;
    gtb:asset <{PRESS}> ; gtb:property gt:temperature ;
    gtb:endpoint "{endpoint}"^^xsd:anyURI ;
    gtb:nodeId "nsu=urn:graphtwin:demo:opcua;s={key}.temperature" ;
    gtb:samplingInterval 100.0 ;
    gtb:securityPolicy "Basic256Sha256" ; gtb:securityMode "{mode}" ;
    gtb:credential "plc" .
"""


@pytest.fixture
async def secure_server(tmp_path: Path) -> AsyncIterator[DemoOpcUaServer]:
    plant = Graph().parse(data=PLANT, format="turtle")
    server = DemoOpcUaServer(
        demo_machines(plant),
        port=free_port(),
        tick=0.2,
        security=SecurityOptions(
            certificate_dir=tmp_path / "server-pki",
            allow_no_security=False,
            users={"operator": "s3cret"},
            allow_anonymous=False,
        ),
    )
    await server.start()
    yield server
    await server.stop()


async def run_binding(
    services: Services,
    settings: Settings,
    server: DemoOpcUaServer,
    tmp_path: Path,
    credential: dict[str, object],
    mode: str = "SignAndEncrypt",
) -> Services:
    cert, key = ensure_client_certificate(tmp_path / "client-pki", APPLICATION_URI)
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps({"plc": {"certificate": str(cert), "private_key": str(key), **credential}})
    )
    await services.twins.import_graph(Graph().parse(data=PLANT, format="turtle"))
    machine_key = demo_machines(Graph().parse(data=PLANT, format="turtle"))[0].key
    await services.twins.import_graph(
        Graph().parse(data=binding(server.endpoint, machine_key, mode), format="turtle")
    )
    built = build_live(settings.with_overrides(credentials_file=credentials), services)
    assert built.live is not None
    await built.live.start()
    return built


async def stop(built: Services) -> None:
    assert built.live is not None and built.history is not None
    await built.live.stop()
    await built.history.close()


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
async def test_secured_binding_reads_values(
    services: Services,
    test_settings: Settings,
    secure_server: DemoOpcUaServer,
    tmp_path: Path,
    mode: str,
) -> None:
    assert secure_server.server_certificate_path is not None
    built = await run_binding(
        services,
        test_settings,
        secure_server,
        tmp_path,
        {
            "username": "operator",
            "password": "s3cret",
            "server_certificate": str(secure_server.server_certificate_path),
        },
        mode,
    )
    try:
        assert built.live is not None
        live = built.live
        await wait_for(lambda: live.value(KEY) is not None, timeout=15, what="secured value")
        assert live.value(KEY).quality is Quality.GOOD  # type: ignore[union-attr]
    finally:
        await stop(built)


async def test_an_untrusted_server_certificate_is_refused(
    services: Services, test_settings: Settings, secure_server: DemoOpcUaServer, tmp_path: Path
) -> None:
    other, _ = ensure_server_certificate(tmp_path / "other-pki", "urn:someone:else")
    built = await run_binding(
        services,
        test_settings,
        secure_server,
        tmp_path,
        {"username": "operator", "password": "s3cret", "server_certificate": str(other)},
    )
    try:
        assert built.live is not None
        live = built.live
        await wait_for(lambda: live.status()[0].detail, timeout=15, what="a refusal")
        assert not live.status()[0].connected
        assert live.value(KEY) is None
    finally:
        await stop(built)


async def test_a_secured_binding_without_a_trusted_certificate_does_not_connect(
    services: Services, test_settings: Settings, secure_server: DemoOpcUaServer, tmp_path: Path
) -> None:
    built = await run_binding(
        services,
        test_settings,
        secure_server,
        tmp_path,
        {"username": "operator", "password": "s3cret"},
    )
    try:
        assert built.live is not None
        live = built.live
        await wait_for(lambda: live.status()[0].detail, timeout=10, what="a refusal")
        assert "not trusted" in live.status()[0].detail
        assert live.value(KEY) is None
    finally:
        await stop(built)


async def test_a_wrong_password_is_refused(
    services: Services, test_settings: Settings, secure_server: DemoOpcUaServer, tmp_path: Path
) -> None:
    assert secure_server.server_certificate_path is not None
    built = await run_binding(
        services,
        test_settings,
        secure_server,
        tmp_path,
        {
            "username": "operator",
            "password": "wrong",
            "server_certificate": str(secure_server.server_certificate_path),
        },
    )
    try:
        assert built.live is not None
        live = built.live
        await wait_for(lambda: live.status()[0].detail, timeout=15, what="a refusal")
        assert not live.status()[0].connected
        assert live.value(KEY) is None
    finally:
        await stop(built)
