"""A faster constraint-parameter lookup for pySHACL.

For every shape it validates (the shapes nested in ``sh:or`` and
``sh:qualifiedValueShape`` included, so dozens of times per machine), pySHACL
asks of each predicate of the shape whether it is a constraint parameter:
``p in`` a list of ~40 IRIs, compared one by one with rdflib's Python-level
term equality. With graphtwin's shapes that membership test was about a fifth
of validation CPU. pySHACL keeps that list in a cache on its ``shape`` module,
filled on first use (and copied per shape in advanced mode, which graphtwin
needs for SPARQL-based targets); seeding the cache with the same parameters in
a list that answers ``in`` from a set changes nothing but the speed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


class ConstraintParameters(list[Any]):
    """pySHACL's list of constraint parameters, with ``in`` answered by a set;
    a copy (advanced mode copies it per shape to add ``sh:expression``) is one too."""

    def __init__(self, parameters: Iterable[Any] = ()) -> None:
        super().__init__(parameters)
        self._members = set(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members

    def append(self, item: Any) -> None:
        super().append(item)
        self._members.add(item)

    def copy(self) -> ConstraintParameters:
        return ConstraintParameters(self)


def seed_constraint_parameters() -> bool:
    """Put the set-backed list into pySHACL's cache; False (and nothing changed)
    when this pySHACL keeps its parameters differently."""
    try:
        from pyshacl import shape
        from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
    except ImportError:
        log.debug("pySHACL has no constraint parameter cache to seed")
        return False
    current = getattr(shape, "CONSTRAINT_PARAMS", None)
    if current is not None and not (isinstance(current, tuple) and len(current) == 2):
        return False
    shape.CONSTRAINT_PARAMS = (  # type: ignore[attr-defined]
        ConstraintParameters(ALL_CONSTRAINT_PARAMETERS),
        CONSTRAINT_PARAMETERS_MAP,
    )
    return True
