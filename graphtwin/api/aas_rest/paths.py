"""idShortPaths (Part 2 §12.4): ``Coll.Prop``, ``List[2]``, ``List[0].Child``.

A path names a submodel element relative to its submodel: idShorts joined by
dots, with ``[index]`` for the members of a SubmodelElementList (which have no
idShort). Entity statements and AnnotatedRelationshipElement annotations are
reached the same way as collection members.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from basyx.aas import model

from graphtwin.errors import BadInput, NotFound

Token = str | int

# idShort grammar of v3.0 (AASd-002), followed by any number of [index].
_SEGMENT = re.compile(r"([A-Za-z][A-Za-z0-9_]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def parse(text: str) -> tuple[Token, ...]:
    """The tokens of an idShortPath.

    :raises BadInput: the text is not an idShortPath.
    """
    tokens: list[Token] = []
    for segment in text.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise BadInput(f"not an idShortPath: {text[:200]!r}")
        tokens.append(match.group(1))
        tokens.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return tuple(tokens)


def render(tokens: tuple[Token, ...]) -> str:
    """The canonical text of a parsed path."""
    text = ""
    for token in tokens:
        text = join(text, token)
    return text


def join(prefix: str, token: Token) -> str:
    if isinstance(token, int):
        return f"{prefix}[{token}]"
    return f"{prefix}.{token}" if prefix else token


def children(parent: model.Referable) -> Iterable[tuple[Token, model.SubmodelElement]]:
    """The direct children of a submodel or element, each with its path token."""
    if isinstance(parent, model.SubmodelElementList):
        return enumerate(parent.value)
    members: Iterable[model.SubmodelElement]
    if isinstance(parent, model.Submodel):
        members = parent.submodel_element
    elif isinstance(parent, model.SubmodelElementCollection):
        members = parent.value
    elif isinstance(parent, model.Entity):
        members = parent.statement
    elif isinstance(parent, model.AnnotatedRelationshipElement):
        members = parent.annotation
    else:
        return ()
    return ((member.id_short or "", member) for member in members)


def _child(parent: model.Referable, token: Token) -> model.SubmodelElement | None:
    if isinstance(token, int):
        if isinstance(parent, model.SubmodelElementList) and token < len(parent.value):
            member: model.SubmodelElement = parent.value[token]
            return member
        return None
    # Every container but a list keeps its members in a NamespaceSet indexed by idShort.
    members: model.NamespaceSet[model.SubmodelElement] | None = None
    if isinstance(parent, model.Submodel):
        members = parent.submodel_element
    elif isinstance(parent, model.SubmodelElementCollection):
        members = parent.value
    elif isinstance(parent, model.Entity):
        members = parent.statement
    elif isinstance(parent, model.AnnotatedRelationshipElement):
        members = parent.annotation  # type: ignore[assignment]  # DataElements only
    return None if members is None else members.get("id_short", token)


def resolve(submodel: model.Submodel, tokens: tuple[Token, ...]) -> model.SubmodelElement:
    """The element at the (parsed) path in ``submodel``.

    :raises NotFound: no element there.
    """
    node: model.Referable = submodel
    for token in tokens:
        found = _child(node, token)
        if found is None:
            path = render(tokens)
            raise NotFound(f"no submodel element at {path!r} in submodel {submodel.id!r}")
        node = found
    if not isinstance(node, model.SubmodelElement):  # pragma: no cover - tokens is never empty
        raise NotFound(f"no submodel element at {render(tokens)!r}")
    return node


def descendants(parent: model.Referable, prefix: str, deep: bool) -> list[str]:
    """The paths below ``parent`` (whose own path is ``prefix``), depth first.

    With ``deep`` False, only its direct children.
    """
    out: list[str] = []
    for token, child in children(parent):
        path = join(prefix, token)
        out.append(path)
        if deep:
            out.extend(descendants(child, path, deep))
    return out
