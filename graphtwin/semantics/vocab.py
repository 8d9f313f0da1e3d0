"""Namespace constants of the graphtwin vocabularies and the prefixes they use."""

from __future__ import annotations

from typing import Final

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, XSD

GT: Final = Namespace("https://w3id.org/graphtwin/core#")
GTS: Final = Namespace("https://w3id.org/graphtwin/shapes#")
GTB: Final = Namespace("https://w3id.org/graphtwin/binding#")
GTSIM: Final = Namespace("https://w3id.org/graphtwin/sim#")
QUDT: Final = Namespace("http://qudt.org/schema/qudt/")
UNIT: Final = Namespace("http://qudt.org/vocab/unit/")
QK: Final = Namespace("http://qudt.org/vocab/quantitykind/")
SOSA: Final = Namespace("http://www.w3.org/ns/sosa/")
SSN: Final = Namespace("http://www.w3.org/ns/ssn/")

# Base IRI of the demo company's twin; site IRIs are DEMO + "sites/<name>".
DEMO: Final = "https://acme.example/"

# Prefix -> namespace IRI for serialising, SPARQL headers and compact labels.
PREFIXES: Final[dict[str, str]] = {
    "gt": str(GT),
    "gts": str(GTS),
    "gtb": str(GTB),
    "gtsim": str(GTSIM),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "quantitykind": str(QK),
    "sosa": str(SOSA),
    "ssn": str(SSN),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "sh": str(SH),
    "dcterms": str(DCTERMS),
}
