"""The demo OPC UA server: a real asyncua server on loopback, driven by asyncua clients."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from asyncua import Client, Node, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

from graphtwin.demo.opcua_server import (
    MACHINE_STATES,
    VARIABLES,
    DemoMachine,
    DemoOpcUaServer,
    SecurityOptions,
    demo_machines,
    machine_key,
)
from graphtwin.demo.plant import build_demo_plant
from graphtwin.security.certs import (
    ensure_client_certificate,
    ensure_server_certificate,
    trust_certificate,
)

T = TypeVar("T")

CLIENT_URI = "urn:graphtwin:test:opcua-client"
USERS = {"operator": "s3cret-pass"}
TIMEOUT = 10.0


async def _bounded(awaitable: Awaitable[T], timeout: float = TIMEOUT) -> T:
    return await asyncio.wait_for(awaitable, timeout)


@asynccontextmanager
async def _session(client: Client) -> AsyncIterator[Client]:
    await _bounded(client.connect())
    try:
        yield client
    finally:
        await _bounded(client.disconnect())


async def _ticks(server: DemoOpcUaServer, count: int) -> None:
    """Wait until the server's background task ticked ``count`` more times."""

    async def wait() -> None:
        target = server.ticks + count
        while server.ticks < target:
            await asyncio.sleep(0.02)

    await _bounded(wait())


async def _values(client: Client, node_ids: list[str]) -> list[Any]:
    return await _bounded(client.read_values([client.get_node(nid) for nid in node_ids]))


# --------------------------------------------------------------------------- machines


def test_machine_key_is_the_iri_path_below_sites() -> None:
    iri = "https://acme.example/sites/stuttgart/lines/press-1/stations/op10/press-1a"
    assert machine_key(iri) == "stuttgart/lines/press-1/stations/op10/press-1a"
    assert machine_key("https://example.org/assets/m1.v2") == "assets/m1_v2"
    assert machine_key("https://example.org/plant#m7") == "plant/m7"
    with pytest.raises(ValueError):
        machine_key("https://example.org/")


def test_demo_machines_are_extracted_from_the_plant() -> None:
    machines = demo_machines(build_demo_plant())
    assert len(machines) == 46
    keys = [machine.key for machine in machines]
    assert keys == sorted(set(keys))
    press = next(m for m in machines if m.key.endswith("stations/op10/press-1a"))
    assert press.key == "stuttgart/lines/press-1/stations/op10/press-1a"
    assert press.iri is not None and machine_key(press.iri) == press.key
    assert press.name == "Press 1A"
    assert press.temperature_range == (38.0, 55.0)
    assert 4.0 <= press.ideal_cycle_time_s <= 8.0
    assert 150.0 <= press.rated_power_kw <= 450.0


# --------------------------------------------------------------------------- plain server


@pytest.fixture(scope="module")
async def demo_server() -> AsyncIterator[DemoOpcUaServer]:
    server = DemoOpcUaServer(demo_machines(build_demo_plant()), tick=0.1)
    await _bounded(server.start(), 20)
    yield server
    await _bounded(server.stop())


@pytest.fixture(scope="module")
def press(demo_server: DemoOpcUaServer) -> DemoMachine:
    return next(m for m in demo_server.machines if m.key.endswith("op10/press-1a"))


async def test_endpoint_and_node_ids(demo_server: DemoOpcUaServer, press: DemoMachine) -> None:
    assert demo_server.endpoint == f"opc.tcp://127.0.0.1:{demo_server.port}/graphtwin/demo/"
    assert demo_server.port > 0
    assert demo_server.namespace_index == 2
    assert demo_server.node_id(press.key, "temperature") == (
        "ns=2;s=stuttgart/lines/press-1/stations/op10/press-1a.temperature"
    )
    with pytest.raises(KeyError):
        demo_server.node_id(press.key, "humidity")
    with pytest.raises(KeyError):
        demo_server.node_id("nowhere/m1", "temperature")
    assert demo_server.server_certificate_path is None


