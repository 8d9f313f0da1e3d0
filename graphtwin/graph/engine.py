"""The graph engine graphtwin runs against: embedded ArcadeDB (supervised) or Neo4j 5."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from graphtwin.config import Settings
from graphtwin.errors import TwinError
from graphtwin.graph.arcadedb import ArcadeDBError, EmbeddedArcadeDB
from graphtwin.graph.bolt_store import BoltGraphStore
from graphtwin.graph.schema import ensure_schema

logger = logging.getLogger(__name__)

_MAX_RESTART_DELAY = 30.0


@dataclass(frozen=True)
class BoltTarget:
    """Where an external engine (Neo4j 5) listens and how to log in."""

    uri: str
    user: str
    password: str
    database: str | None = None

    def __repr__(self) -> str:  # never print the password
        return f"BoltTarget(uri={self.uri!r}, user={self.user!r}, database={self.database!r})"


class GraphEngine:
    """Owns the ``BoltGraphStore`` and, in embedded mode, the ArcadeDB process.

    In embedded mode a supervisor task checks the process every ``watch_interval``
    seconds and restarts it (same data directory, same ports, so the driver simply
    reconnects) when it has exited or stopped answering. While it is down, requests
    fail fast with ``SourceUnavailable`` and ``ready()`` is False.
    """

    def __init__(
        self,
        *,
        target: BoltTarget | None = None,
        embedded: EmbeddedArcadeDB | None = None,
        watch_interval: float | None = 1.0,
        failed_pings_before_restart: int = 3,
        max_pool_size: int = 50,
        connection_timeout: float = 5.0,
        ping_timeout: float = 5.0,
    ) -> None:
        """
        :param watch_interval: seconds between supervisor checks; None disables
            supervision (embedded mode only; an external engine is never restarted).
        :raises ValueError: not exactly one of ``target`` and ``embedded`` is given.
        """
        if (target is None) == (embedded is None):
            raise ValueError("give exactly one of target (Neo4j) and embedded (ArcadeDB)")
        self._target = target
        self._embedded = embedded
        self._watch_interval = watch_interval
        self._failed_pings_before_restart = failed_pings_before_restart
        self._max_pool_size = max_pool_size
        self._connection_timeout = connection_timeout
        self._ping_timeout = ping_timeout
        self._store: BoltGraphStore | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._restarting = False
        self.restarts = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, watch_interval: float | None = 1.0
    ) -> GraphEngine:
        """Neo4j when ``settings.neo4j_uri`` is set, else ArcadeDB in ``settings.data_dir``.

        :raises ValueError: ``settings.arcadedb_heap`` is not a JVM size.
        """
        if settings.neo4j_uri:
            return cls(
                target=BoltTarget(
                    uri=settings.neo4j_uri,
                    user=settings.neo4j_user,
                    password=settings.neo4j_password,
                    database=settings.neo4j_database or None,
                )
            )
        embedded = EmbeddedArcadeDB(settings.data_dir, heap=settings.arcadedb_heap)
        return cls(embedded=embedded, watch_interval=watch_interval)

    @property
    def embedded(self) -> EmbeddedArcadeDB | None:
        return self._embedded

    @property
    def store(self) -> BoltGraphStore:
        """The store services use (a ``GraphStore``).

        :raises RuntimeError: the engine has not been started.
        """
        if self._store is None:
            raise RuntimeError("the graph engine is not started")
        return self._store

    async def start(self) -> None:
        """Start the embedded server if any, connect, and ensure the schema.

        :raises ArcadeDBError: the embedded server did not come up.
        :raises SourceUnavailable: the engine cannot be reached.
        """
        if self._store is not None:
            raise RuntimeError("the graph engine is already started")
        if self._embedded is not None:
            target = await self._start_embedded(self._embedded)
        elif self._target is not None:
            target = self._target
        else:  # excluded by __init__
            raise RuntimeError("the graph engine has no target")
        self._store = BoltGraphStore(
            target.uri,
            user=target.user,
            password=target.password,
            database=target.database,
            max_pool_size=self._max_pool_size,
            connection_timeout=self._connection_timeout,
            ping_timeout=self._ping_timeout,
        )
        try:
            await ensure_schema(self._store)
        except BaseException:
            await self.stop()
            raise
        if self._embedded is not None and self._watch_interval is not None:
            self._watch_task = asyncio.create_task(self._watch(self._watch_interval))
        logger.info("graph engine started (%s)", "embedded ArcadeDB" if self._embedded else "Neo4j")

    async def _start_embedded(self, embedded: EmbeddedArcadeDB) -> BoltTarget:
        # Spawned on the loop's thread, which lives as long as we do: Linux signals
        # the child when the thread that spawned it ends (PR_SET_PDEATHSIG).
        embedded.launch()
        try:
            await asyncio.to_thread(embedded.wait_ready)
        except BaseException:
            await asyncio.to_thread(embedded.stop)
            raise
        credentials = embedded.credentials
        return BoltTarget(
            embedded.bolt_uri, credentials.user, credentials.password, embedded.database
        )

    async def stop(self) -> None:
        """Stop supervising, close the driver and stop the embedded server. Idempotent."""
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
            self._watch_task = None
        if self._store is not None:
            await self._store.close()
            self._store = None
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)

    async def ready(self) -> bool:
        """True when the engine answers now (False while it is being restarted)."""
        if self._store is None or self._restarting:
            return False
        if self._embedded is not None and not self._embedded.is_running():
            return False
        return await self._store.ping()

    async def _watch(self, interval: float) -> None:
        failed_pings = 0
        while True:
            await asyncio.sleep(interval)
            embedded, store = self._embedded, self._store
            if embedded is None or store is None:
                return
            if embedded.is_running():
                if await store.ping():
                    failed_pings = 0
                    continue
                failed_pings += 1
                if failed_pings < self._failed_pings_before_restart:
                    continue
                logger.error("embedded ArcadeDB stopped answering; killing and restarting it")
                # A server that does not answer will not shut down cleanly either;
                # ArcadeDB replays its WAL on the next start.
                await asyncio.to_thread(embedded.kill)
            else:
                logger.error("embedded ArcadeDB exited unexpectedly; restarting it")
            failed_pings = 0
            await self._restart(embedded, store)

    async def _restart(self, embedded: EmbeddedArcadeDB, store: BoltGraphStore) -> None:
        """Restart until it works (backing off), or until the supervisor is cancelled."""
        self._restarting = True
        delay = 1.0
        try:
            while True:
                try:
                    await asyncio.to_thread(embedded.stop)
                    embedded.launch()
                    await asyncio.to_thread(embedded.wait_ready)
                    await ensure_schema(store)
                except (ArcadeDBError, TwinError, OSError):
                    logger.exception(
                        "restarting the embedded ArcadeDB failed; retry in %.0fs", delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _MAX_RESTART_DELAY)
                else:
                    self.restarts += 1
                    logger.info("embedded ArcadeDB restarted (%d so far)", self.restarts)
                    return
        finally:
            self._restarting = False
