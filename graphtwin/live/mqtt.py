"""The MQTT adapter (paho-mqtt v2): JSON/plain topics and Sparkplug B on one broker.

- MQTT 5, QoS 1, a persistent session (clean start off, a session expiry) under a
  stable client id, so the broker keeps queueing for graphtwin while it is down.
- Acknowledged only once durable: the client runs with ``manual_ack`` and sends the
  PUBACK of a message after its values are committed to the history store. A
  ``kill -9`` therefore never loses an acknowledged value; what was not yet
  acknowledged is redelivered, and history drops the duplicates. The history
  writer only queues the acknowledgements; paho's thread sends them (see
  ``_send_acks``).
- The broker's in-flight window (``Receive Maximum``) bounds how many
  unacknowledged messages can pile up: backpressure instead of unbounded memory.
- paho reconnects by itself with a capped exponential backoff; every (re)connect
  subscribes again. While disconnected the bound values are flagged stale.
- Optional MQTT 5 shared subscriptions (``$share/<group>/<filter>``) let several
  graphtwin instances split one plant's topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from graphtwin.errors import SourceUnavailable
from graphtwin.live.adapter import AdapterStatus
from graphtwin.live.bindings import Binding, MqttSource, SparkplugSource
from graphtwin.live.credentials import CredentialStore
from graphtwin.live.ingest import Ingest
from graphtwin.live.payload import PayloadRefused, decode, json_time, parse_json, top_level_key
from graphtwin.live.sparkplug_route import SparkplugRoute
from graphtwin.values import Sample, Scalar, utcnow

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
# Unacknowledged messages the broker may send ahead. Small enough that intake cannot
# run far ahead of the history writer (which then starves for the GIL and falls
# further behind: with 20,000 the durable rate fell to a quarter at 30k values/s),
# large enough to cover a few of the writer's batches.
RECEIVE_MAXIMUM = 2_000
RECONNECT_MIN, RECONNECT_MAX = 1, 5
WRITE_TIMEOUT = 5.0
_MISSING = object()
# How often acknowledgements of durable messages go out when no message comes in
# (see ``_send_acks``), and the Sparkplug reorder timeouts are checked every so many.
ACK_INTERVAL = 0.05
SPARKPLUG_TICK_EVERY = 5
# Concrete topics whose bindings are remembered (wildcard filters can match
# unboundedly many topics: past this the memory starts over).
MAX_ROUTES = 100_000


@dataclass(frozen=True, slots=True)
class _Route:
    """What one concrete topic feeds, worked out on its first message."""

    bindings: tuple[Binding, ...]
    json: bool  # some binding reads JSON: the payload is parsed once for all of them
    # Per binding, the key of its value in a flat JSON object, or None: those values
    # are a dictionary lookup; any other path (and every refusal) goes through decode.
    keys: tuple[str | None, ...]


class MqttAdapter:
    def __init__(
        self,
        broker: str,
        ingest: Ingest,
        *,
        client_id: str = "graphtwin",
        share_group: str | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        self.name = broker
        self.broker = broker
        self.ingest = ingest
        self.client_id = client_id
        self.share_group = share_group
        self.credentials = credentials or CredentialStore()
        self._lock = threading.Lock()
        self._exact: dict[str, list[Binding]] = {}
        self._filters: list[tuple[str, list[Binding]]] = []
        self._routes: dict[str, _Route] = {}
        # (mid, qos) of messages durable in history, PUBACK not sent yet.
        self._acks: deque[tuple[int, int]] = deque()
        self._ack_lock = threading.Lock()
        self._subscribed: set[str] = set()
        self.sparkplug = SparkplugRoute(ingest, self._publish_command)
        self.connected = False
        self.received = 0
        self.connects = 0
        self._client: mqtt.Client | None = None
        self._ticker: asyncio.Task[None] | None = None

    # -- bindings ------------------------------------------------------------------
    def _filters_wanted(self) -> set[str]:
        return set(self._exact) | {f for f, _ in self._filters} | self.sparkplug.filters()

    async def update(self, bindings: Sequence[Binding]) -> None:
        exact: dict[str, list[Binding]] = {}
        filters: dict[str, list[Binding]] = {}
        sparkplug = []
        for binding in bindings:
            source = binding.source
            if isinstance(source, SparkplugSource):
                sparkplug.append(binding)
            elif isinstance(source, MqttSource):
                target = filters if ("+" in source.topic or "#" in source.topic) else exact
                target.setdefault(source.topic, []).append(binding)
        with self._lock:
            self._exact = exact
            self._filters = sorted(filters.items())
            self._routes = {}
            self.sparkplug.update(sparkplug)
        client = self._client
        if client is not None and self.connected:
            self._sync_subscriptions(client)

    def _topic(self, topic_filter: str) -> str:
        if self.share_group:
            return f"$share/{self.share_group}/{topic_filter}"
        return topic_filter

    def _sync_subscriptions(self, client: mqtt.Client, *, all_again: bool = False) -> None:
        wanted = self._filters_wanted()
        subscribed = set() if all_again else self._subscribed
        new = sorted(wanted - subscribed)
        gone = sorted(subscribed - wanted)
        if new:
            client.subscribe([(self._topic(t), SubscribeOptions(qos=1)) for t in new])
        if gone:
            client.unsubscribe([self._topic(t) for t in gone])
        self._subscribed = wanted

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        parts = urlsplit(self.broker)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        client.max_queued_messages_set(0)
        credential = self.credentials.get(self._credential_name())
        if credential is not None and credential.username:
            client.username_pw_set(credential.username, credential.password)
        if parts.scheme in ("mqtts", "ssl"):
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        port = parts.port or (8883 if parts.scheme in ("mqtts", "ssl") else 1883)
        client.connect_async(
            parts.hostname or "127.0.0.1",
            port,
            keepalive=15,
            clean_start=False,
            properties=props,
        )
        client.loop_start()
        self._client = client
        self._ticker = asyncio.create_task(self._tick_loop(), name=f"sparkplug-tick {self.name}")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        client, self._client = self._client, None
        if client is not None:
            # Acks still owed for values in flight to history: wait for them first.
            await self.ingest.history.flush()
            self._send_acks(client)
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        self.connected = False

    async def _tick_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(ACK_INTERVAL)
            client = self._client
            if client is not None:
                self._send_acks(client)
            ticks += 1
            if ticks % SPARKPLUG_TICK_EVERY == 0:
                with self._lock:
                    self.sparkplug.tick()

    def _credential_name(self) -> str | None:
        with self._lock:
            names = [b.source.credential for bs in self._exact.values() for b in bs]
            names += [b.source.credential for _, bs in self._filters for b in bs]
            names += self.sparkplug.credentials()
        return next((n for n in names if n), None)

    # -- paho callbacks (network thread) -----------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT %s refused the connection: %s", self.broker, reason)
            return
        self.connected = True
        self.connects += 1
        log.info("MQTT %s connected (session present: %s)", self.broker, flags.session_present)
        with self._lock:
            self._sync_subscriptions(client, all_again=True)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.connected = False
        log.warning("MQTT %s disconnected (%s); reconnecting", self.broker, reason)
        with self._lock:
            keys = [b.key for bs in self._exact.values() for b in bs]
            keys += [b.key for _, bs in self._filters for b in bs]
            keys += self.sparkplug.keys()
        self.ingest.stale(keys)

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        topic = msg.topic
        mid, qos = msg.mid, msg.qos

        acks = self._acks

        def ack() -> None:
            if qos > 0:
                acks.append((mid, qos))

        try:
            if topic.startswith("spBv1.0/"):
                with self._lock:
                    self.sparkplug.handle(topic, bytes(msg.payload))
                ack()
                return
            with self._lock:
                route = self._routes.get(topic) or self._route(topic)
            self.ingest.commit(self._samples(topic, bytes(msg.payload), route), ack)
        except Exception:
            log.exception("MQTT message on %s could not be handled", topic)
            ack()
        finally:
            self._send_acks(client)

    def _send_acks(self, client: mqtt.Client) -> None:
        """PUBACK the messages whose values are durable by now.

        The history writer only queues them (``ack`` above): each ``client.ack`` is a
        socket write, which releases the GIL, and a writer thread doing that once a
        message hands the GIL to paho's busy network loop and waits to get it back,
        once a message. They go out from paho's thread after each message instead,
        and from the tick loop when no message comes.
        """
        if not self._acks or not self._ack_lock.acquire(blocking=False):
            return  # nothing owed, or another thread is sending them (in order)
        try:
            acks = self._acks
            while acks:
                mid, qos = acks.popleft()
                client.ack(mid, qos)
        finally:
            self._ack_lock.release()

    def _route(self, topic: str) -> _Route:
        """The bindings of ``topic`` (exact ones, then matching filters); caller locks."""
        matched = list(self._exact.get(topic, ()))
        for topic_filter, bindings in self._filters:
            if mqtt.topic_matches_sub(topic_filter, topic):
                matched.extend(bindings)
        json_paths = [
            b.source.value_path or "value"
            if isinstance(b.source, MqttSource) and b.source.payload_format == "json"
            else None
            for b in matched
        ]
        route = _Route(
            tuple(matched),
            any(path is not None for path in json_paths),
            tuple(top_level_key(path) if path else None for path in json_paths),
        )
        if len(self._routes) >= MAX_ROUTES:
            self._routes = {}
        self._routes[topic] = route
        return route

    def _samples(self, topic: str, payload: bytes, route: _Route) -> list[Sample]:
        bindings = route.bindings
        if not bindings:
            return []
        now = utcnow()
        document = None
        if route.json:
            try:
                document = parse_json(payload)
            except PayloadRefused as exc:
                for binding in bindings:
                    self.ingest.refuse(binding.iri, f"{topic}: {exc}")
                return []
        out = []
        times: dict[str, datetime] = {}
        flat = document if type(document) is dict else {}
        sample_of = self.ingest.sample
        for binding, key in zip(bindings, route.keys, strict=True):
            source = binding.source
            assert isinstance(source, MqttSource)
            raw = flat.get(key, _MISSING) if key is not None else _MISSING
            try:
                if raw is _MISSING or type(raw) is dict or type(raw) is list:
                    raw, stamp = decode(payload, source, document, times)
                else:
                    path = source.timestamp_path
                    stamp = json_time(document, path, times) if path else None
            except PayloadRefused as exc:
                self.ingest.refuse(binding.iri, f"{topic}: {exc}")
                continue
            sample = sample_of(binding, raw, stamp, server_time=now)
            if sample is not None:
                out.append(sample)
        return out

    # -- writes --------------------------------------------------------------------
    def _publish_command(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is not None and self.connected:
            client.publish(topic, payload, qos=1)

    async def write(self, binding: Binding, value: Scalar) -> None:
        source = binding.source
        if not isinstance(source, MqttSource) or source.command_topic is None:
            raise SourceUnavailable(f"binding <{binding.iri}> has no command topic")
        client = self._client
        if client is None or not self.connected:
            raise SourceUnavailable(f"MQTT broker {self.broker} is not connected")
        payload = json.dumps({"value": value, "ts": utcnow().isoformat()}).encode()
        info = client.publish(source.command_topic, payload, qos=1)
        try:
            await asyncio.to_thread(info.wait_for_publish, WRITE_TIMEOUT)
        except (RuntimeError, ValueError) as exc:
            raise SourceUnavailable(
                f"MQTT publish to {source.command_topic} failed: {exc}"
            ) from None
        if not info.is_published():
            raise SourceUnavailable(
                f"MQTT broker {self.broker} did not acknowledge the write within {WRITE_TIMEOUT}s"
            )

    def status(self) -> AdapterStatus:
        with self._lock:
            count = sum(len(b) for b in self._exact.values())
            count += sum(len(b) for _, b in self._filters) + len(self.sparkplug.keys())
        return AdapterStatus(
            name=self.broker,
            kind="mqtt",
            connected=self.connected,
            bindings=count,
            counters={
                "received": self.received,
                "connects": self.connects,
                **self.sparkplug.counters(),
            },
        )
