"""Technical Data (IDTA 02003-1-2) generated from an asset's nameplate properties.

GeneralInformation names the manufacturer and product; TechnicalProperties holds
every other ``gt:nameplateProperty`` value of the asset (rated power, rated
voltage, commissioning date, ...), each with the ontology property's IRI as
semanticId, so the element shows the asset's current value (see
graphtwin.aas.overlay) and its concept description comes from the ontology.
"""

from __future__ import annotations

from basyx.aas import model

from graphtwin.aas.builders import collection, global_ref, id_short_for, prop, text
from graphtwin.aas.overlay import aas_value
from graphtwin.semantics.description import Description
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.vocab import GT

TECHNICAL_DATA = "https://admin-shell.io/ZVEI/TechnicalData/Submodel/1/2"
_TD = "https://admin-shell.io/ZVEI/TechnicalData/"
_XSD = "http://www.w3.org/2001/XMLSchema#"
# Shown in the Digital Nameplate (and in GeneralInformation) instead.
_IN_NAMEPLATE = {
    str(GT[p]) for p in ("manufacturer", "model", "serialNumber", "yearOfConstruction")
}


def _is_nameplate_property(ontology: OntologyIndex, iri: str) -> bool:
    seen: set[str] = set()
    todo = [iri]
    while todo:
        current = todo.pop()
        if current == str(GT.nameplateProperty):
            return True
        meta = ontology.properties.get(current)
        if meta is None or current in seen:
            continue
        seen.add(current)
        todo += meta.super_properties
    return False


def value_type_of(ontology: OntologyIndex, iri: str) -> type:
    declared = ontology.datatype_of(iri) or ""
    name = f"xs:{declared.removeprefix(_XSD)}" if declared.startswith(_XSD) else ""
    return model.datatypes.XSD_TYPE_CLASSES.get(name, model.datatypes.String)


def technical_properties(asset: Description, ontology: OntologyIndex) -> list[model.Property]:
    out: list[model.Property] = []
    for iri in sorted(asset.literals):
        if iri in _IN_NAMEPLATE or not _is_nameplate_property(ontology, iri):
            continue
        value_type = value_type_of(ontology, iri)
        value = aas_value(min(asset.literals[iri]), value_type)
        if value is None:
            continue
        local = iri.rsplit("#", 1)[-1]
        out.append(prop(id_short_for(local[:1].upper() + local[1:]), iri, value, value_type))
    return out


def technical_data(asset: Description, ontology: OntologyIndex, id_: str) -> model.Submodel | None:
    """The asset's Technical Data submodel, or None when it has nothing to say."""
    manufacturer = min((str(v) for v in asset.literals.get(str(GT.manufacturer), ())), default=None)
    model_name = min((str(v) for v in asset.literals.get(str(GT.model), ())), default=None)
    properties = technical_properties(asset, ontology)
    if not (manufacturer or model_name or properties):
        return None
    general: list[model.SubmodelElement] = []
    if manufacturer:
        general.append(prop("ManufacturerName", "0173-1#02-AAO677#002", manufacturer))
    if model_name:
        general.append(
            text("ManufacturerProductDesignation", "0173-1#02-AAW338#001", {"en": model_name})
        )
    elements: list[model.SubmodelElement] = []
    if general:
        elements.append(collection("GeneralInformation", f"{_TD}GeneralInformation/1/1", general))
    elements.append(
        collection("TechnicalProperties", f"{_TD}TechnicalProperties/1/1", list(properties))
    )
    return model.Submodel(
        id_,
        id_short="TechnicalData",
        semantic_id=global_ref(TECHNICAL_DATA),
        administration=model.AdministrativeInformation(version="1", revision="2"),
        submodel_element=elements,
    )
