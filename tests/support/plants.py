"""Small plants for tests that need a machine or two, not the demo plant."""

from __future__ import annotations


def press_of(site: str) -> str:
    """The IRI of the one press in :func:`one_press_plant` for ``site``."""
    return f"{site}/lines/l1/stations/op10/press-1"


def one_press_plant(site: str, label: str) -> str:
    """Turtle for a site with one line, one station and one press on it."""
    return f"""
@prefix gt: <https://w3id.org/graphtwin/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{site}> a gt:Site ; rdfs:label "{label}" .
<{site}/lines/l1> a gt:Line ; rdfs:label "L1" ; gt:partOf <{site}> .
<{site}/lines/l1/stations/op10> a gt:Station ; rdfs:label "OP10" ;
    gt:partOf <{site}/lines/l1> .
<{press_of(site)}> a gt:Press ; rdfs:label "Press 1" ;
    gt:partOf <{site}/lines/l1/stations/op10> ;
    gt:idealCycleTime 12.0 ; gt:ratedPower 40.0 .
"""
