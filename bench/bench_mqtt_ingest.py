"""MQTT JSON ingest: a separate publisher process -> Mosquitto -> graphtwin's live
cache and history, stepped over offered rates; and a bare paho subscriber.

Two payload layouts (``--values-per-message N``; the full run runs N=1 and N=10):

- **N=1**: one value a message, one topic per bound property (8 per machine,
  ``bench/<machine>/<property>``, ``{"ts": "...", "value": <value>}``, ``valuePath
  "value"``);
- **N>1**: the common IIoT layout, one JSON object per machine and cycle on
  ``plant/<machine>``, ``{"ts": "...", "temperature": 71.25, "vibrationVelocity":
  ..., ...}`` with N keys (decimal and integer properties of graphtwin-core.ttl,
  ``RECORD_PROPERTIES``), and N ``gtb:MqttBinding`` sharing that topic (same
  ``gtb:topic`` and ``timestampPath "ts"``, ``valuePath`` the key, each to a
  different property of the machine): the adapter parses the JSON once a message
  and makes one sample per binding.

Offered and reported rates are **values/s** in both (messages/s = values/s / N;
the tables show both), so the target reads the same: paho's ceiling is in
messages/s, and N values a message lift the values/s one can reach through it.

Setup (not measured in the steps): a Mosquitto of our own (temp dir, free port on
127.0.0.1, ``max_inflight_messages 0``, ``max_queued_messages`` 10,000,000), the
embedded engine in a temp dir as ``bootstrap.running`` builds it, a
``generate_plant`` plant and its ``gtb:MqttBinding`` (JSON, ``timestampPath "ts"``;
1,000 with N=1 and 125 machines, 125 x N with N>1), imported with
``import_graph``; then ``build_live`` + ``live.start()``.

Publisher: a spawned process speaking MQTT 3.1.1 over a raw socket (prebuilt
PUBLISH packets, a reader thread counting PUBACKs, at most 60,000 in flight), so
that offering 30,000 values/s costs it a fraction of a core of the two. It
publishes **QoS 1**: a subscriber gets ``min(publish QoS, subscription QoS)``, so
only a QoS 1 publish exercises graphtwin's QoS 1 path (PUBACK after the history
commit, the broker's in-flight window as backpressure); with QoS 0 the broker
would deliver at QoS 0 and graphtwin would never acknowledge anything. Each step
publishes round-robin over all topics at a fixed offered rate (values/s / N
messages/s) for a fixed time; ``"ts"`` is the publish time (microseconds apart, so
no two values of a series share a source time and history drops nothing as a
duplicate).

Measured per step, from outside the product code, in values:

- **into cache**: values in the live cache (``live.ingest.accepted``) during the
  publishing window / its length; **durable**: the same for samples committed to
  history (``history.stats()`` written + duplicates);
- **backlog** = published - in cache, sampled every 0.25 s: what is left when the
  publisher stops, its slope over the second half of the window (growing or not),
  and the time to drain it (cache and history) after the publisher's last PUBACK;
- **latency publish -> queryable**, per value: a stand-in assigned to
  ``cache.put_many`` takes the wall time right after the put minus ``"ts"``;
  **publish -> durable**: a stand-in for ``ingest.history`` wraps each message's
  ``on_durable`` (the PUBACK callback, run after the commit);
- CPU of this process (paho's thread, the history writer, the event loop), of
  the broker and of the publisher, from /proc.

A step is *sustained* when the cache took >= 95 % of the published rate and the
backlog drained within 1 s (cache and history). The highest sustained step is the
result. A warm-up (every topic once, then the first rate for a few seconds) is not
reported.

**Baseline**, same run, a fresh broker, the same publisher and steps: a bare paho v2
subscriber (MQTT 5, the same Receive Maximum as graphtwin, QoS 1 subscriptions to
the same topics, paho's automatic PUBACK) whose ``on_message`` only ``json.loads``
the payload and takes out its N values, counting them (it also takes the latency
from ``"ts"``). The ratio is graphtwin's highest sustained rate / the bare one's.

    python bench/bench_mqtt_ingest.py            # N=1 and N=10, 125 machines; ~3.5-5 min
    python bench/bench_mqtt_ingest.py --quick    # N=1, 200 topics; 2k and 5k values/s; ~30 s
    python bench/bench_mqtt_ingest.py --quick --values-per-message 10   # 10k, 25k values/s
    python bench/bench_mqtt_ingest.py --values-per-message 10 --rates 20000,40000
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    Deadline,
    base_parser,
    bench_settings,
    cpu_seconds,
    engine_name,
    fmt,
    free_port,
    machine_summary,
    own_cpu_seconds,
    percentile,
    print_table,
    process_tree,
    temp_data_dir,
    write_json,
)

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TARGET_RATE = 20_000
TARGET_RATIO = 0.5
SUSTAINED_SHARE = 0.95
SUSTAINED_DRAIN_S = 1.0
SAMPLE_EVERY = 0.25
MAX_INFLIGHT = 60_000  # MQTT packet ids are 16 bits

# "rates": values/s with one value a message; "message_rates": messages/s with N > 1
# (the steps are N x those values/s). "max_seconds" caps the whole run, all N.
FULL: dict[str, Any] = {
    "machines": 125,
    "rates": (2_000, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 15_000, 20_000, 30_000),
    "message_rates": (1_000, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000, 6_000, 8_000),
    "seconds": 6.0,
    "drain": 6.0,
    "warm": 3.0,
    "max_seconds": 270.0,
}
QUICK: dict[str, Any] = {
    "machines": 25,
    "rates": (2_000, 5_000),
    "message_rates": (1_000, 2_500),
    "seconds": 2.5,
    "drain": 2.5,
    "warm": 1.0,
    "max_seconds": 40.0,
}
FULL_VALUES_PER_MESSAGE = (1, 10)  # without --values-per-message; --quick runs N=1

# One value a message: bound properties of every machine, a topic each, and the JSON
# value each one is published with.
PROPERTIES = {
    "cycleTime": "float",
    "temperature": "float",
    "vibrationVelocity": "float",
    "activePower": "float",
    "energyConsumed": "float",
    "totalCount": "int",
    "goodCount": "int",
    "machineState": "str",
}

# N values a message: one JSON object per machine with the first N of these as keys,
# each bound to the property of that name (decimal and integer properties of
# graphtwin-core.ttl: the measured ones, then figures a controller reports as well).
RECORD_PROPERTIES = {
    "temperature": "float",
    "vibrationVelocity": "float",
    "activePower": "float",
    "energyConsumed": "float",
    "cycleTime": "float",
    "totalCount": "int",
    "goodCount": "int",
    "operatingHours": "float",
    "speedSetpoint": "float",
    "idealCycleTime": "float",
    "mtbf": "float",
    "mttr": "float",
    "maintenanceInterval": "float",
    "ratedPower": "float",
    "ratedVoltage": "float",
}


# -- the broker --------------------------------------------------------------------


class Broker:
    """A Mosquitto of our own on a free 127.0.0.1 port, no persistence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_inflight_messages 0\n"
            "max_queued_messages 10000000\n"
            "max_queued_bytes 0\n"
            "log_type error\n"
            "log_type warning\n"
            f"log_dest file {directory}/mosquitto.log\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 10.0) -> None:
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed (Debian package 'mosquitto')")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the publisher (a spawned process) --------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def payload(ts: str, values: Sequence[tuple[str, str]]) -> bytes:
    """The JSON a topic carries: ``{"ts": "<ISO 8601>", "<key>": <value>, ...}`` from
    (key, JSON value) pairs: ``"value"`` alone with one value a message, else a key
    per property."""
    fields = b"".join(b', "' + key.encode() + b'": ' + value.encode() for key, value in values)
    return b'{"ts": "' + ts.encode() + b'"' + fields + b"}"


