"""Shared helpers for the benchmarks: engines in temp dirs, servers, timing, tables.

The benchmarks print tables; they never assert on timings. Everything here talks
to 127.0.0.1 only and is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from graphtwin.bootstrap import Runtime, running
from graphtwin.config import Settings, load_settings

BENCH_DIR = Path(__file__).resolve().parent

# -- settings and engines ----------------------------------------------------------


def bench_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings from the environment, with the data dir (and anything else) overridden.

    ``GRAPHTWIN_NEO4J_URI`` still selects Neo4j, so every bench can run against it.
    """
    return load_settings().with_overrides(
        data_dir=data_dir, log_level="WARNING", host="127.0.0.1", **overrides
    )


@contextlib.contextmanager
def temp_data_dir(prefix: str = "graphtwin-bench-") -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as name:
        yield Path(name)


@asynccontextmanager
async def fresh_runtime(**overrides: Any) -> AsyncIterator[Runtime]:
    """The engine and services exactly as ``bootstrap.running`` builds them, in a
    fresh temp data dir, without the supervisor (a bench must not restart engines)."""
    with temp_data_dir() as data_dir:
        async with running(bench_settings(data_dir, **overrides), supervise=False) as runtime:
            yield runtime


def engine_name(settings: Settings) -> str:
    return "Neo4j (GRAPHTWIN_NEO4J_URI)" if settings.neo4j_uri else "embedded ArcadeDB"


# -- processes and ports -----------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(port: int, path: str, timeout: float, proc: subprocess.Popen[Any]) -> None:
    """Poll ``GET path`` on 127.0.0.1 until it answers 200.

    :raises RuntimeError: the process exited or the timeout passed first.
    """
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout:.0f}s")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM the process we started (uvicorn then runs the lifespan shutdown)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(_children(current))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by one process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# -- timing ------------------------------------------------------------------------


class Deadline:
    """A wall-clock budget shared by the steps of one bench run."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self._end


class Stopwatch:
    """Accumulates time under named phases."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + seconds
        self.counts[name] = self.counts.get(name, 0) + 1

    def get(self, name: str) -> float:
        return self.totals.get(name, 0.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- output --------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def format_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i])
            for i in range(len(widths))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [title, line(cells[0]), rule] + [line(row) for row in cells[1:]]
    return "\n".join(out)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print()
    print(format_table(title, headers, rows))
    sys.stdout.flush()


def machine_summary() -> str:
    """One line about where the numbers come from."""
    cpus = os.cpu_count() or 0
    model = ""
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError):
        load = ", load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{cpus} CPU(s) {model}{load} (other processes on this machine count too)"
    )


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    return parser


def write_json(path: Path | None, payload: Any) -> None:
    if path is not None:
        path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


class StoreTimer:
    """Stands in for a store (assigned to ``repository.store``) and adds up the time
    spent waiting on it; the product code is untouched."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.seconds = 0.0
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def read(self, query: str, params: Any = None) -> Any:
        start = time.perf_counter()
        try:
            return await self._store.read(query, params)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1

    async def write(self, statements: Any) -> Any:
        start = time.perf_counter()
        try:
            return await self._store.write(statements)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1