async def test_browse_the_plant_and_read_typed_values(
    demo_server: DemoOpcUaServer, press: DemoMachine
) -> None:
    async with _session(Client(demo_server.endpoint, timeout=TIMEOUT)) as client:
        ns = await client.get_namespace_index("urn:graphtwin:demo:opcua")
        assert ns == demo_server.namespace_index
        path = ["DemoPlant", *press.key.split("/")]
        machine = await client.nodes.objects.get_child([f"{ns}:{name}" for name in path])
        assert machine.nodeid == ua.NodeId(press.key, ns)
        assert (await machine.read_display_name()).Text == "Press 1A"
        children = await machine.get_children()
        names = {(await child.read_browse_name()).Name for child in children}
        assert names == set(VARIABLES)

        node = client.get_node(demo_server.node_id(press.key, "temperature"))
        assert await node.read_data_type_as_variant_type() == ua.VariantType.Double
        dv = await node.read_data_value()
        assert dv.SourceTimestamp is not None and dv.ServerTimestamp is not None
        low, high = press.temperature_range
        assert low - 10 <= dv.Value.Value <= high + 10

        nids = [demo_server.node_id(press.key, name) for name in VARIABLES]
        values = dict(zip(VARIABLES, await _values(client, nids), strict=True))
        for name in ("cycleTime", "vibrationVelocity", "activePower", "energyConsumed"):
            assert isinstance(values[name], float) and values[name] >= 0, name
        assert 0 < values["activePower"] <= press.rated_power_kw
        assert isinstance(values["totalCount"], int) and isinstance(values["goodCount"], int)
        assert 0 <= values["goodCount"] <= values["totalCount"]
        assert values["machineState"] in MACHINE_STATES
        assert values["speedSetpoint"] == 100.0
        total = client.get_node(demo_server.node_id(press.key, "totalCount"))
        assert await total.read_data_type_as_variant_type() == ua.VariantType.UInt64


async def test_values_change_and_counters_only_grow(demo_server: DemoOpcUaServer) -> None:
    keys = [machine.key for machine in demo_server.machines]
    analog = [demo_server.node_id(k, "temperature") for k in keys]
    totals = [demo_server.node_id(k, "totalCount") for k in keys]
    goods = [demo_server.node_id(k, "goodCount") for k in keys]
    energy = [demo_server.node_id(k, "energyConsumed") for k in keys]
    states = [demo_server.node_id(k, "machineState") for k in keys]
    async with _session(Client(demo_server.endpoint, timeout=TIMEOUT)) as client:
        first = await _values(client, analog + totals + goods + energy)
        stamp = (await client.get_node(analog[0]).read_data_value()).SourceTimestamp
        await _ticks(demo_server, 3)  # of the background task
        second = await _values(client, analog + totals + goods + energy)
        later = (await client.get_node(analog[0]).read_data_value()).SourceTimestamp
        assert stamp is not None and later is not None and later > stamp
        n = len(keys)
        assert sum(a != b for a, b in zip(first[:n], second[:n], strict=True)) > n // 2

        # Two simulated minutes at once: producing machines finish cycles.
        await _bounded(demo_server.tick_once(120.0))
        third = await _values(client, analog + totals + goods + energy)
        for snapshot in (first, second, third):
            for total, good in zip(snapshot[n : 2 * n], snapshot[2 * n : 3 * n], strict=True):
                assert 0 <= good <= total
        for before, after in zip(first[n:], second[n:], strict=True):
            assert after >= before
        for before, after in zip(second[n:], third[n:], strict=True):
            assert after >= before
        assert any(b > a for a, b in zip(second[n : 2 * n], third[n : 2 * n], strict=True))
        assert all(state in MACHINE_STATES for state in await _values(client, states))


async def test_speed_setpoint_is_writable_and_scales_the_cycle_time(
    demo_server: DemoOpcUaServer,
) -> None:
    async with _session(Client(demo_server.endpoint, timeout=TIMEOUT)) as client:
        keys = [machine.key for machine in demo_server.machines]
        states = await _values(client, [demo_server.node_id(k, "machineState") for k in keys])
        producing = [k for k, state in zip(keys, states, strict=True) if state == "producing"]
        assert producing, "seed 7 starts most machines producing"
        key = producing[0]
        ideal = next(m for m in demo_server.machines if m.key == key).ideal_cycle_time_s
        speed = client.get_node(demo_server.node_id(key, "speedSetpoint"))
        cycle = client.get_node(demo_server.node_id(key, "cycleTime"))
        access = await speed.read_attribute(ua.AttributeIds.UserAccessLevel)
        assert access.Value.Value & ua.AccessLevel.CurrentWrite.mask
        try:
            await _bounded(speed.write_value(ua.Variant(50.0, ua.VariantType.Double)))
            assert await speed.read_value() == 50.0
            assert demo_server.speed_setpoint(key) == 50.0
            await _bounded(demo_server.tick_once(0.1))
            state = await client.get_node(demo_server.node_id(key, "machineState")).read_value()
            if state == "producing":  # almost always; a breakdown in 0.1 s is possible
                assert 1.95 * ideal <= await cycle.read_value() <= 2.35 * ideal

            with pytest.raises(ua.uaerrors.BadOutOfRange):
                await _bounded(speed.write_value(ua.Variant(150.0, ua.VariantType.Double)))
            with pytest.raises(ua.uaerrors.BadTypeMismatch):
                await _bounded(speed.write_value(ua.Variant(80, ua.VariantType.Int32)))
            assert await speed.read_value() == 50.0
        finally:
            await _bounded(speed.write_value(ua.Variant(100.0, ua.VariantType.Double)))
        assert demo_server.speed_setpoint(key) == 100.0