def publish_packet(topic: bytes, packet_id: int, body: bytes) -> bytes:
    """An MQTT 3.1.1 QoS 1 PUBLISH; ``topic`` already length-prefixed."""
    rest = topic + packet_id.to_bytes(2, "big") + body
    return b"\x32" + _varint(len(rest)) + rest


def _value(kind: str, n: int) -> str:
    if kind == "int":
        return str(n)
    if kind == "str":
        return '"producing"' if n % 7 else '"idle"'
    return f"{n % 1000}.25"


class RawPublisher:
    """A minimal MQTT 3.1.1 client: QoS 1 PUBLISH out, PUBACKs counted by a thread."""

    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        variable = _string("MQTT") + bytes([4, 0x02]) + (0).to_bytes(2, "big")  # keepalive off
        rest = variable + _string(client_id)
        self.sock.sendall(b"\x10" + _varint(len(rest)) + rest)
        connack = self._read_exactly(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise RuntimeError(f"broker refused the publisher: {connack!r}")
        self.sock.settimeout(None)
        self.acked = 0
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            i, size = 0, len(buf)
            while size - i >= 2:
                # Remaining length: one byte for a PUBACK; decode in general anyway.
                length, shift, j = 0, 0, i + 1
                while j < size:
                    byte = buf[j]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    j += 1
                    if not byte & 0x80:
                        break
                else:
                    break
                if size - j < length:
                    break
                if buf[i] >> 4 == 4:
                    self.acked += 1
                i = j + length
            buf = buf[i:]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def publish(
    port: int,
    topics: Sequence[str],
    fields: Sequence[Sequence[tuple[str, str, str]]],
    rate: float,
    seconds: float,
    sent_counter: Any,
    *,
    total: int | None = None,
) -> dict[str, Any]:
    """Publish round-robin over ``topics`` at ``rate`` values/s for ``seconds`` (or
    ``total`` messages, one per topic and round); a topic's message carries its
    ``fields`` (JSON key, property, kind), the same number on every topic. Returns
    what was sent and acked (values; ``messages`` too) and when."""
    topic_bytes = [_string(t) for t in topics]
    n_topics = len(topics)
    per_message = len(fields[0])
    keys = [[(key, kind) for key, _prop, kind in f] for f in fields]
    rate = rate / per_message  # messages/s from here on
    wanted = total if total is not None else int(rate * seconds)
    client = RawPublisher(port, f"bench-publisher-{os.getpid()}-{time.monotonic_ns()}")
    cpu0 = own_cpu_seconds()
    sent = stalled = 0
    start = time.perf_counter()
    stop_at = start + (seconds if total is None else 60.0)
    try:
        while sent < wanted:
            now = time.perf_counter()
            if now >= stop_at:
                break
            due = min(wanted, int(rate * (now - start)) + 1)
            if due <= sent:
                time.sleep(min(0.002, max(0.0, (sent + 1) / rate - (now - start))))
                continue
            room = MAX_INFLIGHT - (sent - client.acked)
            if room <= 0:
                stalled += 1
                time.sleep(0.001)
                continue
            n = min(due - sent, room, 2_000)
            base = time.time()
            chunk = []
            for j in range(n):
                seq = sent + j
                index = seq % n_topics
                ts = datetime.fromtimestamp(base + j * 1e-6, UTC).isoformat()
                cycle = seq // n_topics
                values = [
                    (key, _value(kind, cycle + k)) for k, (key, kind) in enumerate(keys[index])
                ]
                body = payload(ts, values)
                chunk.append(publish_packet(topic_bytes[index], seq % 65535 + 1, body))
            client.sock.sendall(b"".join(chunk))
            sent += n
            sent_counter.value = sent * per_message
        elapsed = time.perf_counter() - start
        ack_deadline = time.monotonic() + 30
        while client.acked < sent and time.monotonic() < ack_deadline:
            time.sleep(0.005)
        acked_after = time.perf_counter() - start
    finally:
        client.close()
    return {
        "sent": sent * per_message,
        "messages": sent,
        "seconds": elapsed,
        "acked": client.acked * per_message,
        "acked_after": acked_after,
        "stalls": stalled,
        "cpu": own_cpu_seconds() - cpu0,
    }


def publisher_main(
    conn: Any, topics: list[str], fields: list[Any], sent_counter: Any
) -> None:  # pragma: no cover - runs in the spawned process
    """Serve ``("run", port, rate, seconds)`` / ``("each", port)`` until ``None``."""
    while True:
        command = conn.recv()
        if command is None:
            return
        try:
            if command[0] == "each":
                rate = 5_000.0 * len(fields[0])  # 5,000 messages/s
                result = publish(
                    command[1], topics, fields, rate, 0.0, sent_counter, total=len(topics)
                )
            else:
                _, port, rate, seconds = command
                result = publish(port, topics, fields, rate, seconds, sent_counter)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            result = {"error": f"{type(exc).__name__}: {exc}"}
        conn.send(result)


class Publisher:
    """The publisher process, driven step by step from the parent; ``sent`` counts
    values."""

    def __init__(self, topics: list[str], fields: list[Any]) -> None:
        ctx = mp.get_context("spawn")
        self.sent = ctx.Value("q", 0, lock=False)
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=publisher_main, args=(child, topics, fields, self.sent), daemon=True
        )
        self.process.start()
        child.close()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def begin(self, command: tuple[Any, ...]) -> None:
        self.sent.value = 0
        self._conn.send(command)

    def result(self) -> dict[str, Any] | None:
        """The step's result once the publisher is done, else None."""
        if not self._conn.poll():
            return None
        out: dict[str, Any] = self._conn.recv()
        if "error" in out:
            raise RuntimeError(f"publisher failed: {out['error']}")
        return out

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send(None)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self._conn.close()


