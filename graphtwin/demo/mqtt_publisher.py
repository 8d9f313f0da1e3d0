"""A demo field simulator publishing plain JSON over MQTT, plus the machine signals
it shares with the Sparkplug demo edge node.

Topics look like ``acme/{site}/{line}/{machine}/temperature`` and payloads like
``{"value": 71.3, "ts": "2026-11-22T10:00:00.123Z"}``: the shape of the many
"just MQTT" gateways a twin has to ingest next to Sparkplug. The simulator knows
nothing about the graph; it is given plain identifiers.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

# Signal name -> simulated value; the names double as MQTT topic suffixes and
# Sparkplug metric names.
TEMPERATURE = "temperature"
VIBRATION = "spindle/vibration"
STATE = "state"
COUNT = "count/total"
SIGNALS = (TEMPERATURE, VIBRATION, STATE, COUNT)

# Weighted like a healthy machine: mostly producing, a little of every loss.
_STATES = ("producing", "idle", "blocked", "down", "setup")
_STATE_WEIGHTS = (70, 10, 8, 6, 6)
_STATE_CHANGE_PROBABILITY = 0.05


@dataclass(frozen=True)
class Sample:
    temperature: float  # °C
    vibration: float  # mm/s RMS
    state: str
    count_total: int

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            TEMPERATURE: self.temperature,
            VIBRATION: self.vibration,
            STATE: self.state,
            COUNT: self.count_total,
        }


class MachineSignals:
    """Deterministic signals of one machine: the same seed and slug give the same series.

    Temperature drifts (a slow random walk pulled towards a state-dependent set
    point) with sensor noise; vibration follows the state; the part counter only
    increases while producing.
    """

    def __init__(self, machine: str, seed: int = 0) -> None:
        # str seeds are hashed with SHA-512 by random, so they are stable across runs
        # (unlike hash(), which is salted per process).
        self._rng = random.Random(f"{seed}:{machine}")
        self._state = "producing"
        self._base = self._rng.uniform(45.0, 65.0)
        self._temperature = self._base
        self._count = self._rng.randrange(1000, 50_000)
        self.current = self._sample(vibration=2.0)

    def _sample(self, vibration: float) -> Sample:
        return Sample(round(self._temperature, 2), round(vibration, 3), self._state, self._count)

    def step(self) -> Sample:
        rng = self._rng
        if rng.random() < _STATE_CHANGE_PROBABILITY:
            self._state = rng.choices(_STATES, _STATE_WEIGHTS)[0]
        producing = self._state == "producing"
        target = self._base + (8.0 if producing else -5.0)
        self._temperature += 0.05 * (target - self._temperature) + rng.gauss(0.0, 0.15)
        vibration = abs(rng.gauss(3.0, 0.4) if producing else rng.gauss(0.2, 0.05))
        if producing:
            self._count += rng.randrange(0, 4)
        self.current = self._sample(vibration)
        return self.current


def iso_utc_ms(moment: datetime) -> str:
    """``2026-11-22T10:00:00.123Z``: ISO 8601, UTC, millisecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DemoJsonPublisher:
    """Publishes every signal of every machine as JSON, every ``interval`` seconds.

    ``machines`` are ``(site, line, machine)`` slugs. ``start()`` connects and
    starts a background thread; ``stop()`` ends it and disconnects cleanly.
    """

    def __init__(
        self,
        host: str,
        port: int,
        machines: Sequence[tuple[str, str, str]],
        *,
        prefix: str = "acme",
        interval: float = 1.0,
        seed: int = 0,
        qos: int = 0,
        client_id: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.host = host
        self.port = port
        self.prefix = prefix
        self.interval = interval
        self.qos = qos
        self._clock = clock
        self._machines = [(site, line, machine) for site, line, machine in machines]
        self._signals = {m: MachineSignals("/".join(m), seed) for m in self._machines}
        self._client_id = client_id or f"graphtwin-demo-json-{prefix}"
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()

    def topic(self, site: str, line: str, machine: str, signal: str) -> str:
        return f"{self.prefix}/{site}/{line}/{machine}/{signal}"

    def topics(self) -> list[str]:
        return [self.topic(*m, signal) for m in self._machines for signal in SIGNALS]

    def start(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            raise RuntimeError("publisher already started")
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        self._client = client
        if not self._connected.wait(timeout):
            self._shutdown()
            raise TimeoutError(f"no CONNACK from {self.host}:{self.port} within {timeout}s")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-json-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._shutdown()

    def publish_once(self) -> int:
        """Advance every machine one step and publish all signals; returns messages sent."""
        client = self._client
        if client is None or not self._connected.is_set():
            return 0
        ts = iso_utc_ms(self._clock())
        sent = 0
        for machine in self._machines:
            sample = self._signals[machine].step()
            for signal, value in sample.as_dict().items():
                payload = json.dumps({"value": value, "ts": ts})
                client.publish(self.topic(*machine, signal), payload, qos=self.qos)
                sent += 1
        return sent

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.publish_once()

    def _shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._connected.clear()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("demo JSON publisher: connection refused: %s", reason_code)
            return
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("demo JSON publisher: disconnected (%s); paho reconnects", reason_code)

    def __enter__(self) -> DemoJsonPublisher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
