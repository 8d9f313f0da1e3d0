"""A real OPC UA server (asyncua) that simulates the demo plant's machine signals.

Address space (namespace ``namespace_uri``, index resolved at start, normally 2)::

    Objects
      DemoPlant                                 ns=2;s=plant             (folder)
        stuttgart                               ns=2;s=stuttgart         (folder)
          lines                                 ns=2;s=stuttgart/lines   (folder)
            ...
              press-1a                          ns=2;s=<key>             (object)
                cycleTime, temperature, ...     ns=2;s=<key>.<variable>  (variables)

A machine's *key* is its IRI path below ``sites/`` (see :func:`machine_key`), e.g.
``https://acme.example/sites/stuttgart/lines/press-1/stations/op10/press-1a`` has the
key ``stuttgart/lines/press-1/stations/op10/press-1a`` and its temperature is the
variable ``ns=2;s=stuttgart/lines/press-1/stations/op10/press-1a.temperature``. Each
path segment above the machine is a browsable folder whose string NodeId is the key
prefix. Variables are named after the gt: properties they feed (:data:`GT_PROPERTIES`).

Variables (all read-only except ``speedSetpoint``):

=====================  =======  ======  ==============================================
name                   type     unit    behaviour
=====================  =======  ======  ==============================================
``cycleTime``          Double   s       ideal cycle time / speed, plus losses and jitter
``temperature``        Double   °C      first-order lag to a state target, drift, noise
``vibrationVelocity``  Double   mm/s    by state, scaled by speed while producing
``activePower``        Double   kW      producing 0.6-0.9, idle/blocked ~0.15-0.18, down
                                        ~0.02 of rated power
``energyConsumed``     Double   kWh     integral of ``activePower``
``totalCount``         UInt64   parts   +1 per completed cycle while producing
``goodCount``          UInt64   parts   +1 per good part (97-99.5 % per machine)
``machineState``       String           Markov chain: producing, idle, blocked, down
``speedSetpoint``      Double   %       writable by clients, 0-120 (else BadOutOfRange);
                                        0 stops the machine (it goes and stays idle)
=====================  =======  ======  ==============================================

A background task recomputes every machine and writes all eight simulated
variables each ``tick`` with server-side ``write_attribute_value`` (no client
round trip), SourceTimestamp and ServerTimestamp set to the tick time. Monitored
items only report values that changed (asyncua's StatusValue trigger).

Security (:class:`SecurityOptions`): NoSecurity (optional) plus Basic256Sha256
Sign and SignAndEncrypt endpoints; a self-signed server certificate created on the
first start in ``certificate_dir`` and reused afterwards; anonymous and/or
username/password logins; optionally only client certificates found in
``trusted_clients_dir``. Without ``security`` the server offers one NoSecurity,
anonymous endpoint. Sessions never get asyncua's admin role (which would bypass
the access levels), whatever the user name.

Run ``python -m graphtwin.demo.opcua_server --help`` for a standalone server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hmac
import logging
import math
import random
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.address_space import NodeData
from asyncua.server.internal_server import InternalServer
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from graphtwin.demo.plant import KINDS
from graphtwin.logs import configure_logging
from graphtwin.security.certs import ensure_server_certificate
from graphtwin.semantics.vocab import GT

__all__ = [
    "DEFAULT_APPLICATION_URI",
    "DEFAULT_NAMESPACE_URI",
    "GT_PROPERTIES",
    "MACHINE_STATES",
    "SIMULATED_VARIABLES",
    "VARIABLES",
    "DemoMachine",
    "DemoOpcUaServer",
    "SecurityOptions",
    "demo_machines",
    "machine_key",
    "main",
]

log = logging.getLogger("graphtwin.demo.opcua_server")

DEFAULT_NAMESPACE_URI: Final = "urn:graphtwin:demo:opcua"
DEFAULT_APPLICATION_URI: Final = "urn:graphtwin:demo:opcua-server"
ENDPOINT_PATH: Final = "/graphtwin/demo/"

MACHINE_STATES: Final = ("producing", "idle", "blocked", "down")

# Variables the simulation writes every tick, in write order.
SIMULATED_VARIABLES: Final = (
    "cycleTime",
    "temperature",
    "vibrationVelocity",
    "activePower",
    "energyConsumed",
    "totalCount",
    "goodCount",
    "machineState",
)
SPEED_SETPOINT: Final = "speedSetpoint"
VARIABLES: Final = (*SIMULATED_VARIABLES, SPEED_SETPOINT)

# The gt: property each simulated variable feeds (the variable is named after it).
GT_PROPERTIES: Final[Mapping[str, URIRef]] = {name: GT[name] for name in SIMULATED_VARIABLES}

SPEED_RANGE: Final = (0.0, 120.0)


@dataclass(frozen=True)
class _VariableSpec:
    variant: ua.VariantType
    datatype: int  # ua.ObjectIds member
    description: str


_SPECS: Final[Mapping[str, _VariableSpec]] = {
    "cycleTime": _VariableSpec(ua.VariantType.Double, ObjectIds.Double, "Cycle time [s]"),
    "temperature": _VariableSpec(ua.VariantType.Double, ObjectIds.Double, "Temperature [°C]"),
    "vibrationVelocity": _VariableSpec(
        ua.VariantType.Double, ObjectIds.Double, "Vibration velocity RMS [mm/s]"
    ),
    "activePower": _VariableSpec(ua.VariantType.Double, ObjectIds.Double, "Active power [kW]"),
    "energyConsumed": _VariableSpec(
        ua.VariantType.Double, ObjectIds.Double, "Energy consumed [kWh]"
    ),
    "totalCount": _VariableSpec(
        ua.VariantType.UInt64, ObjectIds.UInt64, "Parts produced since commissioning"
    ),
    "goodCount": _VariableSpec(
        ua.VariantType.UInt64, ObjectIds.UInt64, "Good parts produced since commissioning"
    ),
    "machineState": _VariableSpec(
        ua.VariantType.String, ObjectIds.String, "producing | idle | blocked | down"
    ),
    SPEED_SETPOINT: _VariableSpec(
        ua.VariantType.Double, ObjectIds.Double, "Speed setpoint [%], writable, 0-120"
    ),
}


# --------------------------------------------------------------------------- machines


@dataclass(frozen=True)
class DemoMachine:
    """One simulated machine; ``key`` is the stable slug used in its NodeIds."""

    key: str
    name: str
    ideal_cycle_time_s: float
    rated_power_kw: float
    temperature_range: tuple[float, float]
    iri: str | None = None

    def __post_init__(self) -> None:
        if not self.key or any(ch in self.key for ch in ".;\n\r\t"):
            raise ValueError(
                f"machine key must be non-empty without '.', ';' or controls: {self.key!r}"
            )
        if self.ideal_cycle_time_s <= 0 or self.rated_power_kw <= 0:
            raise ValueError(f"machine {self.key}: cycle time and rated power must be positive")
        low, high = self.temperature_range
        if not low < high:
            raise ValueError(f"machine {self.key}: temperature range {low}..{high} is empty")


def machine_key(iri: str) -> str:
    """The stable slug of a machine IRI, used in its OPC UA NodeIds.

    The IRI path below its ``sites`` segment (the whole path when there is none),
    with the fragment appended as a last segment. Dots become ``_`` because
    ``.`` separates the key from the variable name in NodeIds.

    >>> machine_key("https://acme.example/sites/stuttgart/lines/press-1/stations/op10/press-1a")
    'stuttgart/lines/press-1/stations/op10/press-1a'

    :raises ValueError: the IRI has no path, fragment or opaque part to derive a key from.
    """
    parts = urlsplit(iri)
    segments = [segment for segment in parts.path.split("/") if segment]
    if "sites" in segments:
        segments = segments[segments.index("sites") + 1 :]
    if parts.fragment:
        segments.append(parts.fragment)
    key = "/".join(segments).replace(".", "_").replace(";", "_")
    if not key:
        raise ValueError(f"cannot derive a machine key from {iri!r}")
    return key


_CLASS_TEMPERATURES: Final[Mapping[URIRef, tuple[float, float]]] = {
    kind.cls: kind.temperature_c for kind in KINDS.values()
}


def _number(graph: Graph, subject: URIRef, predicate: URIRef) -> float | None:
    value = graph.value(subject, predicate)
    if isinstance(value, Literal):
        with contextlib.suppress(TypeError, ValueError):
            return float(value.toPython())
    return None


def _label(graph: Graph, subject: URIRef) -> str:
    labels = [label for label in graph.objects(subject, RDFS.label) if isinstance(label, Literal)]
    for wanted in (None, "en"):
        for label in labels:
            if label.language == wanted:
                return str(label)
    return str(labels[0]) if labels else str(subject).rsplit("/", 1)[-1]


def demo_machines(graph: Graph) -> list[DemoMachine]:
    """The machines of a plant graph (resources with gt:idealCycleTime), sorted by key.

    The temperature band comes from the machine kind (see ``plant.KINDS``); for
    other classes it is centred on the machine's gt:temperature.

    :raises ValueError: two machines map to the same key.
    """
    machines: dict[str, DemoMachine] = {}
    for subject in set(graph.subjects(GT.idealCycleTime, None)):
        if not isinstance(subject, URIRef):
            continue
        ideal = _number(graph, subject, GT.idealCycleTime)
        if ideal is None or ideal <= 0:
            continue
        rated = _number(graph, subject, GT.ratedPower) or 10.0
        band = next(
            (
                _CLASS_TEMPERATURES[t]
                for t in graph.objects(subject, RDF.type)
                if isinstance(t, URIRef) and t in _CLASS_TEMPERATURES
            ),
            None,
        )
        if band is None:
            centre = _number(graph, subject, GT.temperature) or 35.0
            band = (centre - 8.0, centre + 8.0)
        key = machine_key(str(subject))
        if key in machines:
            raise ValueError(f"machines {machines[key].iri} and {subject} share the key {key!r}")
        machines[key] = DemoMachine(
            key=key,
            name=_label(graph, subject),
            ideal_cycle_time_s=ideal,
            rated_power_kw=rated,
            temperature_range=band,
            iri=str(subject),
        )
    return [machines[key] for key in sorted(machines)]


# --------------------------------------------------------------------------- security


@dataclass(frozen=True)
class SecurityOptions:
    """Endpoints, certificates and logins of the demo server.

    :ivar certificate_dir: where the server certificate (``server-cert.der``) and key
        (``server-key.pem``) are created on first start and reused afterwards.
    :ivar allow_no_security: also offer the NoSecurity endpoint; when False, sessions
        over an unsecured channel are refused (GetEndpoints stays open for discovery).
    :ivar users: username -> password; enables username/password logins.
    :ivar allow_anonymous: accept anonymous sessions.
    :ivar trusted_clients_dir: when set, only client certificates in this directory
        (DER or PEM, re-read on every new session) are accepted, and they must carry
        the client's application URI and the clientAuth usage. When None, any client
        certificate is accepted.
    :ivar application_uri: the server's application URI (also in its certificate).
    :ivar hostnames: DNS names / IPs for the certificate; by default this host's name,
        "localhost" and the listening address.
    """

    certificate_dir: Path
    allow_no_security: bool = True
    users: Mapping[str, str] | None = None
    allow_anonymous: bool = True
    trusted_clients_dir: Path | None = None
    application_uri: str = DEFAULT_APPLICATION_URI
    hostnames: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.allow_anonymous and not self.users:
            raise ValueError("no way to log in: anonymous is disabled and there are no users")


class _DemoUserManager(UserManager):
    """Anonymous and/or password logins; never hands out asyncua's admin role."""

    def __init__(
        self, users: Mapping[str, str], *, allow_anonymous: bool, require_secure_channel: bool
    ) -> None:
        self._users = dict(users)
        self._allow_anonymous = allow_anonymous
        self._require_secure_channel = require_secure_channel

    def get_user(
        self,
        iserver: InternalServer,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        # ``certificate`` is the client's channel certificate, empty (b"") under NoSecurity.
        if self._require_secure_channel and not certificate:
            log.info("refused a session on an unsecured channel")
            return None
        if username is None:
            return User(role=UserRole.User) if self._allow_anonymous else None
        expected = self._users.get(username)
        if expected is None or password is None:
            log.info("refused login of unknown user %r", username)
            return None
        if not hmac.compare_digest(expected.encode(), str(password).encode()):
            log.info("refused login of %r: wrong password", username)
            return None
        return User(role=UserRole.User, name=username)


class _TrustListValidator:
    """Accept only client certificates present in a directory (re-read per session)."""

    def __init__(self, directory: Path) -> None:
        self._store = TrustStore([directory], [])
        self._validator = CertificateValidator(
            CertificateValidatorOptions.TRUSTED_VALIDATION
            | CertificateValidatorOptions.PEER_CLIENT,
            self._store,
        )

    async def __call__(self, cert: Any, app_description: ua.ApplicationDescription) -> None:
        try:
            await self._store.load_trust()
        except ValueError as exc:  # no certificate in the directory: nobody is trusted
            raise ServiceError(StatusCodes.BadCertificateUntrusted) from exc
        await self._validator.validate(cert, app_description)


# --------------------------------------------------------------------------- simulation

# Transition rates per second out of each state, to (state, rate) pairs.
_TRANSITIONS: Final[Mapping[str, tuple[tuple[str, float], ...]]] = {
    "producing": (("idle", 1 / 900), ("blocked", 1 / 600), ("down", 1 / 2400)),
    "idle": (("producing", 1 / 90),),
    "blocked": (("producing", 1 / 40),),
    "down": (("producing", 1 / 300),),
}
_INITIAL_STATE_WEIGHTS: Final = (75, 10, 8, 7)
_TEMPERATURE_TAU_S: Final = 180.0
_VIBRATION_TAU_S: Final = 4.0


@dataclass(slots=True)
class _Machine:
    """Simulation state of one machine and its NodeIds."""

    spec: DemoMachine
    rng: random.Random
    node_ids: tuple[ua.NodeId, ...]  # SIMULATED_VARIABLES order
    speed_node: ua.NodeId
    state: str
    speed: float
    inefficiency: float  # actual / ideal cycle time at 100 %
    quality: float  # probability that a part is good
    base_vibration: float
    temperature: float
    drift: float
    vibration: float
    power: float
    energy: float
    total: int
    good: int
    progress: float
    cycle_time: float
    values: list[ua.Variant] = field(default_factory=list)

    @classmethod
    def create(cls, spec: DemoMachine, seed: int, ns: int) -> _Machine:
        # Seeded per machine, so a machine's behaviour does not depend on its neighbours.
        rng = random.Random(f"{seed}:{spec.key}")
        state = rng.choices(MACHINE_STATES, _INITIAL_STATE_WEIGHTS)[0]
        low, high = spec.temperature_range
        total = int(8 * 3600 / spec.ideal_cycle_time_s * rng.uniform(50, 400))
        quality = rng.uniform(0.97, 0.995)
        inefficiency = rng.uniform(1.02, 1.12)
        machine = cls(
            spec=spec,
            rng=rng,
            node_ids=tuple(_string_id(f"{spec.key}.{name}", ns) for name in SIMULATED_VARIABLES),
            speed_node=_string_id(f"{spec.key}.{SPEED_SETPOINT}", ns),
            state=state,
            speed=100.0,
            inefficiency=inefficiency,
            quality=quality,
            base_vibration=rng.uniform(1.2, 3.5),
            temperature=0.0,
            drift=0.0,
            vibration=0.0,
            power=0.0,
            energy=round(spec.rated_power_kw * rng.uniform(2_000, 20_000), 1),
            total=total,
            good=int(total * rng.uniform(quality - 0.01, quality)),
            progress=rng.random(),
            cycle_time=spec.ideal_cycle_time_s * inefficiency,
        )
        machine.temperature = machine._temperature_target() + rng.gauss(0, 0.02 * (high - low))
        machine.vibration = machine._vibration_target()
        machine.power = machine._power()
        machine.values = machine._variants()
        return machine

    def _temperature_target(self) -> float:
        low, high = self.spec.temperature_range
        if self.state == "producing":
            return low + (high - low) * (0.55 + 0.35 * min(self.speed, 120.0) / 120.0)
        if self.state == "down":
            return low
        return low + (high - low) * 0.3

    def _vibration_target(self) -> float:
        if self.state == "producing":
            return self.base_vibration * (0.5 + 0.5 * self.speed / 100.0)
        return {"idle": 0.25, "blocked": 0.3}.get(self.state, 0.02)

    def _power(self) -> float:
        rated = self.spec.rated_power_kw
        gauss = self.rng.gauss
        if self.state == "producing":
            load = 0.58 + 0.25 * self.speed / 100.0 + gauss(0, 0.02)
            return rated * min(max(load, 0.6), 0.9)
        if self.state == "down":
            return rated * max(0.02 + gauss(0, 0.003), 0.0)
        base = 0.15 if self.state == "idle" else 0.18
        return rated * max(base + gauss(0, 0.01), 0.0)

    def _next_state(self, dt: float) -> str:
        if self.speed <= 0.0:
            # Stopped by the operator: finish nothing, wait for a speed again.
            return "idle" if self.state in ("producing", "idle") else self.state
        transitions = _TRANSITIONS[self.state]
        rate = sum(r for _, r in transitions)
        if self.rng.random() >= 1.0 - math.exp(-rate * dt):
            return self.state
        pick = self.rng.random() * rate
        for target, r in transitions:
            pick -= r
            if pick <= 0:
                return target
        return transitions[-1][0]

    def step(self, dt: float) -> None:
        rng = self.rng
        self.state = self._next_state(dt)
        if self.state == "producing":
            cycle = self.spec.ideal_cycle_time_s * 100.0 / self.speed * self.inefficiency
            self.progress += dt / cycle
            done = int(self.progress)
            if done:
                self.progress -= done
                self.total += done
                self.good += sum(1 for _ in range(done) if rng.random() < self.quality)
            self.cycle_time = cycle * (1.0 + rng.gauss(0, 0.01))
        low, high = self.spec.temperature_range
        span = high - low
        self.drift = min(
            max(self.drift + rng.gauss(0, 0.002 * span * math.sqrt(dt)), -0.05 * span), 0.05 * span
        )
        lag = 1.0 - math.exp(-dt / _TEMPERATURE_TAU_S)
        self.temperature += (self._temperature_target() + self.drift - self.temperature) * lag
        lag = 1.0 - math.exp(-dt / _VIBRATION_TAU_S)
        self.vibration += (self._vibration_target() - self.vibration) * lag
        self.power = self._power()
        self.energy += self.power * dt / 3600.0
        self.values = self._variants()

    def _variants(self) -> list[ua.Variant]:
        gauss = self.rng.gauss
        low, high = self.spec.temperature_range
        double = ua.VariantType.Double
        temperature = self.temperature + gauss(0, 0.003 * (high - low) + 0.02)
        vibration = max(self.vibration * (1.0 + gauss(0, 0.04)) + gauss(0, 0.01), 0.0)
        return [
            ua.Variant(round(self.cycle_time, 3), double),
            ua.Variant(round(temperature, 2), double),
            ua.Variant(round(vibration, 3), double),
            ua.Variant(round(self.power, 3), double),
            ua.Variant(round(self.energy, 4), double),
            ua.Variant(self.total, ua.VariantType.UInt64),
            ua.Variant(self.good, ua.VariantType.UInt64),
            ua.Variant(self.state, ua.VariantType.String),
        ]


# --------------------------------------------------------------------------- server


class DemoOpcUaServer:
    """An asyncua server publishing simulated signals of ``machines``.

    >>> server = DemoOpcUaServer(demo_machines(build_demo_plant()), port=4840)
    >>> await server.start(); server.endpoint
    'opc.tcp://127.0.0.1:4840/graphtwin/demo/'
    """

    # Writes between yields to the event loop, so sessions stay served during a tick.
    _WRITES_PER_YIELD: Final = 2000

    def __init__(
        self,
        machines: Sequence[DemoMachine],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        namespace_uri: str = DEFAULT_NAMESPACE_URI,
        security: SecurityOptions | None = None,
        seed: int = 7,
        tick: float = 1.0,
    ) -> None:
        if tick <= 0:
            raise ValueError(f"tick must be positive, got {tick}")
        keys = [machine.key for machine in machines]
        if len(set(keys)) != len(keys):
            raise ValueError("machine keys must be unique")
        self._specs = sorted(machines, key=lambda machine: machine.key)
        self._host = host
        self._requested_port = port
        self._namespace_uri = namespace_uri
        self._security = security
        self._seed = seed
        self._tick = tick
        self._server: Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._ns: int | None = None
        self._port: int | None = None
        self._machines: dict[str, _Machine] = {}
        self._by_speed_node: dict[ua.NodeId, _Machine] = {}
        self._certificate: Path | None = None
        self._private_key: Path | None = None
        self._tick_lock = asyncio.Lock()
        self.ticks = 0
        self.overruns = 0
        self.last_tick_seconds: float | None = None

    # ----------------------------------------------------------------- properties

    @property
    def machines(self) -> tuple[DemoMachine, ...]:
        return tuple(self._specs)

    @property
    def namespace_index(self) -> int:
        if self._ns is None:
            raise RuntimeError("the server is not started")
        return self._ns

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``opc.tcp://<host>:<port>/graphtwin/demo/`` (the real port once started)."""
        port = self._port if self._port is not None else self._requested_port
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"opc.tcp://{host}:{port}{ENDPOINT_PATH}"

    @property
    def server_certificate_path(self) -> Path | None:
        """The DER server certificate clients must trust (None without security)."""
        return self._certificate

    @property
    def application_uri(self) -> str:
        return self._security.application_uri if self._security else DEFAULT_APPLICATION_URI

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def node_id(self, machine_key: str, variable: str) -> str:
        """The string NodeId of a machine variable, e.g. ``ns=2;s=<key>.temperature``.

        :raises KeyError: unknown machine key or variable.
        :raises RuntimeError: the server is not started (the namespace index is unknown).
        """
        if variable not in _SPECS:
            raise KeyError(f"unknown variable {variable!r}; expected one of {', '.join(VARIABLES)}")
        if machine_key not in self._machines and all(s.key != machine_key for s in self._specs):
            raise KeyError(f"unknown machine key {machine_key!r}")
        return f"ns={self.namespace_index};s={machine_key}.{variable}"

    def speed_setpoint(self, machine_key: str) -> float:
        return self._machines[machine_key].speed

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the server is already started")
        started = time.perf_counter()
        security = self._security
        users: Mapping[str, str] = (security.users or {}) if security else {}
        manager = _DemoUserManager(
            users,
            allow_anonymous=security.allow_anonymous if security else True,
            require_secure_channel=security is not None and not security.allow_no_security,
        )
        server = Server(user_manager=manager)
        self._server = server
        try:
            await server.init()
            server.set_endpoint(self.endpoint)
            server.set_server_name("graphtwin demo OPC UA server")
            server.product_uri = "urn:graphtwin"
            server.manufacturer_name = "graphtwin"
            server.allow_remote_admin(False)
            await server.set_application_uri(self.application_uri)
            await self._configure_security(server)
            self._ns = await server.register_namespace(self._namespace_uri)
            await self._build_address_space(server, self._ns)
            await server.start()
        except BaseException:
            self._server = None
            self._ns = None
            raise
        bserver = server.bserver
        self._port = bserver.port if bserver is not None else self._requested_port
        self._task = asyncio.create_task(self._run(), name="graphtwin-demo-opcua-ticks")
        log.info(
            "demo OPC UA server on %s: %d machines, %d variables, started in %.2f s",
            self.endpoint,
            len(self._machines),
            len(self._machines) * len(VARIABLES),
            time.perf_counter() - started,
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        self._ns = None
        self._port = None

    async def __aenter__(self) -> DemoOpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def ensure_certificate(self) -> Path | None:
        """Create the server certificate and key on first use, reuse them afterwards.

        ``start`` calls this; call it before to hand the certificate to clients early.

        :returns: the DER certificate's path, None without ``security``.
        """
        security = self._security
        if security is None:
            return None
        hostnames = security.hostnames
        if hostnames is None:
            hostnames = tuple(
                dict.fromkeys(
                    [socket.gethostname(), "localhost"]
                    + ([self._host] if self._host not in ("", "0.0.0.0", "::") else [])
                )
            )
        elif socket.gethostname() not in hostnames:
            hostnames = (*hostnames, socket.gethostname())
        cert, key = await asyncio.to_thread(
            ensure_server_certificate,
            security.certificate_dir,
            security.application_uri,
            hostnames=hostnames,
            common_name="graphtwin demo OPC UA server",
        )
        self._certificate, self._private_key = cert, key
        return cert

    async def _configure_security(self, server: Server) -> None:
        security = self._security
        if security is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
            return
        await self.ensure_certificate()
        if self._certificate is None or self._private_key is None:
            raise RuntimeError("the server certificate was not created")
        await server.load_certificate(self._certificate)
        await server.load_private_key(self._private_key)
        policies = [
            ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
            ua.SecurityPolicyType.Basic256Sha256_Sign,
        ]
        if security.allow_no_security:
            policies.insert(0, ua.SecurityPolicyType.NoSecurity)
        server.set_security_policy(policies)
        tokens: list[type] = []
        if security.allow_anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        if security.users:
            tokens.append(ua.UserNameIdentityToken)
        server.set_identity_tokens(tokens)
        if security.trusted_clients_dir is not None:
            security.trusted_clients_dir.mkdir(parents=True, exist_ok=True)
            server.set_certificate_validator(_TrustListValidator(security.trusted_clients_dir))

    async def _build_address_space(self, server: Server, ns: int) -> None:
        """Add folders, machine objects and variables in one AddNodes batch."""
        items: list[ua.AddNodesItem] = []
        root = _string_id("plant", ns)
        items.append(
            _object_item(root, _standard_id(ObjectIds.ObjectsFolder), "DemoPlant", ns, folder=True)
        )
        parents: dict[str, ua.NodeId] = {"": root}
        minimum_interval = self._tick * 1000.0
        self._machines = {}
        self._by_speed_node = {}
        for spec in self._specs:
            segments = spec.key.split("/")
            for depth in range(1, len(segments)):
                prefix = "/".join(segments[:depth])
                if prefix not in parents:
                    node = _string_id(prefix, ns)
                    parent = parents["/".join(segments[: depth - 1])]
                    items.append(_object_item(node, parent, segments[depth - 1], ns, folder=True))
                    parents[prefix] = node
            machine = _Machine.create(spec, self._seed, ns)
            node = _string_id(spec.key, ns)
            items.append(
                _object_item(
                    node,
                    parents["/".join(segments[:-1])],
                    segments[-1],
                    ns,
                    folder=False,
                    display=spec.name,
                    description=spec.iri or spec.key,
                )
            )
            parents.setdefault(spec.key, node)
            initial = [*machine.values, ua.Variant(machine.speed, ua.VariantType.Double)]
            for name, nodeid, value in zip(
                VARIABLES, (*machine.node_ids, machine.speed_node), initial, strict=True
            ):
                items.append(
                    _variable_item(
                        nodeid,
                        node,
                        name,
                        ns,
                        value,
                        _SPECS[name],
                        writable=name == SPEED_SETPOINT,
                        minimum_interval=minimum_interval,
                    )
                )
            self._machines[spec.key] = machine
            self._by_speed_node[machine.speed_node] = machine
        results = await server.iserver.isession.add_nodes(items)
        for item, result in zip(items, results, strict=True):
            if not result.StatusCode.is_good():
                raise RuntimeError(f"cannot add {item.RequestedNewNodeId}: {result.StatusCode}")
        for machine in self._machines.values():
            server.set_attribute_value_setter(machine.speed_node, self._write_speed)

    def _write_speed(self, node: NodeData, attr: AttributeIds, value: ua.DataValue) -> None:
        """Validate and store a client's speed setpoint (the machine follows next tick)."""
        speed = value.Value.Value if value.Value is not None else None
        if not isinstance(speed, float) or not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
            raise ServiceError(StatusCodes.BadOutOfRange)
        now = ua.DateTime.now(UTC)
        node.attributes[attr].value = dataclasses.replace(
            value,
            SourceTimestamp=value.SourceTimestamp or now,
            ServerTimestamp=now,
        )
        machine = self._by_speed_node.get(node.nodeid)
        if machine is not None:
            machine.speed = speed
            log.info("speed setpoint of %s set to %.1f %%", machine.spec.key, speed)

    # ----------------------------------------------------------------- ticking

    async def tick_once(self, dt: float | None = None) -> float:
        """Advance every machine by ``dt`` seconds (default: one tick) and publish.

        :returns: the wall time the update took, in seconds.
        """
        server = self._server
        if server is None:
            raise RuntimeError("the server is not started")
        step = self._tick if dt is None else dt
        async with self._tick_lock:
            started = time.perf_counter()
            now = ua.DateTime.now(UTC)
            good = ua.StatusCode()
            write = server.write_attribute_value
            pending = 0
            for machine in self._machines.values():
                machine.step(step)
                for nodeid, variant in zip(machine.node_ids, machine.values, strict=True):
                    await write(
                        nodeid,
                        _SharedDataValue(variant, good, SourceTimestamp=now, ServerTimestamp=now),
                    )
                pending += len(machine.node_ids)
                if pending >= self._WRITES_PER_YIELD:
                    pending = 0
                    await asyncio.sleep(0)
            elapsed = time.perf_counter() - started
            self.ticks += 1
            self.last_tick_seconds = elapsed
        return elapsed

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        last = time.monotonic()
        while True:
            deadline += self._tick
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                # Fell behind: skip the missed ticks instead of bursting to catch up.
                self.overruns += 1
                # A single overrun is usually someone else blocking the loop; a habit is not.
                level = (
                    logging.WARNING
                    if self.overruns in (10, 100) or not self.overruns % 1000
                    else logging.DEBUG
                )
                if log.isEnabledFor(level):
                    log.log(
                        level,
                        "demo OPC UA tick overran %d time(s); last tick took %.3f s",
                        self.overruns,
                        self.last_tick_seconds or 0.0,
                    )
                deadline = loop.time()
                await asyncio.sleep(0)
            now = time.monotonic()
            dt, last = now - last, now
            try:
                await self.tick_once(dt)
            except Exception:
                log.exception("demo OPC UA tick failed")


class _SharedDataValue(ua.DataValue):
    """A DataValue that asyncua may share instead of deep-copying.

    asyncua deep-copies every DataValue written to a node with monitored items
    (``MonitoredItemValues.set_current_datavalue``), ~80 µs each: at 10,000
    monitored variables that alone is most of a second per tick. The simulation
    creates a fresh DataValue per write and never mutates it, and asyncua itself
    only replaces DataValues, so sharing is safe.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> _SharedDataValue:
        return self


def _string_id(identifier: str, ns: int) -> ua.NodeId:
    return ua.NodeId(ua.String(identifier), ua.Int16(ns))


def _standard_id(object_id: int) -> ua.NodeId:
    return ua.NodeId(ua.Int32(object_id))


def _object_item(
    nodeid: ua.NodeId,
    parent: ua.NodeId,
    browse_name: str,
    ns: int,
    *,
    folder: bool,
    display: str | None = None,
    description: str | None = None,
) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = nodeid
    item.BrowseName = ua.QualifiedName(browse_name, ns)
    item.ParentNodeId = parent
    item.ReferenceTypeId = _standard_id(ObjectIds.Organizes)
    item.NodeClass = ua.NodeClass.Object
    item.TypeDefinition = _standard_id(ObjectIds.FolderType if folder else ObjectIds.BaseObjectType)
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText(display or browse_name)
    attrs.Description = ua.LocalizedText(description or browse_name)
    attrs.EventNotifier = 0
    attrs.WriteMask = 0
    attrs.UserWriteMask = 0
    item.NodeAttributes = attrs
    return item


def _variable_item(
    nodeid: ua.NodeId,
    parent: ua.NodeId,
    browse_name: str,
    ns: int,
    value: ua.Variant,
    spec: _VariableSpec,
    *,
    writable: bool,
    minimum_interval: float,
) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = nodeid
    item.BrowseName = ua.QualifiedName(browse_name, ns)
    item.ParentNodeId = parent
    item.ReferenceTypeId = _standard_id(ObjectIds.HasComponent)
    item.NodeClass = ua.NodeClass.Variable
    item.TypeDefinition = _standard_id(ObjectIds.BaseDataVariableType)
    access = ua.AccessLevel.CurrentRead.mask
    if writable:
        access |= ua.AccessLevel.CurrentWrite.mask
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(browse_name)
    attrs.Description = ua.LocalizedText(spec.description)
    attrs.DataType = _standard_id(spec.datatype)
    attrs.Value = value
    attrs.ValueRank = ua.ValueRank.Scalar
    attrs.AccessLevel = access
    attrs.UserAccessLevel = access
    attrs.MinimumSamplingInterval = minimum_interval
    attrs.Historizing = False
    attrs.WriteMask = 0
    attrs.UserWriteMask = 0
    item.NodeAttributes = attrs
    return item


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m graphtwin.demo.opcua_server",
        description="Serve simulated machine signals of the graphtwin demo plant over OPC UA.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4840, help="TCP port, 0 = any free (4840)")
    parser.add_argument(
        "--machines",
        type=int,
        default=None,
        help="simulate a synthetic plant of N machines (default: the 46-machine demo plant)",
    )
    parser.add_argument("--tick", type=float, default=1.0, help="update period in seconds")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the simulation")
    parser.add_argument(
        "--cert-dir",
        type=Path,
        default=None,
        help="enable Basic256Sha256 endpoints; server certificate and key live here",
    )
    parser.add_argument(
        "--no-none", action="store_true", help="with --cert-dir: disable the NoSecurity endpoint"
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="with --cert-dir: accept this username/password (repeatable)",
    )
    parser.add_argument(
        "--no-anonymous", action="store_true", help="with --cert-dir and --user: refuse anonymous"
    )
    parser.add_argument(
        "--trusted-clients",
        type=Path,
        default=None,
        help="with --cert-dir: accept only client certificates in this directory",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (INFO)")
    args = parser.parse_args(argv)
    if (
        args.no_none or args.user or args.no_anonymous or args.trusted_clients
    ) and not args.cert_dir:
        parser.error("--no-none, --user, --no-anonymous and --trusted-clients need --cert-dir")
    for user in args.user:
        if ":" not in user:
            parser.error(f"--user expects NAME:PASSWORD, got {user!r}")
    return args


async def _serve(args: argparse.Namespace) -> None:
    from graphtwin.demo.plant import build_demo_plant, generate_plant

    graph = build_demo_plant() if args.machines is None else generate_plant(args.machines)
    security = None
    if args.cert_dir is not None:
        security = SecurityOptions(
            certificate_dir=args.cert_dir,
            allow_no_security=not args.no_none,
            users=dict(user.split(":", 1) for user in args.user) or None,
            allow_anonymous=not args.no_anonymous,
            trusted_clients_dir=args.trusted_clients,
        )
    server = DemoOpcUaServer(
        demo_machines(graph),
        host=args.host,
        port=args.port,
        security=security,
        seed=args.seed,
        tick=args.tick,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        first = server.machines[0].key
        log.info("endpoint %s", server.endpoint)
        log.info("e.g. %s", server.node_id(first, "temperature"))
        if server.server_certificate_path is not None:
            log.info("server certificate %s", server.server_certificate_path)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60):
                    await stop.wait()
            log.info(
                "%d ticks, last took %.3f s, %d overruns",
                server.ticks,
                server.last_tick_seconds or 0.0,
                server.overruns,
            )


def main(argv: Sequence[str] | None = None) -> None:
    """Run a standalone demo server until interrupted."""
    args = _parse_args(argv)
    configure_logging(args.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
