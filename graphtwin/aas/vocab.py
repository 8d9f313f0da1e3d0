"""Terms of the AAS mapping (ontologies/graphtwin-aas.ttl) and how resource IRIs are made."""

from __future__ import annotations

import base64
from enum import Enum
from typing import Final

from basyx.aas import model
from rdflib import Namespace, URIRef

AAS: Final = Namespace("https://admin-shell.io/aas/3/0/")
GTAAS: Final = Namespace("https://w3id.org/graphtwin/aas#")

# IDTA RDF serialization predicates for an identifiable's id and idShort.
AAS_ID: Final = URIRef(f"{AAS}Identifiable/id")
AAS_ID_SHORT: Final = URIRef(f"{AAS}Referable/idShort")


class Kind(Enum):
    """The three identifiables of an AAS environment: class IRI and IRI segment."""

    SHELL = ("AssetAdministrationShell", "shells", model.AssetAdministrationShell)
    SUBMODEL = ("Submodel", "submodels", model.Submodel)
    CONCEPT_DESCRIPTION = ("ConceptDescription", "concept-descriptions", model.ConceptDescription)

    def __init__(self, local: str, segment: str, cls: type[model.Identifiable]) -> None:
        self.local = local
        self.segment = segment
        self.cls = cls

    @property
    def class_iri(self) -> str:
        return f"{AAS}{self.local}"

    @property
    def label(self) -> str:
        return {"SHELL": "shell", "SUBMODEL": "submodel"}.get(self.name, "concept description")

    @classmethod
    def of(cls, obj: model.Identifiable) -> Kind:
        """:raises TypeError: ``obj`` is not a shell, submodel or concept description."""
        for kind in cls:
            if isinstance(obj, kind.cls):
                return kind
        raise TypeError(f"{type(obj).__name__} is not an AAS environment identifiable")


def encode_id(id_: str) -> str:
    """base64url without padding, as the AAS REST API encodes identifiers."""
    return base64.urlsafe_b64encode(id_.encode("utf-8")).rstrip(b"=").decode("ascii")


def resource_iri(base: str, kind: Kind, id_: str) -> str:
    """The twin-graph IRI of an identifiable: ``{base}aas/{segment}/{base64url(id)}``."""
    return f"{base}aas/{kind.segment}/{encode_id(id_)}"
