"""Walking identifiables: their submodel elements, model references and semanticIds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from basyx.aas import model

from graphtwin.aas.environment import element_path
from graphtwin.aas.vocab import Kind

# The key type of a ModelReference's first key, by the identifiable it names.
KIND_OF_KEY = {
    model.KeyTypes.ASSET_ADMINISTRATION_SHELL: Kind.SHELL,
    model.KeyTypes.SUBMODEL: Kind.SUBMODEL,
    model.KeyTypes.CONCEPT_DESCRIPTION: Kind.CONCEPT_DESCRIPTION,
}


def walk_elements(root: model.Referable) -> Iterator[model.SubmodelElement]:
    """Every submodel element below ``root``, depth first: inside collections and
    lists, entity statements, operation variables and relationship annotations."""
    if isinstance(root, model.SubmodelElementList):
        children: Iterator[model.Referable] = iter(root.value)
    elif isinstance(root, model.UniqueIdShortNamespace):
        children = iter(root)
    else:
        return
    for child in children:
        if isinstance(child, model.SubmodelElement):
            yield child
            yield from walk_elements(child)


def model_references(obj: model.Identifiable) -> Iterator[tuple[str, model.ModelReference[Any]]]:
    """The model references an identifiable makes to other AAS objects, with where
    they are made. Semantic references (semanticId, derivedFrom, dataSpecification)
    are definitions, not links, and are left out."""
    if isinstance(obj, model.AssetAdministrationShell):
        for ref in sorted(obj.submodel, key=lambda r: [k.value for k in r.key]):
            yield "submodel reference", ref
        return
    if not isinstance(obj, model.Submodel):
        return
    for element in walk_elements(obj):
        where = f"element {element_path(element)!r}"
        targets: list[model.Reference | None]
        if isinstance(element, model.ReferenceElement):
            targets = [element.value]
        elif isinstance(element, model.RelationshipElement):
            targets = [element.first, element.second]
        elif isinstance(element, model.BasicEventElement):
            targets = [element.observed, element.message_broker]
        else:
            continue
        for target in targets:
            if isinstance(target, model.ModelReference):
                yield where, target


def semantic_ids(obj: model.Identifiable) -> set[str]:
    """Key values of every semanticId and supplementalSemanticId in ``obj`` (where
    concept descriptions are looked up)."""
    found: set[str] = set()
    holders: list[model.HasSemantics] = []
    if isinstance(obj, model.HasSemantics):
        holders.append(obj)
    if isinstance(obj, model.Submodel):
        holders += walk_elements(obj)
    for holder in holders:
        refs = [holder.semantic_id, *holder.supplemental_semantic_id]
        for ref in refs:
            if ref is not None:
                found.update(key.value for key in ref.key)
    return found


def reference_text(ref: model.Reference) -> str:
    return " / ".join(f"{key.type.name}:{key.value}" for key in ref.key)
