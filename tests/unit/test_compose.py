"""docker-compose.yml and the Dockerfile: the production-like stack, checked by structure.

No Docker engine runs in CI, so these read the files instead of starting them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with (ROOT / "docker-compose.yml").open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = compose["services"]
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whether written as a mapping or as KEY=VALUE items."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def container_ports(service: dict[str, Any]) -> set[int]:
    """Container ports of ``ports`` entries such as "8000:8000" or "127.0.0.1:7687:7687"."""
    ports: set[int] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split(":")[-1].split("/")[0]))
    return ports


def test_the_stack_has_graphtwin_neo4j_mosquitto_and_the_demo_opcua_server(
    services: dict[str, Any],
) -> None:
    assert set(services) == {"graphtwin", "neo4j", "mosquitto", "opcua-demo"}


def test_graphtwin_reads_the_field_from_the_broker_and_the_opcua_service(
    services: dict[str, Any],
) -> None:
    env = environment(services["graphtwin"])
    assert env["GRAPHTWIN_MQTT_URL"] == "mqtt://mosquitto:1883"
    assert env["GRAPHTWIN_DEMO_OPCUA_ENDPOINT"].startswith("opc.tcp://opcua-demo:4840/")
    depends_on = services["graphtwin"]["depends_on"]
    for service in ("mosquitto", "opcua-demo"):
        assert depends_on[service]["condition"] == "service_healthy"


def test_the_demo_opcua_server_runs_the_simulator_module(services: dict[str, Any]) -> None:
    service = services["opcua-demo"]
    assert service["entrypoint"][-2:] == ["-m", "graphtwin.demo.opcua_server"]
    command = service["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "4840"


def test_graphtwin_is_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    build = services["graphtwin"]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).is_file()


def test_graphtwin_runs_on_the_neo4j_service(services: dict[str, Any]) -> None:
    env = environment(services["graphtwin"])
    assert re.fullmatch(r"(bolt|neo4j)://neo4j:7687", env["GRAPHTWIN_NEO4J_URI"])
    assert env["GRAPHTWIN_NEO4J_USER"] == "neo4j"
    assert env["GRAPHTWIN_NEO4J_DATABASE"] == "neo4j"
    assert env["GRAPHTWIN_DEV"] == "false"
    # The password comes from a variable (with a local default), never a literal only.
    assert env["GRAPHTWIN_NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD")


def test_graphtwin_and_neo4j_share_the_password(services: dict[str, Any]) -> None:
    password = environment(services["graphtwin"])["GRAPHTWIN_NEO4J_PASSWORD"]
    assert environment(services["neo4j"])["NEO4J_AUTH"] == f"neo4j/{password}"


def test_graphtwin_waits_for_a_healthy_neo4j(services: dict[str, Any]) -> None:
    depends_on = services["graphtwin"]["depends_on"]
    assert depends_on["neo4j"]["condition"] == "service_healthy"


def test_graphtwin_serves_the_demo_on_all_interfaces(services: dict[str, Any]) -> None:
    command = services["graphtwin"].get("command")
    if command is not None:
        words = command if isinstance(command, list) else command.split()
        assert words[:2] == ["serve", "--demo"]
        assert words[words.index("--host") + 1] == "0.0.0.0"


def test_neo4j_is_5_community(services: dict[str, Any]) -> None:
    assert re.fullmatch(r"neo4j:5(\.[0-9.]+)?-community", services["neo4j"]["image"])


def test_mosquitto_is_version_2(services: dict[str, Any]) -> None:
    assert re.fullmatch(r"eclipse-mosquitto:2(\.[0-9.]+)?", services["mosquitto"]["image"])


@pytest.mark.parametrize(
    ("service", "ports"),
    [("graphtwin", {8000}), ("neo4j", {7474, 7687}), ("mosquitto", {1883}), ("opcua-demo", {4840})],
)
def test_ports_are_published(services: dict[str, Any], service: str, ports: set[int]) -> None:
    assert container_ports(services[service]) >= ports


@pytest.mark.parametrize("service", ["graphtwin", "neo4j", "mosquitto", "opcua-demo"])
def test_every_service_has_a_healthcheck(services: dict[str, Any], service: str) -> None:
    test = services[service]["healthcheck"]["test"]
    assert test and test != ["NONE"]


def test_graphtwin_healthcheck_asks_readyz(services: dict[str, Any]) -> None:
    test = services["graphtwin"]["healthcheck"]["test"]
    assert "/readyz" in " ".join(test if isinstance(test, list) else [test])


def test_neo4j_data_is_a_declared_named_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    mounts = [str(v).split(":") for v in services["neo4j"]["volumes"]]
    data = [source for source, target, *_ in mounts if target == "/data"]
    assert data, "neo4j needs a volume on /data"
    assert data[0] in (compose.get("volumes") or {})


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def exec_form(argument: str) -> list[str]:
    """The words of a CMD/ENTRYPOINT, in exec (JSON) or shell form."""
    if argument.startswith("["):
        words: list[str] = json.loads(argument)
        return words
    return argument.split()


def test_dockerfile_is_python_311_slim() -> None:
    froms = [rest for keyword, rest in dockerfile_instructions() if keyword == "FROM"]
    assert froms and froms[0].startswith("python:3.11-slim")


def test_dockerfile_installs_the_package() -> None:
    runs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN"]
    assert any(re.search(r"pip install (\S+ )*\.(\s|$)", run) for run in runs)


def test_dockerfile_runs_graphtwin_serve() -> None:
    instructions = dockerfile_instructions()
    entrypoint = [exec_form(rest) for keyword, rest in instructions if keyword == "ENTRYPOINT"]
    cmd = [exec_form(rest) for keyword, rest in instructions if keyword == "CMD"]
    # The last ENTRYPOINT and CMD are the ones that count.
    words = (entrypoint[-1] if entrypoint else []) + (cmd[-1] if cmd else [])
    assert "graphtwin" in words
    assert words[words.index("graphtwin") + 1] == "serve"


def test_dockerfile_points_at_the_ontologies_and_shapes() -> None:
    # A non-editable install cannot find ontologies/ and shapes/ beside the package.
    envs = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "ENV")
    assert "GRAPHTWIN_ONTOLOGY_DIR=" in envs
    assert "GRAPHTWIN_SHAPES_DIR=" in envs