# -- probes (stand-ins from outside the product code) ------------------------------


class CacheProbe:
    """Assigned over ``cache.put_many``: publish -> queryable latency of every sample."""

    def __init__(self, cache: Any) -> None:
        from graphtwin.values import Quality

        self.latencies: list[float] = []
        original = cache.put_many
        good = Quality.GOOD

        def put_many(samples: Sequence[Any]) -> None:
            original(samples)
            now = time.time()
            out = self.latencies
            # The values of a message share one source time: convert it once.
            last_time, latency = None, 0.0
            for sample in samples:
                if sample.quality is good:
                    if sample.source_time is not last_time:
                        last_time = sample.source_time
                        latency = now - last_time.timestamp()
                    out.append(latency)

        cache.put_many = put_many


class HistoryProbe:
    """Stands in for ``ingest.history``: publish -> durable (the PUBACK callback)."""

    def __init__(self, history: Any) -> None:
        self._history = history
        self.latencies: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._history, name)

    def append(self, samples: Sequence[Any], on_durable: Callable[[], None] | None = None) -> None:
        if not samples:
            self._history.append(samples, on_durable)
            return
        source = samples[0].source_time.timestamp()
        out = self.latencies

        def durable() -> None:
            out.append(time.time() - source)
            if on_durable is not None:
                on_durable()

        self._history.append(samples, durable)


# -- the bare subscriber ---------------------------------------------------------------


