"""The demo plant's field: a real OPC UA server and, when a broker is reachable,
real MQTT publishers (JSON and Sparkplug B), as ``serve --demo`` runs them.

Without a broker the OPC UA part still runs and the MQTT bindings wait for one
(their values stay empty): install Mosquitto (Debian package ``mosquitto``, which
listens on 127.0.0.1:1883) or run the compose file's ``mosquitto`` service.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rdflib import Graph

from graphtwin.demo.bindings import mqtt_machines, opcua_machines
from graphtwin.demo.mqtt_publisher import DemoJsonPublisher
from graphtwin.demo.opcua_server import DemoOpcUaServer
from graphtwin.demo.sparkplug_publisher import DemoSparkplugEdgeNode

log = logging.getLogger(__name__)

BROKER_HINT = (
    "start one with 'apt-get install mosquitto' (it listens on 127.0.0.1:1883) or "
    "'docker compose up mosquitto', then restart graphtwin"
)


def broker_reachable(url: str, timeout: float = 0.5) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), timeout):
            return True
    except OSError:
        return False


@dataclass
class DemoField:
    opcua: DemoOpcUaServer | None
    opcua_endpoint: str
    publishers: list[DemoJsonPublisher] = field(default_factory=list)
    edge_nodes: list[DemoSparkplugEdgeNode] = field(default_factory=list)
    broker: str | None = None

    @property
    def mqtt_running(self) -> bool:
        return bool(self.publishers or self.edge_nodes)

    async def stop(self) -> None:
        for publisher in self.publishers:
            await asyncio.to_thread(publisher.stop)
        for node in self.edge_nodes:
            await asyncio.to_thread(node.stop, True)
        if self.opcua is not None:
            await self.opcua.stop()


async def start_field(
    plant: Graph,
    *,
    opcua_port: int,
    broker: str,
    opcua_endpoint: str | None = None,
    interval: float = 1.0,
) -> DemoField:
    """Start the simulators for ``plant``; MQTT only when ``broker`` answers.

    With ``opcua_endpoint`` an OPC UA demo server already runs there (the compose
    service) and none is started here.
    """
    if opcua_endpoint is not None:
        demo = DemoField(opcua=None, opcua_endpoint=opcua_endpoint)
    else:
        server = DemoOpcUaServer(opcua_machines(plant), port=opcua_port, tick=interval)
        await server.start()
        log.info("demo OPC UA server at %s", server.endpoint)
        demo = DemoField(opcua=server, opcua_endpoint=server.endpoint)
    if not broker_reachable(broker):
        log.warning(
            "no MQTT broker at %s: MQTT and Sparkplug demo values stay empty; %s",
            broker,
            BROKER_HINT,
        )
        return demo
    parts = urlsplit(broker)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    machines = mqtt_machines(plant)
    publisher = DemoJsonPublisher(
        host, port, [(m.site, m.line, m.slug) for m in machines], interval=interval
    )
    lines: dict[str, list[str]] = {}
    for m in machines:
        lines.setdefault(m.line, []).append(m.slug)
    try:
        await asyncio.to_thread(publisher.start)
        demo.publishers.append(publisher)
        for line, slugs in sorted(lines.items()):
            node = _edge_node(host, port, line, slugs, interval)
            await asyncio.to_thread(node.start)
            demo.edge_nodes.append(node)
    except (OSError, TimeoutError) as exc:
        log.warning("demo MQTT publishers did not start (%s); %s", exc, BROKER_HINT)
    demo.broker = broker
    log.info(
        "demo MQTT publishers on %s: %d JSON machines, %d Sparkplug edge nodes",
        broker,
        len(machines),
        len(demo.edge_nodes),
    )
    return demo


def _edge_node(
    host: str, port: int, line: str, slugs: Sequence[str], interval: float
) -> DemoSparkplugEdgeNode:
    from graphtwin.demo.bindings import SPARKPLUG_GROUP

    return DemoSparkplugEdgeNode(
        host, port, slugs, group=SPARKPLUG_GROUP, edge_node=line, interval=interval
    )
