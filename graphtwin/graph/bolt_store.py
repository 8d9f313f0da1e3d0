"""``GraphStore`` over Bolt with the official async neo4j driver (ArcadeDB or Neo4j 5)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import neo4j
from neo4j.exceptions import (
    ConnectionAcquisitionTimeoutError,
    ConstraintError,
    DatabaseUnavailable,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graphtwin.errors import Conflict, SourceUnavailable
from graphtwin.graph.port import Params, Record, Statement

logger = logging.getLogger(__name__)

# The engine is gone or not reachable now; retrying later may work.
_UNAVAILABLE = (
    ServiceUnavailable,
    SessionExpired,
    DatabaseUnavailable,
    ConnectionAcquisitionTimeoutError,
    ConnectionError,
)


@asynccontextmanager
async def _mapped_errors(action: str) -> AsyncIterator[None]:
    """Turn driver failures callers can act on into ``TwinError``s.

    Messages carry no host, credentials or Cypher: they may reach clients. Any
    other driver error means a bug (bad Cypher, a misconfigured engine) and
    propagates as it is, to be masked and logged at the API edge.
    """
    try:
        yield
    except ConstraintError as exc:
        raise Conflict("the write collides with a stored resource (uniqueness)") from exc
    except IncompleteCommit as exc:
        raise SourceUnavailable(
            "the graph engine connection was lost while committing; the outcome is unknown"
        ) from exc
    except _UNAVAILABLE as exc:
        logger.warning("graph engine unavailable during %s: %s", action, type(exc).__name__)
        raise SourceUnavailable("the graph engine is not available") from exc


class BoltGraphStore:
    """Reads in auto-commit transactions, writes in one explicit transaction each.

    The driver connects lazily, so building a store touches no network. A short
    connection timeout makes an unreachable engine fail fast with
    ``SourceUnavailable`` instead of hanging requests.
    """

    def __init__(
        self,
        uri: str,
        *,
        user: str,
        password: str,
        database: str | None = None,
        max_pool_size: int = 50,
        connection_timeout: float = 5.0,
        acquisition_timeout: float = 10.0,
        ping_timeout: float = 5.0,
    ) -> None:
        self._driver = neo4j.AsyncGraphDatabase.driver(
            uri,
            auth=(user, password),
            max_connection_pool_size=max_pool_size,
            connection_timeout=connection_timeout,
            connection_acquisition_timeout=acquisition_timeout,
            # A pooled connection idle this long is checked before use, so the
            # first request after an engine restart does not trip on a dead socket.
            liveness_check_timeout=30.0,
            telemetry_disabled=True,
        )
        self._database = database
        self._ping_timeout = ping_timeout
        self._round_trips = 0

    @property
    def round_trips(self) -> int:
        """Queries sent by ``read`` and ``write`` (one per statement); pings not counted."""
        return self._round_trips

    @property
    def database(self) -> str | None:
        return self._database

    def _session(self, access_mode: str) -> neo4j.AsyncSession:
        # fetch_size=-1: all records in one PULL, so one query is one round trip.
        return self._driver.session(
            database=self._database, default_access_mode=access_mode, fetch_size=-1
        )

    async def read(self, query: str, params: Params | None = None) -> list[Record]:
        """Run one query in an auto-commit transaction and return its records.

        :raises SourceUnavailable: the engine cannot be reached.
        """
        self._round_trips += 1
        async with _mapped_errors("read"), self._session(neo4j.READ_ACCESS) as session:
            result = await session.run(query, dict(params or {}))
            # Shallow: Record.data() walks every value to turn graph types into
            # dicts, which costs more than the decoding itself on large reads;
            # graphtwin's queries return maps and scalars.
            return [
                dict(zip(record.keys(), record.values(), strict=True)) async for record in result
            ]

    async def write(self, statements: Sequence[Statement]) -> list[list[Record]]:
        """Run the statements in order in one transaction; commit all or nothing.

        Returns each statement's records. Engines differ in when they check
        uniqueness (Neo4j at the statement, ArcadeDB at commit); either way the
        transaction is rolled back and ``Conflict`` raised.

        :raises Conflict: a statement violates a uniqueness constraint.
        :raises SourceUnavailable: the engine cannot be reached (nothing was written,
            unless the message says the outcome is unknown).
        """
        if not statements:
            return []
        results: list[list[Record]] = []
        async with _mapped_errors("write"), self._session(neo4j.WRITE_ACCESS) as session:
            tx = await session.begin_transaction()
            # The context manager commits on success and rolls back on any error.
            async with tx:
                for query, params in statements:
                    self._round_trips += 1
                    result = await tx.run(query, dict(params))
                    results.append(await result.data())
        return results

    async def ping(self) -> bool:
        """True when the engine answers ``RETURN 1`` within the ping timeout."""
        try:
            async with asyncio.timeout(self._ping_timeout):
                async with self._session(neo4j.READ_ACCESS) as session:
                    result = await session.run("RETURN 1 AS ok")
                    records = await result.data()
        except (TimeoutError, OSError, DriverError, Neo4jError) as exc:
            logger.debug("graph engine ping failed: %s", type(exc).__name__)
            return False
        return records == [{"ok": 1}]

    async def close(self) -> None:
        await self._driver.close()
