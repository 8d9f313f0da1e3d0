"""Concept descriptions (IEC 61360) for the elements graphtwin generates.

The Digital Nameplate's ECLASS IRDIs get their names and short definitions here;
a property of the ontologies (used as semanticId in Technical Data) gets its
labels, comment and unit from the ontology.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from basyx.aas import model
from rdflib import RDFS, Literal, URIRef
from rdflib.namespace import XSD

from graphtwin.aas.builders import global_ref, id_short_for
from graphtwin.semantics.ontology import OntologyIndex

IEC61360_TEMPLATE = "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"
_T = model.DataTypeIEC61360


@dataclass(frozen=True)
class Concept:
    id_short: str
    name: str
    definition: str
    data_type: model.DataTypeIEC61360


# Digital Nameplate (IDTA 02006-2-0) elements graphtwin fills, by ECLASS IRDI.
NAMEPLATE_CONCEPTS: dict[str, Concept] = {
    "0173-1#02-AAY811#001": Concept(
        "URIOfTheProduct",
        "URI of the product",
        "Unique global identification of the product using a universal resource identifier.",
        _T.IRI,
    ),
    "0173-1#02-AAO677#002": Concept(
        "ManufacturerName",
        "Manufacturer name",
        "Legally valid designation of the natural or judicial person which is directly "
        "responsible for the design, production, packaging and labeling of a product.",
        _T.STRING_TRANSLATABLE,
    ),
    "0173-1#02-AAW338#001": Concept(
        "ManufacturerProductDesignation",
        "Manufacturer product designation",
        "Short description of the product (short text).",
        _T.STRING_TRANSLATABLE,
    ),
    "0173-1#02-AAO057#002": Concept(
        "ManufacturerProductType",
        "Manufacturer product type",
        "Characteristic to differentiate between different products of a product family "
        "or special variants.",
        _T.STRING_TRANSLATABLE,
    ),
    "0173-1#02-AAM556#002": Concept(
        "SerialNumber",
        "Serial number",
        "Unique combination of numbers and letters used to identify the device once it "
        "has been manufactured.",
        _T.STRING,
    ),
    "0173-1#02-AAP906#001": Concept(
        "YearOfConstruction",
        "Year of construction",
        "Year as completion date of the object.",
        _T.STRING,
    ),
    "0173-1#02-AAW001#001": Concept(
        "Company", "Company", "Name of the company.", _T.STRING_TRANSLATABLE
    ),
}

_DATA_TYPES = {
    str(XSD.decimal): _T.REAL_MEASURE,
    str(XSD.double): _T.REAL_MEASURE,
    str(XSD.float): _T.REAL_MEASURE,
    str(XSD.integer): _T.INTEGER_COUNT,
    str(XSD.int): _T.INTEGER_COUNT,
    str(XSD.long): _T.INTEGER_COUNT,
    str(XSD.boolean): _T.BOOLEAN,
    str(XSD.date): _T.DATE,
    str(XSD.dateTime): _T.TIMESTAMP,
    str(XSD.anyURI): _T.IRI,
}


def concept_description(
    id_: str,
    id_short: str,
    names: dict[str, str],
    definitions: dict[str, str],
    data_type: model.DataTypeIEC61360,
    unit: str | None = None,
) -> model.ConceptDescription:
    content = model.DataSpecificationIEC61360(
        preferred_name=model.PreferredNameTypeIEC61360(names),
        definition=model.DefinitionTypeIEC61360(definitions),
        data_type=data_type,
        unit=unit,
    )
    return model.ConceptDescription(
        id_,
        id_short=id_short,
        embedded_data_specifications=[
            model.EmbeddedDataSpecification(global_ref(IEC61360_TEMPLATE), content)
        ],
    )


def _texts(ontology: OntologyIndex, iri: str, predicate: URIRef) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in ontology.graph.objects(URIRef(iri), predicate):
        if isinstance(value, Literal):
            found.setdefault(value.language or "en", str(value))
    return found


def property_concept(ontology: OntologyIndex, iri: str) -> model.ConceptDescription | None:
    """A concept description of a datatype property of the ontologies."""
    meta = ontology.properties.get(iri)
    if meta is None or meta.kind != "datatype":
        return None
    names = _texts(ontology, iri, RDFS.label) or {"en": iri.rsplit("#", 1)[-1]}
    definitions = _texts(ontology, iri, RDFS.comment) or {"en": names.get("en", iri)}
    names.setdefault("en", next(iter(names.values())))
    definitions.setdefault("en", next(iter(definitions.values())))
    data_type = _DATA_TYPES.get(ontology.datatype_of(iri) or "", _T.STRING)
    unit = ontology.unit_of(iri)
    local = iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return concept_description(
        iri,
        id_short_for(local[:1].upper() + local[1:], "Property"),
        names,
        definitions,
        data_type,
        unit.symbol if unit is not None else None,
    )


def generated_concepts(
    semantic_ids: Iterable[str], ontology: OntologyIndex
) -> list[model.ConceptDescription]:
    """Concept descriptions for those semanticIds graphtwin can describe."""
    out: list[model.ConceptDescription] = []
    for id_ in sorted(set(semantic_ids)):
        concept = NAMEPLATE_CONCEPTS.get(id_)
        if concept is not None:
            out.append(
                concept_description(
                    id_,
                    concept.id_short,
                    {"en": concept.name},
                    {"en": concept.definition},
                    concept.data_type,
                )
            )
            continue
        described = property_concept(ontology, id_)
        if described is not None:
            out.append(described)
    return out
