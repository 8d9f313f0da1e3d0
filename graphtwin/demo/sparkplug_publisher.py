"""A demo Sparkplug B edge node: one production line, one device per machine.

It behaves like a real edge node as far as a host application can tell:

* connects with an NDEATH will (QoS 1) carrying ``bdSeq``, subscribes to its
  NCMD/DCMD topics, then publishes NBIRTH (same ``bdSeq``) and a DBIRTH per
  machine, with aliases for every device metric;
* publishes DDATA by alias only (no names, no datatypes), report-by-exception
  for ``state``, on one ``seq`` counter shared by node and devices;
* answers NCMD ``Node Control/Rebirth`` by republishing NBIRTH and DBIRTHs (same
  ``bdSeq``, ``seq`` restarting at 0);
* each new MQTT connection uses the next ``bdSeq``.

``skip_seq()`` creates a sequence gap on purpose; ``stop(graceful=False)`` drops
the TCP connection without DISCONNECT so that the broker publishes the will.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from graphtwin.demo.mqtt_publisher import COUNT, STATE, TEMPERATURE, VIBRATION, MachineSignals
from graphtwin.errors import BadInput
from graphtwin.sparkplug.datatypes import DataType
from graphtwin.sparkplug.payload import (
    REBIRTH,
    MetricSpec,
    decode_payload,
    encode_dbirth,
    encode_ddata,
    encode_nbirth,
    encode_ndeath,
)
from graphtwin.sparkplug.topic import MessageType, SparkplugTopic, topic_filter

log = logging.getLogger(__name__)

# Device metric -> datatype, in alias order.
DEVICE_METRICS: tuple[tuple[str, DataType], ...] = (
    (TEMPERATURE, DataType.Double),
    (VIBRATION, DataType.Float),
    (STATE, DataType.String),
    (COUNT, DataType.UInt64),
)
MACHINE_COUNT = "Properties/Machine Count"
_NODE_ALIAS = 1


class DemoSparkplugEdgeNode:
    """A simulated Sparkplug B edge node with one device per machine slug."""

    def __init__(
        self,
        host: str,
        port: int,
        machines: Sequence[str],
        *,
        group: str = "acme-demo",
        edge_node: str = "line-1",
        interval: float = 1.0,
        seed: int = 0,
        bd_seq: int = 0,
        client_id: str | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
        keepalive: int = 30,
    ) -> None:
        self.host = host
        self.port = port
        self.group = group
        self.edge_node = edge_node
        self.interval = interval
        self.protocol = protocol
        self.keepalive = keepalive
        self.machines = list(machines)
        # Validates the ids up front (no '/', '+', '#').
        for machine in self.machines:
            SparkplugTopic(group, MessageType.DDATA, edge_node, machine)
        self._signals = {m: MachineSignals(m, seed) for m in self.machines}
        # Aliases are unique across the whole edge node, devices included.
        self._aliases = {
            (machine, name): 10 * (i + 1) + j
            for i, machine in enumerate(self.machines)
            for j, (name, _) in enumerate(DEVICE_METRICS)
        }
        self._client_id = client_id or f"graphtwin-demo-{group}-{edge_node}"
        self._bd_seq = bd_seq % 256
        self._seq = 0
        self._last_state: dict[str, str] = {}
        # Held while assigning a seq *and* publishing, so seq order is wire order.
        self._lock = threading.RLock()
        self._client: mqtt.Client | None = None
        self._born = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.births = 0  # NBIRTHs published, for tests and logs

    # --- topics --------------------------------------------------------------------

    def _topic(self, kind: MessageType, device: str | None = None) -> str:
        return str(SparkplugTopic(self.group, kind, self.edge_node, device))

    @property
    def bd_seq(self) -> int:
        """The bdSeq of the current (or next) MQTT session."""
        return self._bd_seq

    # --- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> None:
        """Connect, publish the births and start publishing DDATA; blocks until born."""
        if self._client is not None:
            raise RuntimeError("edge node already started")
        self._stopping.clear()
        self._born.clear()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self._client_id, protocol=self.protocol
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._set_will(client)
        self._client = client
        client.connect(self.host, self.port, keepalive=self.keepalive)
        client.loop_start()
        if not self._born.wait(timeout):
            self.stop(graceful=False)
            raise TimeoutError(f"edge node not born within {timeout}s ({self.host}:{self.port})")
        self._thread = threading.Thread(target=self._run, name="demo-sparkplug-node", daemon=True)
        self._thread.start()

    def stop(self, graceful: bool = True, timeout: float = 5.0) -> None:
        """Stop publishing. Graceful: publish NDEATH and DISCONNECT. Ungraceful:
        drop the TCP connection so the broker publishes the NDEATH will."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        client, self._client = self._client, None
        if client is None:
            return
        with self._lock:
            self._born.clear()
        if graceful:
            info = client.publish(self._topic(MessageType.NDEATH), encode_ndeath(self._bd_seq), 1)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:  # not connected: the will covers it
                log.warning("demo edge node: NDEATH not sent: %s", exc)
            client.disconnect()
            client.loop_stop()
        else:
            client.loop_stop()
            sock = client.socket()
            if sock is not None:
                sock.close()
        # The next start() is a new MQTT session.
        self._bd_seq = (self._bd_seq + 1) % 256

    def skip_seq(self) -> None:
        """Test hook: consume one seq without publishing, so hosts see a gap."""
        with self._lock:
            self._next_seq()

    # --- publishing ----------------------------------------------------------------

    def _set_will(self, client: mqtt.Client) -> None:
        client.will_set(self._topic(MessageType.NDEATH), encode_ndeath(self._bd_seq), qos=1)

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) % 256
        return seq

    def _publish(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is not None:
            client.publish(topic, payload, qos=0)

    def publish_births(self) -> None:
        """NBIRTH then one DBIRTH per machine, ``seq`` restarting at 0."""
        with self._lock:
            self._seq = 0
            node_metrics = [
                MetricSpec(MACHINE_COUNT, DataType.UInt32, len(self.machines), alias=_NODE_ALIAS)
            ]
            nbirth = encode_nbirth(node_metrics, bd_seq=self._bd_seq, seq=self._next_seq())
            self._publish(self._topic(MessageType.NBIRTH), nbirth)
            for machine in self.machines:
                sample = self._signals[machine].current.as_dict()
                metrics = [
                    MetricSpec(name, datatype, sample[name], alias=self._aliases[machine, name])
                    for name, datatype in DEVICE_METRICS
                ]
                dbirth = encode_dbirth(metrics, seq=self._next_seq())
                self._publish(self._topic(MessageType.DBIRTH, machine), dbirth)
                self._last_state[machine] = str(sample[STATE])
            self.births += 1
            self._born.set()
        log.info("demo edge node %s/%s born (bdSeq %d)", self.group, self.edge_node, self._bd_seq)

    def publish_data(self) -> None:
        """One DDATA per machine with its new sample (alias only, as real nodes do)."""
        with self._lock:
            if not self._born.is_set():
                return
            for machine in self.machines:
                sample = self._signals[machine].step().as_dict()
                metrics = [
                    MetricSpec(name, datatype, sample[name], alias=self._aliases[machine, name])
                    for name, datatype in DEVICE_METRICS
                    # Report by exception: state only when it changed.
                    if name != STATE or sample[STATE] != self._last_state.get(machine)
                ]
                self._last_state[machine] = str(sample[STATE])
                ddata = encode_ddata(metrics, seq=self._next_seq(), alias_only=True)
                self._publish(self._topic(MessageType.DDATA, machine), ddata)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.publish_data()

    # --- paho callbacks (network thread) -------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("demo edge node: connection refused: %s", reason_code)
            return
        # Commands first, so a rebirth request right after the birth is not missed.
        client.subscribe(self._topic(MessageType.NCMD), qos=1)
        client.subscribe(topic_filter(self.group, MessageType.DCMD, self.edge_node, "+"), qos=1)
        self.publish_births()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._born.clear()
            if self._stopping.is_set():
                return
            # paho reconnects by itself: that is a new session, with the next bdSeq.
            self._bd_seq = (self._bd_seq + 1) % 256
            self._set_will(client)
        log.warning("demo edge node: connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            payload = decode_payload(bytes(msg.payload))
        except BadInput as exc:
            log.warning("demo edge node: bad command on %s: %s", msg.topic, exc.message)
            return
        if msg.topic != self._topic(MessageType.NCMD):
            log.info("demo edge node: ignoring %s", msg.topic)
            return
        rebirth = payload.metric(REBIRTH)
        if rebirth is not None and rebirth.value is True:
            log.info("demo edge node: rebirth requested")
            self.publish_births()

    def __enter__(self) -> DemoSparkplugEdgeNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
