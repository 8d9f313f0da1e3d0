"""The embedded ArcadeDB and its supervisor, each test with its own server and data dir."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from graphtwin.config import Settings
from graphtwin.errors import SourceUnavailable
from graphtwin.graph.arcadedb import ArcadeDBError, EmbeddedArcadeDB
from graphtwin.graph.engine import GraphEngine

pytestmark = pytest.mark.integration
logger = logging.getLogger(__name__)

IRI = "https://acme.example/line1"
CREATE = ("CREATE (:Resource:acme__Line {iri: $iri, name: 'Line 1'})", {"iri": IRI})
READ = ("MATCH (r:Resource {iri: $iri}) RETURN r.name AS name", {"iri": IRI})


def _engine(data_dir: Path, *, watch_interval: float | None) -> GraphEngine:
    settings = Settings(data_dir=data_dir, arcadedb_heap="512m")
    return GraphEngine.from_settings(settings, watch_interval=watch_interval)


@pytest.fixture
async def stopped_after() -> AsyncIterator[list[GraphEngine]]:
    """Engines a test starts, stopped even when it fails."""
    engines: list[GraphEngine] = []
    yield engines
    for engine in engines:
        await engine.stop()


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float) -> float:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true after {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def _listening_addresses(
    pid: int,
) -> set[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found: set[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]] = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hex_address, hex_port = local.split(":")
            raw = bytes.fromhex(hex_address)
            # /proc prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            address = ipaddress.ip_address(raw)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            found.add((address, int(hex_port, 16)))
    return found


async def test_start_stop_restart_keeps_data_credentials_and_listens_on_loopback_only(
    tmp_path: Path, stopped_after: list[GraphEngine]
) -> None:
    first = _engine(tmp_path, watch_interval=None)
    stopped_after.append(first)
    started = time.monotonic()
    await first.start()
    logger.info("embedded ArcadeDB started in %.2fs", time.monotonic() - started)
    embedded = first.embedded
    assert embedded is not None and embedded.pid is not None
    assert await first.ready()

    credentials_file = embedded.credentials_path
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(embedded.root_dir.stat().st_mode) == 0o700
    credentials = json.loads(credentials_file.read_text())
    assert credentials["password"] not in " ".join(
        Path(f"/proc/{embedded.pid}/cmdline").read_text().split("\0")
    )

    listening = _listening_addresses(embedded.pid)
    ports = {port for _, port in listening}
    assert {embedded.bolt_port, embedded.http_port} <= ports
    assert {address for address, _ in listening} == {ipaddress.ip_address("127.0.0.1")}
    assert not ports & set(range(2490, 2500))  # no HTTPS listener

    await first.store.write([CREATE])
    await first.stop()
    assert not embedded.is_running()
    assert not await first.ready()

    second = _engine(tmp_path, watch_interval=None)
    stopped_after.append(second)
    await second.start()

    assert await second.store.read(*READ) == [{"name": "Line 1"}]
    assert json.loads(credentials_file.read_text()) == credentials


async def test_supervisor_restarts_a_killed_server_without_losing_committed_data(
    tmp_path: Path, stopped_after: list[GraphEngine]
) -> None:
    engine = _engine(tmp_path, watch_interval=0.2)
    stopped_after.append(engine)
    await engine.start()
    embedded = engine.embedded
    assert embedded is not None and embedded.pid is not None
    await engine.store.write([CREATE])
    killed_pid = embedded.pid

    os.kill(killed_pid, signal.SIGKILL)

    await _eventually(lambda: _not(engine.ready()), timeout=5)
    took = await _eventually(engine.ready, timeout=45)
    logger.info("embedded ArcadeDB back after %.2fs", took)
    assert engine.restarts == 1
    assert embedded.pid != killed_pid
    assert await engine.store.read(*READ) == [{"name": "Line 1"}]
    await engine.store.write([("CREATE (:Resource {iri: 'https://acme.example/l2'})", {})])


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def test_requests_to_a_dead_server_fail_fast_with_source_unavailable(
    tmp_path: Path, stopped_after: list[GraphEngine]
) -> None:
    engine = _engine(tmp_path, watch_interval=None)
    stopped_after.append(engine)
    await engine.start()
    embedded = engine.embedded
    assert embedded is not None
    embedded.kill()

    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        await engine.store.write([CREATE])
    with pytest.raises(SourceUnavailable):
        await engine.store.read(*READ)
    assert time.monotonic() - started < 2.0
    assert not await engine.ready()


def test_a_server_that_exits_while_starting_reports_the_end_of_its_log(tmp_path: Path) -> None:
    server = EmbeddedArcadeDB(tmp_path, jvm_args=("-XX:+NoSuchJvmOption",))

    with pytest.raises(ArcadeDBError, match="NoSuchJvmOption"):
        server.start()
    assert not server.is_running()


def test_missing_credentials_for_an_existing_server_are_reported(tmp_path: Path) -> None:
    users = tmp_path / "arcadedb" / "config" / "server-users.jsonl"
    users.parent.mkdir(parents=True)
    users.write_text("{}\n")

    with pytest.raises(ArcadeDBError, match=r"credentials\.json is missing"):
        _ = EmbeddedArcadeDB(tmp_path).credentials


def test_heap_must_be_a_jvm_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="heap"):
        EmbeddedArcadeDB(tmp_path, heap="lots")


_ORPHAN_SCRIPT = """
import sys, time
from pathlib import Path
from graphtwin.graph.arcadedb import EmbeddedArcadeDB
server = EmbeddedArcadeDB(Path(sys.argv[1]), heap="256m")
server.launch()
print(server.pid, flush=True)
time.sleep(60)
"""


def test_the_server_dies_with_the_python_process_that_started_it(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert parent.stdout is not None
    with parent.stdout:
        java_pid = int(parent.stdout.readline())
    time.sleep(0.5)  # let the trampoline exec java

    parent.kill()
    parent.wait()

    deadline = time.monotonic() + 20
    while _alive(java_pid):
        assert time.monotonic() < deadline, "java outlived the process that started it"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in {"Z", "X"}
