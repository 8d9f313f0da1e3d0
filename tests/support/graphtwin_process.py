"""graphtwin as a real child process (``graphtwin serve``), for tests that kill it.

The server runs in its own process group on a free loopback port with its own data
directory; its stdout and stderr go to a log file in the test's directory, whose
tail failing waits put into their message. The embedded ArcadeDB is a child of the
server in a session of its own (graphtwin/graph/arcadedb.py); it is found through
``/proc`` so a test can check that it dies with the server and clean it up if not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.mosquitto import free_port

_LOG_TAIL = 3000


def _graphtwin_command() -> list[str]:
    script = Path(sys.executable).with_name("graphtwin")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from graphtwin.cli import main; main()"]


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as gone); with
    ``started`` (its start time from /proc), only if it is still that process."""
    fields = _stat(pid)
    if fields is None or fields[0] in {"Z", "X"}:
        return False
    return started is None or fields[19] == started


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


class GraphtwinProcess:
    """``graphtwin serve`` on ``data_dir``; ``start()`` again after a kill reuses it."""

    def __init__(self, data_dir: Path, log_path: Path, env: Mapping[str, str]) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHTWIN_")}
        self.env = {
            **base,
            "PYTHONUNBUFFERED": "1",
            "GRAPHTWIN_DATA_DIR": str(data_dir),
            "GRAPHTWIN_HOST": "127.0.0.1",
            "GRAPHTWIN_PORT": str(self.port),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        # Every child (the embedded engine) seen, pid -> start time, so cleanup can
        # reach it even after a kill and never signals a recycled pid.
        self.engine_pids: dict[int, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*_graphtwin_command(), "serve"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-_LOG_TAIL:].decode("utf-8", errors="replace")

    def _check_running(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            code = None if process is None else process.returncode
            raise AssertionError(f"graphtwin exited ({code}); log:\n{self.log_tail()}")

    async def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait for ``/readyz`` to answer 200; returns the seconds it took."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                self._check_running()
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.url}/readyz")
                    if response.status_code == 200:
                        break
                if time.monotonic() - started > timeout:
                    raise AssertionError(
                        f"graphtwin not ready within {timeout}s; log:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)
        assert self.process is not None
        self._remember_children()
        return time.monotonic() - started

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        """``data`` of a GraphQL request that must succeed without errors."""
        async with httpx.AsyncClient(timeout=20.0, trust_env=False) as client:
            response = await client.post(
                f"{self.url}/graphql", json={"query": query, "variables": variables}
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def kill(self) -> list[int]:
        """SIGKILL the server (its process group); returns the pids of its children,
        which are not killed here (the embedded engine has a session of its own)."""
        process = self.process
        assert process is not None
        kids = self._remember_children()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return kids

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server gracefully (SIGTERM), then by force; also any engine it left."""
        process = self.process
        if process is not None and process.poll() is None:
            self._remember_children()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None:
            process.wait()
        deadline = time.monotonic() + 20.0
        for pid, started in self.engine_pids.items():
            while alive(pid, started) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid, started):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.engine_pids.clear()

    def _remember_children(self) -> list[int]:
        assert self.process is not None
        kids = children(self.process.pid)
        for pid in kids:
            fields = _stat(pid)
            if fields is not None:
                self.engine_pids[pid] = fields[19]
        return kids

    def engine_alive(self, pid: int) -> bool:
        return alive(pid, self.engine_pids.get(pid))
