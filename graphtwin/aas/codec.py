"""AAS v3.0 JSON and XML: environments in and out, one identifiable as a document.

Reading is strict (basyx-python-sdk's non-failsafe decoders: a defect is an
error, never a silently skipped object) and every error names the identifiable
and the idShort path of the element that broke, so a user can find it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from typing import Any

from basyx.aas import model
from basyx.aas.adapter.json import (
    AASToJsonEncoder,
    StrictAASFromJsonDecoder,
    write_aas_json_file,
)
from basyx.aas.adapter.xml import write_aas_xml_file
from basyx.aas.adapter.xml.xml_deserialization import NS_AAS, StrictAASFromXmlDecoder
from lxml import etree  # type: ignore[import-untyped]

from graphtwin.aas.environment import Environment, join_path
from graphtwin.aas.vocab import Kind
from graphtwin.errors import BadInput

# What basyx raises for a defective object (AASConstraintViolation is no ValueError).
DECODE_ERRORS = (KeyError, TypeError, ValueError, model.AASConstraintViolation)

_JSON_LISTS = (
    ("assetAdministrationShells", Kind.SHELL),
    ("submodels", Kind.SUBMODEL),
    ("conceptDescriptions", Kind.CONCEPT_DESCRIPTION),
)
_ELEMENT_TYPES = frozenset(
    {
        "Property",
        "MultiLanguageProperty",
        "Range",
        "Blob",
        "File",
        "ReferenceElement",
        "RelationshipElement",
        "AnnotatedRelationshipElement",
        "SubmodelElementCollection",
        "SubmodelElementList",
        "Entity",
        "Operation",
        "Capability",
        "BasicEventElement",
    }
)
_VERSION = re.compile(r"admin-shell\.io/aas/(\d+)/(\d+)")
SUPPORTED = "graphtwin reads AAS v3.0"


class _ElementError(Exception):
    def __init__(self, path: tuple[str, ...], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.path = path
        self.cause = cause


def reason(exc: BaseException) -> str:
    """The innermost cause of a basyx error, readable."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, KeyError):
        # basyx raises KeyError both with a sentence and with the bare missing key.
        key = str(exc.args[0]) if exc.args else ""
        return key if " " in key else f"missing attribute or unknown value {key!r}"
    text = str(exc)
    return text.split(" >>> ", 1)[0]


def _error(where: str, label: str, path: str, cause: str) -> BadInput:
    at = f", element {path!r}" if path else ""
    return BadInput(f"{where}{label}{at}: {cause}; nothing was written", path=(label,))


# -- JSON -------------------------------------------------------------------------
def _decode(node: Any, path: tuple[str, ...], index: int | None) -> Any:
    """``StrictAASFromJsonDecoder`` applied bottom-up, as ``json.loads`` would, but
    knowing where it is: a failure carries the idShort path of its element."""
    if isinstance(node, list):
        return [_decode(item, path, i) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if node.get("modelType") in _ELEMENT_TYPES:
        id_short = node.get("idShort")
        path = (*path, id_short if isinstance(id_short, str) else f"[{index}]")
    done = {key: _decode(value, path, None) for key, value in node.items()}
    try:
        return StrictAASFromJsonDecoder.object_hook(done)
    except DECODE_ERRORS as exc:
        raise _ElementError(path, exc) from exc


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _check_json_version(raw: dict[str, Any]) -> None:
    # AAS v1/v2 JSON: top-level "assets", "identification" ids, modelType objects.
    items = [raw, *(item for key, _ in _JSON_LISTS for item in _list(raw.get(key)))]
    old = "assets" in raw or any(
        isinstance(item, dict)
        and ("identification" in item or isinstance(item.get("modelType"), dict))
        for item in items
    )
    if old:
        raise BadInput(f"unsupported AAS version: this is an AAS v1/v2 JSON document; {SUPPORTED}")


def read_json(data: bytes, *, where: str = "") -> Environment:
    """An environment from AAS v3.0 JSON.

    :raises BadInput: not JSON, not an AAS v3.0 environment, or a defective
        object (the message names it), or duplicate ids.
    """
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}the JSON document is not UTF-8: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{where}invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(raw, dict):
        raise BadInput(f"{where}not an AAS environment: the JSON document must be an object")
    _check_json_version(raw)
    env = Environment()
    single = next((k for k in Kind if raw.get("modelType") == k.local), None)
    if single is not None:
        # One shell, submodel or concept description on its own (as the REST API
        # serves them) is an environment of one.
        env.add(_decode_identifiable(raw, single, single.local, where))
        return env
    for key, kind in _JSON_LISTS:
        items = raw.get(key, [])
        if not isinstance(items, list):
            raise BadInput(f"{where}{key!r} must be a list")
        for index, item in enumerate(items):
            env.add(_decode_identifiable(item, kind, f"{key}[{index}]", where))
    env.check_unique_ids()
    return env


def _decode_identifiable(item: Any, kind: Kind, position: str, where: str) -> model.Identifiable:
    if not isinstance(item, dict):
        raise BadInput(f"{where}{position} is not a JSON object")
    id_ = item.get("id")
    label = f"{kind.label} {id_!r}" if isinstance(id_, str) else position
    try:
        obj = _decode(item, (), None)
    except _ElementError as err:
        raise _error(where, label, join_path(list(err.path)), reason(err.cause)) from err.cause
    if not isinstance(obj, kind.cls):
        raise BadInput(
            f"{where}{label} is not a {kind.local} (modelType {item.get('modelType')!r})",
            path=(label,),
        )
    return obj