class BareSubscriber:
    """paho v2, MQTT 5, QoS 1, automatic PUBACK; ``on_message`` only parses the JSON
    and takes out the values (``keys``: the JSON keys of each topic); ``received``
    counts values."""

    def __init__(self, port: int, topics: Sequence[str], keys: Sequence[Sequence[str]]) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        from paho.mqtt.subscribeoptions import SubscribeOptions

        from graphtwin.live.mqtt import RECEIVE_MAXIMUM

        self.received = 0
        self.latencies: list[float] = []
        self.subscribed = threading.Event()
        self._topics = list(topics)
        self._keys = {topic: tuple(k) for topic, k in zip(topics, keys, strict=True)}
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"bench-bare-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        self.client = client

        def on_connect(c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                c.subscribe([(t, SubscribeOptions(qos=1)) for t in self._topics])

        def on_subscribe(*_args: Any) -> None:
            self.subscribed.set()

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        client.connect("127.0.0.1", port, keepalive=15, clean_start=True, properties=props)
        client.loop_start()
        if not self.subscribed.wait(15):
            raise RuntimeError("the bare subscriber did not get its SUBACK")

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        document = json.loads(msg.payload)
        values = [document[key] for key in self._keys[msg.topic]]
        self.received += len(values)
        # One latency a message: its values share "ts" and arrive together, so the
        # (nearest-rank) percentiles per value are the same.
        self.latencies.append(time.time() - datetime.fromisoformat(document["ts"]).timestamp())

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# -- one step ----------------------------------------------------------------------------


@dataclass
class Subject:
    """What a step measures: counters, latency lists, and whose CPU to read."""

    name: str
    cached: Callable[[], int]  # values taken (graphtwin: into the live cache)
    durable: Callable[[], int] | None  # values committed to history (graphtwin only)
    latency: Callable[[], list[float]]  # publish -> queryable (swapped per step)
    reset_latency: Callable[[], None]
    durable_latency: Callable[[], list[float]] | None = None
    pids: dict[str, int] = field(default_factory=dict)


class GcTimer:
    """Time this process spends in the cyclic garbage collector (a ``gc.callbacks``
    entry): samples live until their history commit and in the cache, long enough
    to reach the oldest generation, whose collections walk the whole heap."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (t, y)."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return float("nan")
    return sum((t - mt) * (y - my) for t, y in points) / den


async def run_step(
    subject: Subject,
    publisher: Publisher,
    port: int,
    rate: int,
    seconds: float,
    drain: float,
) -> dict[str, Any]:
    """Publish at ``rate`` for ``seconds``; sample the backlog; wait up to ``drain``."""
    cached0 = subject.cached()
    durable0 = subject.durable() if subject.durable else 0
    subject.reset_latency()
    cpu0 = {name: cpu_seconds(pid) for name, pid in subject.pids.items()}
    own0 = own_cpu_seconds()
    samples: list[tuple[float, int, int, int]] = []  # t, sent, cached, durable
    gc_timer = GcTimer()
    gc.callbacks.append(gc_timer)
    start = time.perf_counter()
    publisher.begin(("run", port, rate, seconds))
    result = None
    while result is None:
        await asyncio.sleep(SAMPLE_EVERY)
        t = time.perf_counter() - start
        durable = (subject.durable() - durable0) if subject.durable else 0
        samples.append((t, publisher.sent.value, subject.cached() - cached0, durable))
        result = publisher.result()
    done_at = time.perf_counter() - start  # the publisher's last PUBACK (roughly)
    sent = result["sent"]  # values
    window = result["seconds"]
    # What had arrived when publishing stopped (interpolated between samples).
    at_stop = _at(samples, window)
    cache_drained = durable_drained = None
    drain_end = time.perf_counter() + drain
    while True:
        t = time.perf_counter() - start
        cached = subject.cached() - cached0
        durable = (subject.durable() - durable0) if subject.durable else sent
        if cache_drained is None and cached >= sent:
            cache_drained = max(0.0, t - done_at)
        if durable_drained is None and durable >= sent:
            durable_drained = max(0.0, t - done_at)
        if (cache_drained is not None and durable_drained is not None) or (
            time.perf_counter() > drain_end
        ):
            break
        await asyncio.sleep(0.02)
    wall = time.perf_counter() - start
    with contextlib.suppress(ValueError):
        gc.callbacks.remove(gc_timer)
    second_half = [(t, s - c) for t, s, c, _ in samples if window / 2 <= t <= window]
    latencies = subject.latency()
    durable_latencies = subject.durable_latency() if subject.durable_latency else []
    cpu = {name: (cpu_seconds(pid) - cpu0[name]) / wall for name, pid in subject.pids.items()}
    cpu["bench process"] = (own_cpu_seconds() - own0) / wall
    cpu["gc"] = gc_timer.seconds / wall
    out = {
        "offered": rate,
        "sent": sent,
        "messages": result["messages"],
        "published_per_s": sent / window if window else float("nan"),
        "messages_per_s": result["messages"] / window if window else float("nan"),
        "window_s": window,
        "publisher_stalls": result["stalls"],
        "acked": result["acked"],
        "publisher_cpu_s": result["cpu"],
        "cache_per_s": at_stop[1] / window if window else float("nan"),
        "durable_per_s": (at_stop[2] / window) if subject.durable and window else None,
        "backlog_at_stop": sent - at_stop[1],
        "backlog_slope_per_s": _slope(second_half),
        "cache_drain_s": cache_drained,
        "durable_drain_s": durable_drained if subject.durable else None,
        "cached_total": subject.cached() - cached0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "durable_p50_ms": percentile(durable_latencies, 50) * 1000 if subject.durable else None,
        "durable_p99_ms": percentile(durable_latencies, 99) * 1000 if subject.durable else None,
        "cpu": cpu,
        "series": samples,
    }
    out["sustained"] = sustained(out)
    return out


def _at(samples: Sequence[tuple[float, int, int, int]], t: float) -> tuple[float, int, int]:
    """(t, cached, durable) at time ``t``, linearly between the two samples around it."""
    if not samples:
        return (t, 0, 0)
    before = samples[0]
    for sample in samples:
        if sample[0] >= t:
            span = sample[0] - before[0]
            f = (t - before[0]) / span if span > 0 else 1.0
            return (
                t,
                round(before[2] + f * (sample[2] - before[2])),
                round(before[3] + f * (sample[3] - before[3])),
            )
        before = sample
    return (t, samples[-1][2], samples[-1][3])


def sustained(step: dict[str, Any]) -> bool:
    """Took >= 95 % of what was published, and the backlog drained within 1 s."""
    published = step["published_per_s"]
    if not published or published != published:
        return False
    if step["cache_per_s"] < SUSTAINED_SHARE * published:
        return False
    if step["cache_drain_s"] is None or step["cache_drain_s"] > SUSTAINED_DRAIN_S:
        return False
    if step.get("durable_per_s") is not None:
        if step["durable_per_s"] < SUSTAINED_SHARE * published:
            return False
        if step["durable_drain_s"] is None or step["durable_drain_s"] > SUSTAINED_DRAIN_S:
            return False
    return True


def highest_sustained(steps: Sequence[dict[str, Any]]) -> int | None:
    """The highest offered rate that was sustained."""
    return max((s["offered"] for s in steps if s.get("sustained")), default=None)


async def run_steps(
    subject: Subject,
    publisher: Publisher,
    port: int,
    cfg: dict[str, Any],
    deadline: Deadline,
    share: float,
) -> list[dict[str, Any]]:
    """The rate steps, stopping when the time share runs out or a backlog stays."""
    steps: list[dict[str, Any]] = []
    budget = Deadline(deadline.left() * share)
    if cfg.get("warm"):
        # Not reported: JIT of the engine, first graph flushes, caches, the GC.
        rate = cfg["rates"][0]
        print(f"  {subject.name} warm-up at {rate:,}/s for {cfg['warm']:.0f} s ...", flush=True)
        await run_step(subject, publisher, port, rate, cfg["warm"], cfg["drain"])
    for rate in cfg["rates"]:
        need = cfg["seconds"] + 1.0
        ran = [s for s in steps if "skipped" not in s]
        if budget.left() < need:
            steps.append({"offered": rate, "skipped": "time cap"})
        elif ran and ran[-1]["cache_drain_s"] is None:
            steps.append({"offered": rate, "skipped": "previous backlog did not drain"})
        elif len(ran) >= 2 and not ran[-1]["sustained"] and not ran[-2]["sustained"]:
            steps.append({"offered": rate, "skipped": "two steps in a row not sustained"})
        if steps and steps[-1]["offered"] == rate:
            continue
        drain = min(cfg["drain"], max(1.0, budget.left() - cfg["seconds"]))
        print(f"  {subject.name} {rate:,}/s for {cfg['seconds']:.0f} s ...", flush=True)
        step = await run_step(subject, publisher, port, rate, cfg["seconds"], drain)
        steps.append(step)
        print(
            f"    published {step['published_per_s']:,.0f}/s, "
            f"cache {step['cache_per_s']:,.0f}/s, backlog at stop {step['backlog_at_stop']:,}, "
            f"p99 {step['p99_ms']:.0f} ms, sustained {step['sustained']}",
            flush=True,
        )
    return steps


async def warm_up(
    publisher: Publisher,
    port: int,
    taken: Callable[[], int],
    values: int,
    timeout: float,
    durable: Callable[[], int] | None = None,
) -> float:
    """Every topic once (subscriptions live, history series created), ``values`` in
    all, taken and (``durable``) committed, so that none is counted in the first
    step; seconds taken."""
    before = taken()
    durable_before = durable() if durable else 0
    start = time.perf_counter()
    publisher.begin(("each", port))
    while publisher.result() is None:
        await asyncio.sleep(0.05)
    while taken() - before < values or (durable and durable() - durable_before < values):
        if time.perf_counter() - start > timeout:
            committed = f", {durable() - durable_before} committed" if durable else ""
            raise RuntimeError(
                f"warm-up: {taken() - before} of {values} values arrived{committed} in "
                f"{timeout:.0f}s"
            )
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


# -- graphtwin ---------------------------------------------------------------------------


@dataclass
class Plant:
    graph: Any
    machines: list[Any]  # DemoMachine, sorted by key
    topics: list[str]
    owners: list[Any]  # the machine of each topic
    fields: list[tuple[tuple[str, str, str], ...]]  # per topic: (JSON key, property, kind)
    values_per_message: int

    @property
    def values(self) -> int:
        """Bindings, and values in one message on every topic."""
        return len(self.topics) * self.values_per_message


def make_plant(machines: int, values_per_message: int = 1) -> Plant:
    """A topic per machine and property with one value a message; one topic per
    machine (``plant/<key>``) with the first N ``RECORD_PROPERTIES`` with N > 1."""
    from graphtwin.demo.opcua_server import demo_machines
    from graphtwin.demo.plant import generate_plant

    if not 1 <= values_per_message <= len(RECORD_PROPERTIES):
        raise ValueError(f"values per message: 1..{len(RECORD_PROPERTIES)}")
    graph = generate_plant(machines)
    listed = demo_machines(graph)
    topics: list[str] = []
    owners: list[Any] = []
    fields: list[tuple[tuple[str, str, str], ...]] = []
    record = tuple((p, p, kind) for p, kind in RECORD_PROPERTIES.items())[:values_per_message]
    for machine in listed:
        if values_per_message == 1:
            for prop, kind in PROPERTIES.items():
                topics.append(f"bench/{machine.key}/{prop}")
                owners.append(machine)
                fields.append((("value", prop, kind),))
        else:
            topics.append(f"plant/{machine.key}")
            owners.append(machine)
            fields.append(record)
    return Plant(graph, listed, topics, owners, fields, values_per_message)


def mqtt_bindings(plant: Plant, broker: str) -> Any:
    """One gtb:MqttBinding per (machine, property): JSON, ``valuePath`` its key in the
    topic's object ("value" with one value a message), ``timestampPath "ts"``."""
    from rdflib import RDF, XSD, Graph, Literal, URIRef

    from graphtwin.semantics.vocab import GT, GTB

    graph = Graph()
    for topic, machine, fields in zip(plant.topics, plant.owners, plant.fields, strict=True):
        for key, prop, _kind in fields:
            node = URIRef(f"{machine.iri}/bindings/bench-{prop}")
            graph.add((node, RDF.type, GTB.MqttBinding))
            graph.add((node, GTB.asset, URIRef(machine.iri)))
            graph.add((node, GTB.property, GT[prop]))
            graph.add((node, GTB.broker, Literal(broker, datatype=XSD.anyURI)))
            graph.add((node, GTB.topic, Literal(topic)))
            graph.add((node, GTB.payloadFormat, Literal("json")))
            graph.add((node, GTB.valuePath, Literal(key)))
            graph.add((node, GTB.timestampPath, Literal("ts")))
    return graph


def engine_pids() -> dict[str, int]:
    """The embedded engine's JVM: a child process of this one (none with Neo4j)."""
    for pid in process_tree(os.getpid())[1:]:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "java":
                return {"engine": pid}
    return {}


def _history_done(history: Any) -> int:
    stats = history.stats()
    return int(stats["written"] + stats["duplicates"] + stats["rejected"])


async def graphtwin_phase(
    plant: Plant, broker: Broker, publisher: Publisher, cfg: dict[str, Any], deadline: Deadline
) -> dict[str, Any]:
    """A fresh embedded engine (as ``bootstrap.running`` builds it) in a temp dir."""
    from graphtwin.bootstrap import running

    with temp_data_dir("graphtwin-bench-mqtt-") as data_dir:
        settings = bench_settings(
            data_dir / "data",
            mqtt_url=broker.url,
            mqtt_client_id=f"graphtwin-bench-{os.getpid()}",
        )
        start = time.perf_counter()
        async with running(settings, supervise=False) as runtime:
            engine_start = time.perf_counter() - start
            out = await measure_graphtwin(
                runtime.services, settings, plant, broker, publisher, cfg, deadline
            )
    out["engine"] = engine_name(settings)
    out["engine_start_s"] = engine_start
    return out


async def measure_graphtwin(
    services: Any,
    settings: Any,
    plant: Plant,
    broker: Broker,
    publisher: Publisher,
    cfg: dict[str, Any],
    deadline: Deadline,
) -> dict[str, Any]:
    """Import plant and bindings, start the live runtime, warm up, run the steps."""
    from graphtwin.bootstrap import build_live

    out: dict[str, Any] = {}
    twins = services.twins
    start = time.perf_counter()
    await twins.import_graph(plant.graph)
    out["import_plant_s"] = time.perf_counter() - start
    start = time.perf_counter()
    result = await twins.import_graph(mqtt_bindings(plant, broker.url))
    out["import_bindings_s"] = time.perf_counter() - start
    out["bindings"] = len(result.created)
    services = build_live(settings, services)
    live, history = services.live, services.history
    assert live is not None and history is not None
    cache_probe = CacheProbe(live.cache)
    history_probe = HistoryProbe(history)
    live.ingest.history = history_probe
    try:
        start = time.perf_counter()
        await live.start()
        while not all(s.connected for s in live.status()):
            if time.perf_counter() - start > 15:
                raise RuntimeError("graphtwin did not connect to the broker")
            await asyncio.sleep(0.02)
        out["live_start_s"] = time.perf_counter() - start
        out["bound"] = len(live.by_key)
        out["warm_up_s"] = await warm_up(
            publisher,
            broker.port,
            lambda: live.ingest.accepted,
            plant.values,
            timeout=20,
            durable=lambda: _history_done(history),
        )

        def reset() -> None:
            cache_probe.latencies = []
            history_probe.latencies = []

        subject = Subject(
            name="graphtwin",
            cached=lambda: live.ingest.accepted,
            durable=lambda: _history_done(history),
            latency=lambda: cache_probe.latencies,
            reset_latency=reset,
            durable_latency=lambda: history_probe.latencies,
            pids={"broker": broker.pid, "publisher": publisher.pid, **engine_pids()},
        )
        out["steps"] = await run_steps(subject, publisher, broker.port, cfg, deadline, 0.55)
        out["refused"] = sum(live.ingest.refused.values())
        out["history"] = history.stats()
        out["graph_flushes"] = live.flushes
        out["adapter"] = [s.counters for s in live.status()]
    finally:
        await live.stop()
        await history.close()
    return out


async def bare_phase(
    plant: Plant, broker: Broker, publisher: Publisher, cfg: dict[str, Any], deadline: Deadline
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = [[key for key, _prop, _kind in f] for f in plant.fields]
    bare = await asyncio.to_thread(BareSubscriber, broker.port, plant.topics, keys)
    try:
        out["warm_up_s"] = await warm_up(
            publisher, broker.port, lambda: bare.received, plant.values, timeout=20
        )

        def reset() -> None:
            bare.latencies = []

        subject = Subject(
            name="bare paho",
            cached=lambda: bare.received,
            durable=None,
            latency=lambda: bare.latencies,
            reset_latency=reset,
            pids={"broker": broker.pid, "publisher": publisher.pid},
        )
        out["steps"] = await run_steps(subject, publisher, broker.port, cfg, deadline, 0.95)
    finally:
        await asyncio.to_thread(bare.stop)
    return out


# -- report ------------------------------------------------------------------------------


def _step_rows(steps: Sequence[dict[str, Any]], durable: bool, per_message: int) -> list[list[Any]]:
    rows = []
    for s in steps:
        if "skipped" in s:
            continue
        cpu = s["cpu"]
        row = [
            f"{s['offered']:,}/s",
            round(s["offered"] / per_message),
            s["published_per_s"],
            s["cache_per_s"],
        ]
        if durable:
            row.append(s["durable_per_s"])
        row += [
            s["backlog_at_stop"],
            s["backlog_slope_per_s"],
            s["cache_drain_s"] if s["cache_drain_s"] is not None else "no",
        ]
        if durable:
            row.append(s["durable_drain_s"] if s["durable_drain_s"] is not None else "no")
        row += [s["p50_ms"], s["p99_ms"]]
        if durable:
            row += [s["durable_p50_ms"], s["durable_p99_ms"]]
        row += [
            100 * cpu["bench process"],
            100 * cpu.get("gc", float("nan")),
            *([100 * cpu.get("engine", float("nan"))] if durable else []),
            100 * cpu["broker"],
            100 * cpu["publisher"],
            s["sustained"],
        ]
        rows.append(row)
    return rows


def _layout(cfg: dict[str, Any]) -> str:
    n = cfg.get("values_per_message", 1)
    if n == 1:
        return (
            f"N=1 value a message: {cfg['topics']:,} topics = {cfg['machines']:,} machines x "
            f"{len(PROPERTIES)} properties"
        )
    return (
        f"N={n} values a message: {cfg['topics']:,} topics = {cfg['machines']:,} machines, "
        f"one JSON object of {n} values each, {n} bindings per topic"
    )


def report(out: dict[str, Any]) -> None:
    """The tables of one N (values a message)."""
    gt = out.get("graphtwin", {})
    bare = out.get("bare", {})
    cfg = out["config"]
    n = cfg.get("values_per_message", 1)
    print_table(
        f"Setup ({gt.get('engine', '?')}; {_layout(cfg)}; each step publishes "
        f"{cfg['seconds']:.0f} s)",
        ["phase", "seconds"],
        [
            ["engine start", gt.get("engine_start_s")],
            [f"import plant ({cfg['machines']:,} machines)", gt.get("import_plant_s")],
            [f"import {gt.get('bindings', 0):,} MQTT bindings", gt.get("import_bindings_s")],
            ["live.start() until connected", gt.get("live_start_s")],
            ["graphtwin warm-up: every topic once, all in cache and history", gt.get("warm_up_s")],
            ["bare warm-up: every topic once, all received", bare.get("warm_up_s")],
        ],
    )
    headers = [
        "offered values/s",
        "offered msgs/s",
        "published values/s",
        "into cache values/s",
        "durable values/s",
        "backlog at stop",
        "backlog slope/s",
        "drain cache s",
        "drain history s",
        "p50 ms",
        "p99 ms",
        "durable p50 ms",
        "durable p99 ms",
        "bench CPU %",
        "GC % of time",
        "engine CPU %",
        "broker CPU %",
        "publisher CPU %",
        "sustained",
    ]
    for name, phase in (("graphtwin", gt), ("bare paho", bare)):
        skipped = [s for s in phase.get("steps", []) if "skipped" in s]
        if skipped:
            print(
                f"\n{name}: skipped "
                + ", ".join(f"{s['offered']:,}/s ({s['skipped']})" for s in skipped)
            )
    if gt.get("steps"):
        print_table(
            f"graphtwin, N={n}: publisher -> Mosquitto -> MqttAdapter -> live cache + SQLite "
            "history (backlog in values; latency per value: publish -> in cache / -> "
            "committed, PUBACK sent)",
            headers,
            _step_rows(gt["steps"], durable=True, per_message=n),
        )
    bare_headers = [
        h for h in headers if "durable" not in h and "history" not in h and "engine" not in h
    ]
    bare_headers[3] = "received values/s"
    bare_headers[6] = "drain s"
    if bare.get("steps"):
        print_table(
            f"baseline, N={n}: bare paho subscriber (json.loads, takes out the {n} "
            f"value{'s' * (n > 1)}), fresh broker, same publisher",
            bare_headers,
            _step_rows(bare["steps"], durable=False, per_message=n),
        )
    ratio_rows = []
    bare_by_rate = {s["offered"]: s for s in bare.get("steps", []) if "skipped" not in s}
    for s in gt.get("steps", []):
        b = bare_by_rate.get(s["offered"])
        if "skipped" in s or b is None:
            continue
        ratio_rows.append(
            [
                f"{s['offered']:,}/s",
                round(s["offered"] / n),
                s["cache_per_s"],
                b["cache_per_s"],
                s["cache_per_s"] / b["cache_per_s"] if b["cache_per_s"] else None,
                s["p99_ms"],
                b["p99_ms"],
            ]
        )
    if ratio_rows:
        print_table(
            f"graphtwin / bare, N={n}, per step",
            [
                "offered values/s",
                "offered msgs/s",
                "graphtwin values/s",
                "bare values/s",
                "ratio",
                "graphtwin p99 ms",
                "bare p99 ms",
            ],
            ratio_rows,
        )
    summary = verdict(gt.get("steps", []), bare.get("steps", []), cfg["rates"])
    print()
    print(
        f"N={n}: highest sustained: graphtwin {fmt_rate(summary['graphtwin_sustained'], n)}, "
        f"bare paho {fmt_rate(summary['bare_sustained'], n)} (steps "
        f"{', '.join(f'{r:,}' for r in cfg['rates'])} values/s)"
    )
    print(
        f"peak throughput (best 'into cache' / 'received' of any step): graphtwin "
        f"{summary['graphtwin_peak']:,.0f} values/s, bare paho {summary['bare_peak']:,.0f} "
        "values/s"
    )
    target = summary["graphtwin_sustained"] or 0
    ratio = summary["sustained_ratio"]
    bound = (
        " (an upper bound: the bare subscriber took every step)" * summary["bare_took_every_step"]
    )
    print(
        f"target graphtwin >= {TARGET_RATE:,} values/s sustained: "
        f"{'meets' if target >= TARGET_RATE else 'misses'}"
    )
    print(
        f"ratio graphtwin/bare, highest sustained: {fmt(ratio)}{bound}; "
        f"peak throughput: {fmt(summary['peak_ratio'])}; target >= {TARGET_RATIO}: "
        + ("-" if ratio != ratio else ("meets" if ratio >= TARGET_RATIO else "misses"))
    )
    if gt.get("history"):
        h = gt["history"]
        print(
            f"graphtwin history: {h['written']:,} written in {h['batches']:,} transactions, "
            f"{h['duplicates']:,} duplicates, {h['pending']:,} pending; refused values "
            f"{gt.get('refused', 0)}; graph flushes {gt.get('graph_flushes', 0)}"
        )


def verdict(
    gt_steps: Sequence[dict[str, Any]], bare_steps: Sequence[dict[str, Any]], rates: Sequence[int]
) -> dict[str, Any]:
    """Highest sustained step and peak throughput of both, and graphtwin/bare of each.

    The sustained ratio is the one the target is about; it is only a bound when the
    bare subscriber took every step (its ceiling is then unknown) and coarse with
    coarse steps, so the ratio of the peak throughputs is given too."""
    ran_gt = [s for s in gt_steps if "skipped" not in s]
    ran_bare = [s for s in bare_steps if "skipped" not in s]
    best_gt, best_bare = highest_sustained(gt_steps), highest_sustained(bare_steps)
    peak_gt = max((s["cache_per_s"] for s in ran_gt), default=float("nan"))
    peak_bare = max((s["cache_per_s"] for s in ran_bare), default=float("nan"))
    return {
        "graphtwin_sustained": best_gt,
        "bare_sustained": best_bare,
        "graphtwin_peak": peak_gt,
        "bare_peak": peak_bare,
        "sustained_ratio": (best_gt or 0) / best_bare if best_bare else float("nan"),
        "peak_ratio": peak_gt / peak_bare if peak_bare and peak_bare > 0 else float("nan"),
        "bare_took_every_step": bool(ran_bare) and all(s["sustained"] for s in ran_bare),
        "top_step": max(rates) if rates else None,
    }


def fmt_rate(rate: int | None, per_message: int = 1) -> str:
    if rate is None:
        return "none of the steps"
    return f"{rate:,} values/s ({rate / per_message:,.0f} msgs/s)"


def summarize(runs: Sequence[dict[str, Any]]) -> None:
    """One line per N: highest sustained graphtwin vs bare, their ratio, the targets."""
    print()
    print("summary, highest sustained step (msgs/s = values/s / N):")
    for out in runs:
        n = out["config"].get("values_per_message", 1)
        v = out["verdict"]
        best = v["graphtwin_sustained"] or 0
        ratio = v["sustained_ratio"]
        bound = ", an upper bound" * v["bare_took_every_step"]
        print(
            f"  N={n}: graphtwin {fmt_rate(v['graphtwin_sustained'], n)}, bare paho "
            f"{fmt_rate(v['bare_sustained'], n)}; ratio {fmt(ratio)}{bound} (target >= "
            f"{TARGET_RATIO}: "
            + ("-" if ratio != ratio else ("meets" if ratio >= TARGET_RATIO else "misses"))
            + f"); graphtwin >= {TARGET_RATE:,} values/s: "
            + ("meets" if best >= TARGET_RATE else "misses")
        )


# -- main ----------------------------------------------------------------------------------


async def run(cfg: dict[str, Any]) -> dict[str, Any]:
    """Both phases for one N (``cfg["values_per_message"]``)."""
    deadline = Deadline(cfg["max_seconds"])
    plant = make_plant(cfg["machines"], cfg["values_per_message"])
    out: dict[str, Any] = {
        "config": {
            **{k: v for k, v in cfg.items() if k != "rates"},
            "rates": list(cfg["rates"]),
            "topics": len(plant.topics),
            "bindings": plant.values,
            "publish_qos": 1,
        }
    }
    publisher = Publisher(plant.topics, plant.fields)
    try:
        with temp_data_dir("graphtwin-bench-broker-") as broker_dir:
            with Broker(broker_dir / "graphtwin") as broker:
                out["graphtwin"] = await graphtwin_phase(plant, broker, publisher, cfg, deadline)
            # A fresh broker: graphtwin's persistent session would keep queueing otherwise.
            with Broker(broker_dir / "bare") as broker:
                out["bare"] = await bare_phase(plant, broker, publisher, cfg, deadline)
    finally:
        publisher.stop()
    return out


def step_rates(cfg: dict[str, Any], values_per_message: int) -> tuple[int, ...]:
    """The offered steps in values/s: ``rates`` with one value a message, N x
    ``message_rates`` with N."""
    if values_per_message == 1:
        return tuple(cfg["rates"])
    return tuple(m * values_per_message for m in cfg["message_rates"])


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--rates", help="comma-separated offered rates, values/s (every N)")
    parser.add_argument("--seconds", type=float, help="publishing time per step")
    parser.add_argument(
        "--machines",
        type=int,
        help=f"bound machines ({len(PROPERTIES)} topics each with N=1, one with N>1)",
    )
    parser.add_argument(
        "--values-per-message",
        type=int,
        metavar="N",
        help=f"values in each JSON message, 1..{len(RECORD_PROPERTIES)} (default 1; the "
        f"full run without it runs N={' and N='.join(map(str, FULL_VALUES_PER_MESSAGE))})",
    )
    parser.add_argument("--max-seconds", type=float, help="wall-clock cap for the whole run")
    args = parser.parse_args(argv)
    if args.values_per_message is not None:
        counts: tuple[int, ...] = (args.values_per_message,)
        if not 1 <= args.values_per_message <= len(RECORD_PROPERTIES):
            parser.error(f"--values-per-message: 1..{len(RECORD_PROPERTIES)}")
    else:
        counts = (1,) if args.quick else FULL_VALUES_PER_MESSAGE
    cfg = dict(QUICK if args.quick else FULL)
    rates = None
    if args.rates:
        rates = tuple(int(r) for r in args.rates.split(",") if r.strip())
    for name in ("seconds", "machines", "max_seconds"):
        if getattr(args, name) is not None:
            cfg[name] = getattr(args, name)
    print(
        f"bench_mqtt_ingest: {machine_summary()}; {cfg['machines']:,} machines, "
        f"N={', N='.join(map(str, counts))} values a message, {cfg['seconds']:.0f} s a step, "
        f"cap {cfg['max_seconds']:.0f}s",
        flush=True,
    )
    total = Deadline(cfg["max_seconds"])
    runs = []
    for i, n in enumerate(counts):
        mode = {k: v for k, v in cfg.items() if k != "message_rates"}
        mode["values_per_message"] = n
        mode["rates"] = rates or step_rates(cfg, n)
        # An equal share of what is left: a mode that finishes early leaves its rest.
        mode["max_seconds"] = total.left() / (len(counts) - i)
        topics = cfg["machines"] * (len(PROPERTIES) if n == 1 else 1)
        print(
            f"\nN={n}: {topics:,} topics, {topics * n:,} bindings, steps "
            f"{', '.join(f'{r:,}' for r in mode['rates'])} values/s x {cfg['seconds']:.0f} s, "
            f"cap {mode['max_seconds']:.0f}s",
            flush=True,
        )
        out = asyncio.run(run(mode))
        gt_steps = out.get("graphtwin", {}).get("steps", [])
        out["verdict"] = verdict(gt_steps, out.get("bare", {}).get("steps", []), mode["rates"])
        report(out)
        runs.append(out)
    summarize(runs)
    write_json(args.json, {"runs": runs})


if __name__ == "__main__":
    main()
