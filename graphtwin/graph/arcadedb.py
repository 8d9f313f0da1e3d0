"""The embedded graph engine: ArcadeDB with its Bolt plugin, run as a child process.

The PyPI package ``arcadedb-embedded`` bundles a JRE and ArcadeDB's jars. We never
load them in-process through JPype (that segfaults at shutdown); instead we start
``com.arcadedb.server.ArcadeDBServer`` with the bundled ``java`` and talk to it over
Bolt like to any Neo4j. Everything it writes lives under ``<data_dir>/arcadedb``.

Hardening, each found by reading what the server does on its own:

- Every listener binds to 127.0.0.1 (HTTP and Bolt); HTTPS is never started (SSL
  off); ArcadeDB auto-discovers an MCP plugin on the classpath and registers an HTTP
  endpoint for it even when it is configured off, so its jar (and the unused
  Postgres and Redis wire-protocol jars) are left off the classpath.
- The root password is generated once, kept in ``credentials.json`` (mode 0600) and
  handed to the server through a file (``rootPasswordPath``), never on the command
  line where any local user could read it from ``/proc``.
- The child cannot outlive us by much: an ``atexit`` hook stops it, and on Linux
  ``PR_SET_PDEATHSIG`` sends it SIGTERM if this process dies without running hooks
  (set by a tiny Python trampoline that then execs java; the pid stays the same).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import neo4j
from neo4j.exceptions import AuthError, DriverError, Neo4jError

logger = logging.getLogger(__name__)

SERVER_MAIN_CLASS = "com.arcadedb.server.ArcadeDBServer"
BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
DATABASE = "graphtwin"
ROOT_USER = "root"

# Plugins ArcadeDB would discover on the classpath that graphtwin never uses.
_EXCLUDED_JARS = ("arcadedb-mcp-", "arcadedb-postgresw-", "arcadedb-redisw-")
# Variables the `java` launcher reads on its own; the child's JVM is ours to configure.
_JAVA_ENV_OPTIONS = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS")
_HEAP_PATTERN = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 4000


class ArcadeDBError(RuntimeError):
    """The embedded ArcadeDB could not be started (the message says why)."""


class DataDirectoryInUse(ArcadeDBError):
    """Another process (usually a running graphtwin server) holds the database."""


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


def package_dir() -> Path:
    """Where ``arcadedb-embedded`` is installed, found without importing it (no JPype).

    :raises ArcadeDBError: the package is not installed.
    """
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise ArcadeDBError("the arcadedb-embedded package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedArcadeDB:
    """One ArcadeDB server process serving the ``graphtwin`` database over Bolt.

    Blocking API (``start``/``stop`` wait for the process); async callers run
    ``wait_ready`` and ``stop`` in a thread, and ``launch`` on the thread that will
    stay alive (see ``launch``). Ports are chosen once per instance and kept across
    restarts, so a driver pointed at ``bolt_uri`` reconnects after a restart.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        heap: str = "1g",
        bolt_port: int | None = None,
        http_port: int | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 20.0,
        wal_flush: int = 1,
        jvm_args: tuple[str, ...] = (),
    ) -> None:
        """
        :param wal_flush: ArcadeDB's ``txWalFlush``: 0 leaves the WAL to the OS cache
            (survives a crash of the JVM, not of the machine), 1 flushes data at each
            commit, 2 also flushes file metadata.
        :raises ValueError: ``heap`` is not a JVM size such as ``512m`` or ``2g``.
        """
        if not _HEAP_PATTERN.match(heap):
            raise ValueError(f"ArcadeDB heap {heap!r} is not a JVM size such as 512m or 2g")
        self.root_dir = Path(data_dir).resolve() / "arcadedb"
        self.heap = heap
        self.bolt_port = bolt_port or free_port()
        self.http_port = http_port or free_port()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.wal_flush = wal_flush
        self.jvm_args = jvm_args
        self._process: subprocess.Popen[bytes] | None = None
        self._credentials: Credentials | None = None

    # -- paths and credentials -------------------------------------------------

    @property
    def credentials_path(self) -> Path:
        return self.root_dir / "credentials.json"

    @property
    def log_path(self) -> Path:
        """Where the server's stdout and stderr go (ArcadeDB's own logs are in log/)."""
        return self.root_dir / "server.log"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def database(self) -> str:
        return DATABASE

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def credentials(self) -> Credentials:
        """The root user's credentials, generated on first use and kept in the data dir.

        :raises ArcadeDBError: the server already has users but the credentials file
            is gone (the password cannot be recovered).
        """
        if self._credentials is None:
            self._credentials = self._load_or_create_credentials()
        return self._credentials

    def _load_or_create_credentials(self) -> Credentials:
        self.root_dir.parent.mkdir(parents=True, exist_ok=True)
        self.root_dir.mkdir(exist_ok=True, mode=0o700)
        path = self.credentials_path
        if path.exists():
            if path.stat().st_mode & 0o077:
                logger.warning("tightening permissions of %s to 0600", path)
                path.chmod(0o600)
            data = json.loads(path.read_text(encoding="utf-8"))
            return Credentials(user=str(data["user"]), password=str(data["password"]))
        if (self.root_dir / "config" / "server-users.jsonl").exists():
            raise ArcadeDBError(
                f"{path} is missing but the ArcadeDB server in {self.root_dir} already has "
                "a root user; restore the file or start from an empty data directory"
            )
        credentials = Credentials(user=ROOT_USER, password=secrets.token_urlsafe(32))
        payload = json.dumps({"user": credentials.user, "password": credentials.password})
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        return credentials

    def _write_password_file(self) -> Path:
        """The root password alone, for ``rootPasswordPath`` (read on first start only)."""
        password = self.credentials.password  # creates root_dir, private
        path = self.root_dir / "config" / "root-password"
        path.parent.mkdir(exist_ok=True, mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password)
        return path

    # -- process -----------------------------------------------------------------

    def command(self, password_file: Path) -> list[str]:
        """The java command line (no secrets in it)."""
        pkg = package_dir()
        jars = sorted(
            str(jar)
            for jar in (pkg / "jars").glob("*.jar")
            if not jar.name.startswith(_EXCLUDED_JARS)
        )
        root = self.root_dir
        properties = {
            "arcadedb.server.rootPath": str(root),
            "arcadedb.server.databaseDirectory": str(root / "databases"),
            "arcadedb.server.rootPasswordPath": str(password_file),
            "arcadedb.server.plugins": BOLT_PLUGIN,
            "arcadedb.server.defaultDatabases": f"{DATABASE}[{ROOT_USER}]",
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": str(self.http_port),
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": str(self.bolt_port),
            "arcadedb.bolt.defaultDatabase": DATABASE,
            "arcadedb.ssl.enabled": "false",
            "arcadedb.support.autoRegister": "false",
            "arcadedb.txWalFlush": str(self.wal_flush),
        }
        return [
            str(pkg / "jre" / "bin" / "java"),
            f"-Xmx{self.heap}",
            # Let the supervisor restart a JVM that ran out of memory instead of
            # leaving a half-alive server behind.
            "-XX:+ExitOnOutOfMemoryError",
            *self.jvm_args,
            *(f"-D{key}={value}" for key, value in properties.items()),
            "-cp",
            os.pathsep.join(jars),
            SERVER_MAIN_CLASS,
        ]

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def launch(self) -> None:
        """Spawn the server process and return at once (``wait_ready`` waits for it).

        Call it from a long-lived thread (the event loop's): on Linux the child is
        signalled when the thread that spawned it ends, not only the process.

        :raises ArcadeDBError: the server is already running, or java cannot be run.
        """
        if self.is_running():
            raise ArcadeDBError("the embedded ArcadeDB is already running")
        password_file = self._write_password_file()
        cmd = self.command(password_file)
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_suffix(".log.1"))
        env = {k: v for k, v in os.environ.items() if k not in _JAVA_ENV_OPTIONS}
        with self.log_path.open("wb") as log:
            try:
                self._process = subprocess.Popen(
                    _die_with_parent(cmd),
                    cwd=self.root_dir,  # ArcadeDB writes ./log relative to its cwd
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    # Its own session: a Ctrl-C in the terminal reaches us, and we
                    # stop the server in order.
                    start_new_session=True,
                )
            except OSError as exc:
                raise ArcadeDBError(f"cannot run the bundled java: {exc}") from exc
        _live_processes.add(self._process)
        logger.info(
            "embedded ArcadeDB starting (pid %s, bolt %s, data %s)",
            self._process.pid,
            self.bolt_uri,
            self.root_dir,
        )

    def wait_ready(self) -> float:
        """Block until ``RETURN 1`` succeeds over Bolt; return the seconds it took.

        :raises ArcadeDBError: the process exited, the credentials are refused, or
            it is not ready within ``startup_timeout`` (the message holds the tail
            of the server log).
        """
        process = self._process
        if process is None:
            raise ArcadeDBError("the embedded ArcadeDB was not launched")
        started = time.monotonic()
        deadline = started + self.startup_timeout
        credentials = self.credentials
        last_error: Exception | None = None
        with neo4j.GraphDatabase.driver(
            self.bolt_uri,
            auth=(credentials.user, credentials.password),
            connection_timeout=2.0,
            max_connection_pool_size=1,
            telemetry_disabled=True,
        ) as driver:
            while True:
                if process.poll() is not None:
                    tail = self.log_tail()
                    if "is locked by another process" in tail:
                        raise DataDirectoryInUse(
                            f"the graph in {self.root_dir.parent} is in use by another process "
                            "(a running graphtwin server?): stop it first, or write through "
                            "the server's GraphQL API"
                        )
                    raise ArcadeDBError(
                        f"the embedded ArcadeDB exited with code {process.returncode} "
                        f"while starting; end of {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    # A plain auto-commit run: execute_query would retry with backoff.
                    with driver.session(database=DATABASE) as session:
                        session.run("RETURN 1 AS ok").consume()
                except AuthError as exc:
                    raise ArcadeDBError(
                        f"the embedded ArcadeDB refused the credentials in {self.credentials_path}"
                    ) from exc
                except (DriverError, Neo4jError, OSError) as exc:
                    # Bolt listens a little before the database exists: keep polling.
                    last_error = exc
                else:
                    break
                if time.monotonic() > deadline:
                    raise ArcadeDBError(
                        f"the embedded ArcadeDB was not ready after {self.startup_timeout:.0f}s "
                        f"(last error: {type(last_error).__name__}); end of "
                        f"{self.log_path}:\n{self.log_tail()}"
                    )
                time.sleep(0.1)
        # Only read on the first start; no need to keep a second copy around.
        (self.root_dir / "config" / "root-password").unlink(missing_ok=True)
        elapsed = time.monotonic() - started
        logger.info("embedded ArcadeDB ready in %.2fs", elapsed)
        return elapsed

    def start(self) -> float:
        """Launch the server and wait until it answers; return the seconds it took.

        :raises ArcadeDBError: see ``launch`` and ``wait_ready``.
        """
        started = time.monotonic()
        self.launch()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - started

    def stop(self) -> None:
        """SIGTERM, wait up to ``stop_timeout``, then SIGKILL. Safe to call twice."""
        process = self._process
        if process is None:
            return
        _terminate(process, self.stop_timeout)
        _live_processes.discard(process)
        logger.info("embedded ArcadeDB stopped (exit code %s)", process.returncode)

    def kill(self) -> None:
        """SIGKILL the server at once (used when it hangs; ArcadeDB replays its WAL)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def log_tail(self, limit: int = _LOG_TAIL_BYTES) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - limit))
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        logger.warning("embedded ArcadeDB ignored SIGTERM for %.0fs; killing it", timeout)
        process.kill()
        process.wait()


# Every server we started and have not stopped yet, stopped when Python exits.
_live_processes: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _stop_live_processes() -> None:
    for process in list(_live_processes):
        _terminate(process, 10.0)
    _live_processes.clear()


# Run by the interpreter between fork and java: asks Linux to SIGTERM this process
# when our process dies (it survives the exec), then becomes java. A trampoline
# rather than a preexec_fn, which is not safe in a process with threads.
_PDEATHSIG_TRAMPOLINE = (
    "import ctypes, os, sys\n"
    f"ctypes.CDLL(None).prctl({_PR_SET_PDEATHSIG}, {int(signal.SIGTERM)})\n"
    "if os.getppid() != int(sys.argv[1]):\n"  # we died before prctl took effect
    "    sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def _die_with_parent(cmd: list[str]) -> list[str]:
    """``cmd``, made to end when this process ends (Linux; elsewhere atexit only)."""
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-I", "-c", _PDEATHSIG_TRAMPOLINE, str(os.getpid()), *cmd]