# -- XML --------------------------------------------------------------------------
_XML_LISTS = {
    f"{NS_AAS}assetAdministrationShells": (
        Kind.SHELL,
        StrictAASFromXmlDecoder.construct_asset_administration_shell,
    ),
    f"{NS_AAS}submodels": (Kind.SUBMODEL, StrictAASFromXmlDecoder.construct_submodel),
    f"{NS_AAS}conceptDescriptions": (
        Kind.CONCEPT_DESCRIPTION,
        StrictAASFromXmlDecoder.construct_concept_description,
    ),
}
# XML element names of the submodel element types (Property -> property, ...).
_XML_ELEMENTS = tuple(f"{NS_AAS}{name[0].lower()}{name[1:]}" for name in sorted(_ELEMENT_TYPES))


def _parser() -> etree.XMLParser:
    # No DTD entities, no network: an upload must not read files or URLs.
    return etree.XMLParser(
        remove_blank_text=True,
        remove_comments=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
    )


def read_xml(data: bytes, *, where: str = "") -> Environment:
    """An environment from AAS v3.0 XML.

    :raises BadInput: not XML, another AAS version, a defective object (the
        message names it), or duplicate ids.
    """
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BadInput(f"{where}invalid XML: {exc}") from exc
    namespace = etree.QName(root).namespace or ""
    if f"{{{namespace}}}" != NS_AAS:
        version = _VERSION.search(namespace)
        if version:
            raise BadInput(
                f"{where}unsupported AAS version {version[1]}.{version[2]} (XML namespace "
                f"{namespace}); {SUPPORTED}"
            )
        raise BadInput(f"{where}not an AAS environment: root element {root.tag}")
    env = Environment()
    for child in root:
        if not isinstance(child.tag, str):
            continue
        found = _XML_LISTS.get(child.tag)
        if found is None:
            raise BadInput(f"{where}unexpected top-level element {etree.QName(child).localname}")
        kind, construct = found
        for index, element in enumerate(child):
            env.add(_construct(element, kind, construct, index, where))
    env.check_unique_ids()
    return env


def _construct(
    element: etree._Element, kind: Kind, construct: Any, index: int, where: str
) -> model.Identifiable:
    id_ = element.findtext(f"{NS_AAS}id")
    label = f"{kind.label} {id_!r}" if id_ else f"{kind.label} #{index + 1}"
    if element.tag != f"{NS_AAS}{kind.local[0].lower()}{kind.local[1:]}":
        raise BadInput(f"{where}{label}: unexpected element {element.tag}")
    try:
        obj = construct(element)
    except DECODE_ERRORS as exc:
        culprit, cause = _xml_culprit(element, exc)
        path = _xml_path(culprit) if culprit is not None else ""
        raise _error(where, label, path, reason(cause)) from exc
    if not isinstance(obj, kind.cls):  # pragma: no cover - basyx constructs what it is asked
        raise BadInput(f"{where}{label} is not a {kind.local}")
    return obj


def _xml_culprit(
    element: etree._Element, error: BaseException
) -> tuple[etree._Element | None, BaseException]:
    """The innermost submodel element that fails on its own, and its error."""
    found: tuple[etree._Element | None, BaseException] = (None, error)
    depth = -1
    for candidate in element.iter(*_XML_ELEMENTS):
        try:
            StrictAASFromXmlDecoder.construct_submodel_element(candidate)
        except DECODE_ERRORS as exc:
            level = sum(1 for _ in candidate.iterancestors())
            if level > depth:
                found, depth = (candidate, exc), level
    return found


def _xml_path(element: etree._Element) -> str:
    parts: list[str] = []
    current: etree._Element | None = element
    while current is not None:
        id_short = current.findtext(f"{NS_AAS}idShort")
        container = current.getparent()
        owner = container.getparent() if container is not None else None
        if owner is not None and owner.tag == f"{NS_AAS}submodelElementList":
            parts.append(f"[{list(container).index(current)}]")
        else:
            parts.append(id_short or "?")
        # Up to the enclosing submodel element, past value/statements/... wrappers.
        current = next((a for a in current.iterancestors() if a.tag in _XML_ELEMENTS), None)
    return join_path(list(reversed(parts)))


# -- writing ----------------------------------------------------------------------
def write_json(objects: Iterable[model.Identifiable]) -> bytes:
    buffer = io.StringIO()
    write_aas_json_file(buffer, model.DictObjectStore(objects), indent=2)
    return buffer.getvalue().encode("utf-8")


def write_xml(objects: Iterable[model.Identifiable]) -> bytes:
    buffer = io.BytesIO()
    write_aas_xml_file(buffer, model.DictObjectStore(objects))
    return buffer.getvalue()


# -- one identifiable as a document -----------------------------------------------
def to_document(obj: model.Identifiable) -> str:
    """The object's AAS JSON, compact. A shell's submodel references are sorted by
    id (basyx keeps them in a set), so equal shells give equal documents."""
    if isinstance(obj, model.AssetAdministrationShell) and len(obj.submodel) > 1:
        data = json.loads(json.dumps(obj, cls=AASToJsonEncoder))
        data["submodels"].sort(key=lambda ref: [k["value"] for k in ref["keys"]])
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj, cls=AASToJsonEncoder, separators=(",", ":"), ensure_ascii=False)


def from_document(text: str, kind: Kind) -> model.Identifiable:
    """:raises BadInput: the stored document is not a valid ``kind`` (it was
    written by a version of graphtwin that read it differently)."""
    try:
        obj = json.loads(text, cls=StrictAASFromJsonDecoder)
    except (json.JSONDecodeError, *DECODE_ERRORS) as exc:
        raise BadInput(f"stored AAS document does not decode: {reason(exc)}") from exc
    if not isinstance(obj, kind.cls):
        raise BadInput(f"stored AAS document is not a {kind.local}")
    return obj