async def test_simulated_variables_refuse_writes(
    demo_server: DemoOpcUaServer, press: DemoMachine
) -> None:
    async with _session(Client(demo_server.endpoint, timeout=TIMEOUT)) as client:
        for name, value in (
            ("temperature", ua.Variant(20.0, ua.VariantType.Double)),
            ("totalCount", ua.Variant(0, ua.VariantType.UInt64)),
            ("machineState", ua.Variant("down", ua.VariantType.String)),
        ):
            node = client.get_node(demo_server.node_id(press.key, name))
            access = await node.read_attribute(ua.AttributeIds.AccessLevel)
            assert not access.Value.Value & ua.AccessLevel.CurrentWrite.mask
            with pytest.raises((ua.uaerrors.BadUserAccessDenied, ua.uaerrors.BadNotWritable)):
                await _bounded(node.write_value(value))


@dataclass
class _Changes:
    queue: asyncio.Queue[tuple[str, Any]]

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        self.queue.put_nowait((node.nodeid.to_string(), val))


async def test_subscription_receives_data_changes(
    demo_server: DemoOpcUaServer, press: DemoMachine
) -> None:
    watched = [demo_server.node_id(press.key, n) for n in ("temperature", "vibrationVelocity")]
    async with _session(Client(demo_server.endpoint, timeout=TIMEOUT)) as client:
        changes = _Changes(asyncio.Queue())
        subscription = await client.create_subscription(100, changes)
        await subscription.subscribe_data_change([client.get_node(nid) for nid in watched])
        seen: dict[str, list[float]] = {nid: [] for nid in watched}
        while min(len(v) for v in seen.values()) < 3:
            nid, value = await _bounded(changes.queue.get(), 5.0)
            seen[nid].append(value)
        await subscription.delete()
    for values in seen.values():
        assert all(isinstance(v, float) for v in values)
        assert len(set(values)) > 1


async def test_ten_thousand_variables_update_well_within_a_second() -> None:
    # What demo_machines(generate_plant(1250)) gives, without building the graph.
    machines = [
        DemoMachine(
            key=f"plant-{i // 150:03d}/lines/line-{i // 6:03d}/stations/op{i % 6}0/m-{i}",
            name=f"Machine {i}",
            ideal_cycle_time_s=3.0 + i % 200,
            rated_power_kw=1.5 + i % 400,
            temperature_range=(25.0, 35.0 + i % 200),
        )
        for i in range(1250)
    ]
    server = DemoOpcUaServer(machines, tick=1.0)
    await _bounded(server.start(), 30)
    try:
        durations = [await _bounded(server.tick_once()) for _ in range(5)]
        assert len(machines) * 8 == 10_000
        assert statistics.median(durations) < 0.5, durations
        assert server.overruns == 0
    finally:
        await _bounded(server.stop())


# --------------------------------------------------------------------------- security


@dataclass(frozen=True)
class _Secured:
    server: DemoOpcUaServer
    client_cert: Path
    client_key: Path
    untrusted_cert: Path
    untrusted_key: Path
    server_trust: Path  # directory holding the server certificate, for client validators


@pytest.fixture(scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[_Secured]:
    base = tmp_path_factory.mktemp("opcua-security")
    client_cert, client_key = ensure_client_certificate(base / "client", CLIENT_URI)
    untrusted_cert, untrusted_key = ensure_client_certificate(base / "stranger", CLIENT_URI)
    trust_certificate(client_cert, base / "trusted-clients")
    options = SecurityOptions(
        certificate_dir=base / "server-pki",
        allow_no_security=False,
        users=USERS,
        allow_anonymous=True,
        trusted_clients_dir=base / "trusted-clients",
    )
    machines = demo_machines(build_demo_plant())[:3]
    server = DemoOpcUaServer(machines, security=options, tick=0.1)
    await _bounded(server.start(), 20)
    assert server.server_certificate_path is not None
    server_trust = base / "trusted-servers"
    trust_certificate(server.server_certificate_path, server_trust)
    yield _Secured(server, client_cert, client_key, untrusted_cert, untrusted_key, server_trust)
    await _bounded(server.stop())


async def _secure_client(
    secured: _Secured,
    *,
    mode: ua.MessageSecurityMode = ua.MessageSecurityMode.SignAndEncrypt,
    cert: Path | None = None,
    key: Path | None = None,
    user: tuple[str, str] | None = None,
    trust_dir: Path | None = None,
) -> Client:
    client = Client(secured.server.endpoint, timeout=TIMEOUT)
    client.application_uri = CLIENT_URI
    assert secured.server.server_certificate_path is not None
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        certificate=str(cert or secured.client_cert),
        private_key=str(key or secured.client_key),
        server_certificate=str(secured.server.server_certificate_path),
        mode=mode,
    )
    # The client checks the server certificate against its own trust list.
    store = TrustStore([trust_dir or secured.server_trust], [])
    await store.load()
    client.certificate_validator = CertificateValidator(
        CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_SERVER,
        store,
    )
    if user is not None:
        client.set_user(user[0])
        client.set_password(user[1])
    return client


