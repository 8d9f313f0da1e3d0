"""The demo plant's bindings, as RDF: which simulated signal feeds which property.

- Stuttgart's machines are read from the demo OPC UA server: eight variables per
  machine, plus the writable speed setpoint.
- Greenville's machines publish through MQTT: temperature as JSON on
  ``acme/greenville/<line>/<machine>/temperature``, and vibration, state and the
  part counter as Sparkplug B metrics of one edge node per line (group
  ``acme-greenville``, one device per machine).

``adapters/demo-*.ttl`` are this module's output for the default endpoints
(``python -m graphtwin.demo.bindings`` writes them; a test keeps them in sync);
``serve --demo`` generates them again for the endpoints it actually uses.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rdflib import RDF, XSD, Graph, Literal, URIRef

from graphtwin.demo.mqtt_publisher import COUNT, STATE, TEMPERATURE, VIBRATION
from graphtwin.demo.opcua_server import (
    DEFAULT_NAMESPACE_URI,
    SIMULATED_VARIABLES,
    SPEED_SETPOINT,
    DemoMachine,
    demo_machines,
)
from graphtwin.semantics.vocab import GT, GTB

OPCUA_SITE = "stuttgart"
MQTT_SITE = "greenville"
DEFAULT_OPCUA_ENDPOINT = "opc.tcp://127.0.0.1:4840/graphtwin/demo/"
DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
JSON_PREFIX = "acme"
SPARKPLUG_GROUP = "acme-greenville"

# OPC UA variable -> property (the server names its variables after the properties).
OPCUA_PROPERTIES = SIMULATED_VARIABLES
SPARKPLUG_METRICS = {
    VIBRATION: GT.vibrationVelocity,
    STATE: GT.machineState,
    COUNT: GT.totalCount,
}


@dataclass(frozen=True)
class MqttMachine:
    """A machine of the MQTT site: its slugs in topics and Sparkplug ids."""

    machine: DemoMachine
    site: str
    line: str
    slug: str

    @property
    def iri(self) -> str:
        assert self.machine.iri is not None
        return self.machine.iri


def mqtt_machines(plant: Graph) -> list[MqttMachine]:
    out = []
    for machine in demo_machines(plant):
        parts = machine.key.split("/")
        if parts[0] != MQTT_SITE or "lines" not in parts:
            continue
        line = parts[parts.index("lines") + 1]
        out.append(MqttMachine(machine, parts[0], line, parts[-1]))
    return out


def opcua_machines(plant: Graph) -> list[DemoMachine]:
    return [m for m in demo_machines(plant) if m.key.split("/")[0] == OPCUA_SITE]


def _binding(graph: Graph, iri: str, kind: URIRef, asset: str, prop: URIRef) -> URIRef:
    node = URIRef(iri)
    graph.add((node, RDF.type, kind))
    graph.add((node, GTB.asset, URIRef(asset)))
    graph.add((node, GTB.property, prop))
    return node


def demo_bindings(
    plant: Graph,
    *,
    opcua_endpoint: str = DEFAULT_OPCUA_ENDPOINT,
    broker: str = DEFAULT_BROKER,
    namespace_uri: str = DEFAULT_NAMESPACE_URI,
) -> dict[str, Graph]:
    """The demo bindings by file stem: ``demo-opcua``, ``demo-mqtt``, ``demo-sparkplug``."""
    opcua, mqtt_json, sparkplug = Graph(), Graph(), Graph()
    for graph in (opcua, mqtt_json, sparkplug):
        graph.bind("gt", str(GT))
        graph.bind("gtb", str(GTB))
    for machine in opcua_machines(plant):
        assert machine.iri is not None
        variables = [*OPCUA_PROPERTIES, SPEED_SETPOINT]
        for variable in variables:
            node = _binding(
                opcua,
                f"{machine.iri}/bindings/{variable}",
                GTB.OpcUaBinding,
                machine.iri,
                GT[variable],
            )
            opcua.add((node, GTB.endpoint, Literal(opcua_endpoint, datatype=XSD.anyURI)))
            opcua.add(
                (node, GTB.nodeId, Literal(f"nsu={namespace_uri};s={machine.key}.{variable}"))
            )
            opcua.add((node, GTB.samplingInterval, Literal(Decimal("1000.0"))))
            if variable == SPEED_SETPOINT:
                opcua.add((node, GTB.writable, Literal(True)))
            else:
                opcua.add((node, GTB.expectedPeriod, Literal(Decimal("5.0"))))
    for m in mqtt_machines(plant):
        node = _binding(
            mqtt_json, f"{m.iri}/bindings/temperature", GTB.MqttBinding, m.iri, GT.temperature
        )
        topic = f"{JSON_PREFIX}/{m.site}/{m.line}/{m.slug}/{TEMPERATURE}"
        mqtt_json.add((node, GTB.broker, Literal(broker, datatype=XSD.anyURI)))
        mqtt_json.add((node, GTB.topic, Literal(topic)))
        mqtt_json.add((node, GTB.payloadFormat, Literal("json")))
        mqtt_json.add((node, GTB.valuePath, Literal("value")))
        mqtt_json.add((node, GTB.timestampPath, Literal("ts")))
        mqtt_json.add((node, GTB.expectedPeriod, Literal(Decimal("5.0"))))
        for metric, prop in SPARKPLUG_METRICS.items():
            local = str(prop).rsplit("#", 1)[-1]
            node = _binding(
                sparkplug, f"{m.iri}/bindings/{local}", GTB.SparkplugBinding, m.iri, prop
            )
            sparkplug.add((node, GTB.broker, Literal(broker, datatype=XSD.anyURI)))
            sparkplug.add((node, GTB.groupId, Literal(SPARKPLUG_GROUP)))
            sparkplug.add((node, GTB.edgeNode, Literal(m.line)))
            sparkplug.add((node, GTB.device, Literal(m.slug)))
            sparkplug.add((node, GTB.metric, Literal(metric)))
    return {"demo-opcua": opcua, "demo-mqtt": mqtt_json, "demo-sparkplug": sparkplug}


def all_demo_bindings(plant: Graph, **endpoints: str) -> Graph:
    merged = Graph()
    for graph in demo_bindings(plant, **endpoints).values():
        merged += graph
    return merged


HEADER = """\
# {stem}.ttl: bindings of the demo plant, generated by graphtwin.demo.bindings
# (python -m graphtwin.demo.bindings adapters/). See adapters/README.md.
"""


def write_files(directory: Path, plant: Graph) -> list[Path]:
    written = []
    for stem, graph in demo_bindings(plant).items():
        path = directory / f"{stem}.ttl"
        path.write_text(HEADER.format(stem=stem) + graph.serialize(format="turtle"), "utf-8")
        written.append(path)
    return written


def main() -> None:
    from graphtwin.demo.plant import build_demo_plant

    parser = argparse.ArgumentParser(description="Write the demo plant's binding files.")
    parser.add_argument("directory", type=Path, nargs="?", default=Path("adapters"))
    args = parser.parse_args()
    for path in write_files(args.directory, build_demo_plant()):
        print(path)  # noqa: T201 - a command-line tool's output


if __name__ == "__main__":
    main()
