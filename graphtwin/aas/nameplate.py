"""A shell generated from the graph for an asset that has none stored: Digital
Nameplate (IDTA 02006-2-0) and Technical Data (IDTA 02003-1-2).

The Nameplate's element semanticIds are the template's ECLASS IRDIs (the IDTA
test engine checks them and the mandatory elements). Values come from the
asset's ``gt:nameplateProperty`` values; Properties that mirror one carry it as
supplementalSemanticId, so after an import they stay fed by the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from basyx.aas import model
from rdflib import RDFS

from graphtwin.aas.builders import collection, global_ref, id_short_for, prop, text
from graphtwin.aas.concepts import generated_concepts
from graphtwin.aas.references import semantic_ids
from graphtwin.aas.technical_data import technical_data
from graphtwin.semantics.description import Description
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.vocab import GT

NAMEPLATE = "https://admin-shell.io/zvei/nameplate/2/0/Nameplate"
CONTACT_INFORMATION = (
    "https://admin-shell.io/zvei/nameplate/1/0/ContactInformations/ContactInformation"
)


@dataclass
class GeneratedShell:
    shell: model.AssetAdministrationShell
    submodels: list[model.Submodel]
    concept_descriptions: list[model.ConceptDescription]


def value_of(asset: Description, predicate: str) -> str | None:
    values = asset.literals.get(predicate)
    return str(min(values)) if values else None


def shell_id(asset_iri: str) -> str:
    return f"{asset_iri}/aas"


def _designation(asset: Description, ontology: OntologyIndex, model_name: str) -> str:
    kinds = sorted(ontology.classes[t].label or "" for t in asset.types if t in ontology.classes)
    kind = next((k for k in kinds if k), "")
    return f"{kind} {model_name}".strip()


def nameplate(asset: Description, ontology: OntologyIndex) -> model.Submodel | None:
    """The asset's Digital Nameplate, or None when it lacks a mandatory value
    (manufacturer, model, year of construction)."""
    manufacturer = value_of(asset, str(GT.manufacturer))
    model_name = value_of(asset, str(GT.model))
    year = value_of(asset, str(GT.yearOfConstruction))
    if not (manufacturer and model_name and year):
        return None
    elements: list[model.SubmodelElement] = [
        prop("URIOfTheProduct", "0173-1#02-AAY811#001", asset.iri),
        text("ManufacturerName", "0173-1#02-AAO677#002", {"en": manufacturer}),
        text(
            "ManufacturerProductDesignation",
            "0173-1#02-AAW338#001",
            {"en": _designation(asset, ontology, model_name)},
        ),
        collection(
            "ContactInformation",
            CONTACT_INFORMATION,
            [text("Company", "0173-1#02-AAW001#001", {"en": manufacturer})],
        ),
        text("ManufacturerProductType", "0173-1#02-AAO057#002", {"en": model_name}),
    ]
    serial = value_of(asset, str(GT.serialNumber))
    if serial:
        elements.append(
            prop(
                "SerialNumber", "0173-1#02-AAM556#002", serial, graph_property=str(GT.serialNumber)
            )
        )
    elements.append(
        prop(
            "YearOfConstruction",
            "0173-1#02-AAP906#001",
            year,
            graph_property=str(GT.yearOfConstruction),
        )
    )
    return model.Submodel(
        f"{shell_id(asset.iri)}/nameplate",
        id_short="Nameplate",
        semantic_id=global_ref(NAMEPLATE),
        administration=model.AdministrativeInformation(version="2", revision="0"),
        submodel_element=elements,
    )


def generate(asset: Description, ontology: OntologyIndex) -> GeneratedShell | None:
    """A shell with Nameplate and Technical Data for ``asset``, or None when the
    asset has no nameplate data."""
    plate = nameplate(asset, ontology)
    if plate is None:
        return None
    submodels = [plate]
    data = technical_data(asset, ontology, f"{shell_id(asset.iri)}/technical-data")
    if data is not None:
        submodels.append(data)
    labels = sorted(str(v) for v in asset.literals.get(str(RDFS.label), ()))
    serial = value_of(asset, str(GT.serialNumber))
    shell = model.AssetAdministrationShell(
        model.AssetInformation(
            asset_kind=model.AssetKind.INSTANCE,
            global_asset_id=asset.iri,
            specific_asset_id=[model.SpecificAssetId("SerialNumber", serial)] if serial else (),
            asset_type=min(asset.types) if asset.types else None,
        ),
        shell_id(asset.iri),
        id_short=id_short_for(labels[0] if labels else asset.iri.rsplit("/", 1)[-1]),
        submodel={model.ModelReference.from_referable(s) for s in submodels},
    )
    ids = set().union(*(semantic_ids(s) for s in submodels))
    return GeneratedShell(shell, submodels, generated_concepts(ids, ontology))
