"""The graph schema graphtwin needs, created idempotently on every start."""

from __future__ import annotations

import logging

from graphtwin.graph.port import GraphStore

logger = logging.getLogger(__name__)

# A resource is a node with a unique IRI. The constraint is backed by an index,
# which is what every lookup by IRI (and every MERGE) uses, so no other index is
# needed yet. Neo4j 5 and ArcadeDB both accept this syntax.
SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE CONSTRAINT resource_iri IF NOT EXISTS FOR (r:Resource) REQUIRE r.iri IS UNIQUE",
)


async def ensure_schema(store: GraphStore) -> None:
    """Create the constraints and indexes that do not exist yet.

    Each statement runs in its own transaction (Neo4j refuses schema and data
    changes mixed in one, and a failing one should not undo the others).

    :raises SourceUnavailable: the engine cannot be reached.
    """
    for statement in SCHEMA_STATEMENTS:
        await store.write([(statement, {})])
    logger.debug("graph schema ensured (%d statements)", len(SCHEMA_STATEMENTS))
