"""The port every service uses to reach the graph: Cypher (Neo4j 5 dialect) over Bolt.

There is one implementation (``BoltGraphStore``) and two engines behind it
(embedded ArcadeDB, Neo4j 5); services only see this protocol, and unit tests may
use a fake of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Params = Mapping[str, Any]
Record = dict[str, Any]
Statement = tuple[str, Params]


class GraphStore(Protocol):
    """Reads and atomic multi-statement writes.

    Implementations raise ``graphtwin.errors.SourceUnavailable`` when the engine
    cannot be reached (retryable), ``graphtwin.errors.Conflict`` on a uniqueness
    violation, and never leak driver exceptions to callers.
    """

    @property
    def round_trips(self) -> int:
        """How many Cypher round trips this store has made (for benchmarks)."""
        ...

    async def read(self, query: str, params: Params | None = None) -> list[Record]:
        """Run one read query and return its records as dicts."""
        ...

    async def write(self, statements: Sequence[Statement]) -> list[list[Record]]:
        """Run all statements in one transaction: all of them commit, or none."""
        ...

    async def ping(self) -> bool:
        """True when the engine answers a trivial query now."""
        ...

    async def close(self) -> None: ...