async def _read_state(client: Client, server: DemoOpcUaServer) -> Any:
    key = server.machines[0].key
    return await _bounded(client.get_node(server.node_id(key, "machineState")).read_value())


async def test_secured_server_offers_only_basic256sha256_endpoints(secured: _Secured) -> None:
    client = Client(secured.server.endpoint, timeout=TIMEOUT)
    endpoints = await _bounded(client.connect_and_get_server_endpoints())
    offered = {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode) for e in endpoints}
    assert offered == {
        ("Basic256Sha256", ua.MessageSecurityMode.Sign),
        ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt),
    }
    path = secured.server.server_certificate_path
    assert path is not None
    assert all(e.ServerCertificate == path.read_bytes() for e in endpoints)
    tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
    assert tokens == {ua.UserTokenType.Anonymous, ua.UserTokenType.UserName}


async def test_sign_and_encrypt_with_a_trusted_client_certificate(secured: _Secured) -> None:
    async with _session(await _secure_client(secured)) as client:
        assert await _read_state(client, secured.server) in MACHINE_STATES
    sign_only = await _secure_client(
        secured, mode=ua.MessageSecurityMode.Sign, user=("operator", USERS["operator"])
    )
    async with _session(sign_only) as client:
        assert await _read_state(client, secured.server) in MACHINE_STATES


async def test_untrusted_certificates_are_refused(secured: _Secured, tmp_path: Path) -> None:
    stranger = await _secure_client(secured, cert=secured.untrusted_cert, key=secured.untrusted_key)
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        await _bounded(stranger.connect())
    # The other way round: a client that does not trust the server's certificate.
    trust_certificate(secured.untrusted_cert, tmp_path / "other-servers")
    wary = await _secure_client(secured, trust_dir=tmp_path / "other-servers")
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        await _bounded(wary.connect())


async def test_username_and_password(secured: _Secured) -> None:
    good = await _secure_client(secured, user=("operator", USERS["operator"]))
    async with _session(good) as client:
        assert await _read_state(client, secured.server) in MACHINE_STATES
    for user in (("operator", "wrong"), ("intruder", USERS["operator"]), ("admin", "admin")):
        refused = await _secure_client(secured, user=user)
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await _bounded(refused.connect())


async def test_anonymous_without_security_is_refused(
    secured: _Secured, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncua's client gives up by itself: the server lists no None endpoint.
    client = Client(secured.server.endpoint, timeout=TIMEOUT)
    with pytest.raises(ua.UaError, match="No matching endpoints"):
        await _bounded(client.connect())
    # A less careful client that activates a session anyway is refused by the server.
    monkeypatch.setattr(Client, "find_endpoint", staticmethod(lambda eps, mode, uri: eps[0]))
    careless = Client(secured.server.endpoint, timeout=TIMEOUT)
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        await _bounded(careless.connect())


async def test_server_certificate_is_created_once_and_reused(tmp_path: Path) -> None:
    options = SecurityOptions(certificate_dir=tmp_path / "pki")
    machines = demo_machines(build_demo_plant())[:1]
    server = DemoOpcUaServer(machines, security=options, tick=0.5)
    await _bounded(server.start(), 20)
    try:
        first = server.server_certificate_path
        assert first is not None and first.parent == tmp_path / "pki"
        content = first.read_bytes()
        # NoSecurity stays available by default: an anonymous plain client reads.
        async with _session(Client(server.endpoint, timeout=TIMEOUT)) as client:
            assert await _read_state(client, server) in MACHINE_STATES
    finally:
        await _bounded(server.stop())
    # The next server on the same directory (what start() does first) finds it again.
    again = DemoOpcUaServer(machines, security=options, tick=0.5)
    assert await _bounded(again.ensure_certificate()) == first
    assert first.read_bytes() == content


def test_certificates_are_reused_until_their_identity_changes(tmp_path: Path) -> None:
    cert, key = ensure_client_certificate(tmp_path, CLIENT_URI)
    content = cert.read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600
    assert ensure_client_certificate(tmp_path, CLIENT_URI) == (cert, key)
    assert cert.read_bytes() == content
    ensure_client_certificate(tmp_path, "urn:graphtwin:another-client")
    assert cert.read_bytes() != content
    server_cert, _ = ensure_server_certificate(tmp_path, "urn:x", hostnames=["127.0.0.1"])
    assert server_cert.name == "server-cert.der"
