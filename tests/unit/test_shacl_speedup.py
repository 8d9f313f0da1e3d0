"""pySHACL's constraint-parameter cache holds the set-backed list, in the main
process and in advanced mode's per-shape copies."""

from __future__ import annotations

from pyshacl import shape
from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
from rdflib import URIRef
from rdflib.namespace import SH

import graphtwin.semantics.validation  # noqa: F401 - seeds the cache on import
from graphtwin.semantics.shacl_speedup import ConstraintParameters, seed_constraint_parameters


def test_validation_seeds_pyshacls_parameter_cache() -> None:
    parameters, parameter_map = shape.CONSTRAINT_PARAMS
    assert isinstance(parameters, ConstraintParameters)
    assert list(parameters) == list(ALL_CONSTRAINT_PARAMETERS)
    assert parameter_map is CONSTRAINT_PARAMETERS_MAP
    assert all(p in parameters for p in ALL_CONSTRAINT_PARAMETERS)
    assert URIRef("https://w3id.org/graphtwin/core#machine") not in parameters


def test_an_advanced_mode_copy_keeps_the_set_and_what_is_appended() -> None:
    # Advanced mode copies the list per shape and appends sh:expression.
    parameters = ConstraintParameters([SH.minCount, SH.maxCount])
    copied = parameters.copy()
    copied.append(SH.expression)
    assert isinstance(copied, ConstraintParameters)
    assert SH.expression in copied
    assert SH.expression not in parameters
    assert list(copied) == [SH.minCount, SH.maxCount, SH.expression]


def test_seeding_again_is_harmless() -> None:
    assert seed_constraint_parameters()
    assert isinstance(shape.CONSTRAINT_PARAMS[0], ConstraintParameters)
