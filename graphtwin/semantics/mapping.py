"""The RDF <-> property-graph mapping (see docs/mapping.md).

- A resource is a node labelled ``Resource`` with a unique ``iri``.
- Asserted ``rdf:type`` values are kept in ``_types``; the node's labels are those
  classes and all their superclasses, compacted (``gt__Machine``, ``gt__Asset``).
- Datatype properties become node properties keyed by compact name, holding a
  native value (int, float, bool, str) or a list of them. Where the native value
  does not give back the exact literal (language tags, non-canonical lexical
  forms, datatypes other than the declared range), ``_lits`` holds the exact
  forms as JSON so export is lossless.
- Links to other resources become relationships typed by compact name; IRIs
  outside the data namespaces (vocabulary terms, external references) stay node
  properties listed in ``_refs``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rdflib import XSD, Literal
from rdflib.term import URIRef

from graphtwin.semantics.description import Description, is_skolem
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.prefixes import PrefixTable

RESOURCE_LABEL = "Resource"
RESERVED_KEYS = frozenset({"iri", "_types", "_lits", "_refs", "_bnode"})

INTEGER_TYPES = {
    str(XSD[t])
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}
FLOAT_TYPES = {str(XSD.double), str(XSD.float), str(XSD.decimal)}
_INT64 = (-(2**63), 2**63 - 1)

Native = int | float | bool | str


@dataclass
class NodeRecord:
    iri: str
    labels: list[str]
    props: dict[str, Any]


@dataclass
class LinkRecord:
    source: str
    type: str
    target: str


@dataclass
class ResourceRows:
    node: NodeRecord
    links: list[LinkRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ValueView:
    """One stored literal as clients see it, without building an rdflib term."""

    lexical: str
    datatype: str | None
    language: str | None
    native: Native


@dataclass
class ResourceView:
    """What reads need of a stored resource (cheaper than a ``Description``).

    Read-only once built: views may be shared by requests (``ViewCache``), so
    readers keep what they derive from one in ``derived``, which lives as long as
    the view does.
    """

    iri: str
    types: list[str]
    values: dict[str, list[ValueView]]
    links: dict[str, list[str]]
    refs: dict[str, list[str]]
    derived: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)


def _native(lit: Literal) -> Native:
    """The value a property graph can index and compare, for one literal."""
    dt = str(lit.datatype) if lit.datatype else None
    if lit.language is None and dt is not None:
        value = lit.toPython()
        if dt in INTEGER_TYPES and isinstance(value, int) and not isinstance(value, bool):
            if _INT64[0] <= value <= _INT64[1]:
                return value
        elif dt in FLOAT_TYPES and isinstance(value, (float, Decimal)):
            return float(value)
        elif dt == str(XSD.boolean) and isinstance(value, bool):
            return value
    return str(lit)


_XSD_BOOLEAN = str(XSD.boolean)
_XSD_INTEGER = str(XSD.integer)
_XSD_DECIMAL = str(XSD.decimal)
_XSD_DOUBLE = str(XSD.double)
_XSD_STRING = str(XSD.string)


def _lexical(value: Native, declared: str | None) -> tuple[str, str | None]:
    """(lexical form, datatype IRI) a native value stands for, given the declared range.

    Reads use this directly, without building rdflib literals; writes keep an
    exact form in ``_lits`` whenever it does not give back the original literal.
    """
    if isinstance(value, bool):
        return ("true" if value else "false"), _XSD_BOOLEAN
    if isinstance(value, int):
        return str(value), (declared if declared in INTEGER_TYPES else _XSD_INTEGER)
    if isinstance(value, float):
        if declared == _XSD_DECIMAL:
            return format(Decimal(repr(value)), "f"), _XSD_DECIMAL
        return repr(value), _XSD_DOUBLE
    if declared and declared != _XSD_STRING:
        return value, declared
    return value, None


def _decode(value: Native, declared: str | None) -> Literal:
    """The literal a native value stands for, given the property's declared range."""
    lexical, datatype = _lexical(value, declared)
    return Literal(lexical, datatype=URIRef(datatype) if datatype else None)


def _exact(lit: Literal) -> list[str | None]:
    return [str(lit), str(lit.datatype) if lit.datatype else None, lit.language]


def _from_exact(entry: list[str | None]) -> Literal:
    lexical, datatype, language = entry
    return Literal(lexical or "", datatype=URIRef(datatype) if datatype else None, lang=language)


def _sort_key(lit: Literal) -> tuple[str, str, str]:
    return (str(lit), str(lit.datatype or ""), lit.language or "")


class GraphMapping:
    """Turns descriptions into node/relationship records and back."""

    def __init__(self, ontology: OntologyIndex, prefixes: PrefixTable) -> None:
        self.ontology = ontology
        self.prefixes = prefixes
        # Stored key -> (predicate IRI, declared datatype): reads meet the same few
        # dozen keys on every node. Prefixes never change meaning once stored.
        self._keys: dict[str, tuple[str, str | None]] = {}

    def _key(self, key: str) -> tuple[str, str | None]:
        known = self._keys.get(key)
        if known is None:
            predicate = self.prefixes.expand(key)
            known = (predicate, self.ontology.datatype_of(predicate))
            self._keys[key] = known
        return known

    def labels_for(self, types: set[str]) -> list[str]:
        labels = {RESOURCE_LABEL}
        for t in types:
            for ancestor in self.ontology.ancestors(t):
                labels.add(self.prefixes.compact(ancestor))
        return sorted(labels)

    def to_rows(self, desc: Description) -> ResourceRows:
        """Node and outgoing relationship records for one description."""
        props: dict[str, Any] = {"iri": desc.iri, "_types": sorted(desc.types)}
        exact: dict[str, list[list[str | None]]] = {}
        ref_keys: list[str] = []
        if is_skolem(desc.iri):
            props["_bnode"] = True
        for predicate, values in desc.literals.items():
            key = self.prefixes.compact(predicate)
            declared = self.ontology.datatype_of(predicate)
            ordered = sorted(values, key=_sort_key)
            natives = [_native(lit) for lit in ordered]
            mixed = len({type(n) for n in natives}) > 1
            if mixed:
                natives = [str(lit) for lit in ordered]
            lossy = mixed or any(
                _lexical(n, declared) != (str(lit), str(lit.datatype) if lit.datatype else None)
                or lit.language is not None
                for n, lit in zip(natives, ordered, strict=True)
            )
            if predicate in desc.refs:
                lossy = True
                natives += sorted(desc.refs[predicate])
            if lossy:
                exact[key] = [_exact(lit) for lit in ordered]
                exact[key] += [[iri, "@id", None] for iri in sorted(desc.refs.get(predicate, ()))]
            props[key] = natives[0] if len(natives) == 1 else natives
        for predicate, iris in desc.refs.items():
            if predicate in desc.literals:
                continue
            key = self.prefixes.compact(predicate)
            ordered_iris = sorted(iris)
            props[key] = ordered_iris[0] if len(ordered_iris) == 1 else ordered_iris
            ref_keys.append(key)
        if exact:
            props["_lits"] = json.dumps(exact, separators=(",", ":"))
        if ref_keys:
            props["_refs"] = sorted(ref_keys)
        node = NodeRecord(desc.iri, self.labels_for(desc.types), props)
        links = [
            LinkRecord(desc.iri, self.prefixes.compact(predicate), target)
            for predicate, targets in sorted(desc.links.items())
            for target in sorted(targets)
        ]
        return ResourceRows(node, links)

    def from_node(self, props: dict[str, Any], links: list[tuple[str, str]]) -> Description:
        """A description from stored node properties and (type, target IRI) pairs.

        :raises KeyError: a compact name uses a prefix that is not in the table.
        """
        desc = Description(iri=str(props["iri"]), types=set(props.get("_types") or ()))
        exact: dict[str, list[list[str | None]]] = json.loads(props.get("_lits") or "{}")
        ref_keys = set(props.get("_refs") or ())
        for key, value in props.items():
            if key in RESERVED_KEYS:
                continue
            predicate = self.prefixes.expand(key)
            if key in exact:
                for entry in exact[key]:
                    if entry[1] == "@id":
                        desc.refs.setdefault(predicate, set()).add(str(entry[0]))
                    else:
                        desc.literals.setdefault(predicate, set()).add(_from_exact(entry))
                continue
            values = value if isinstance(value, list) else [value]
            if key in ref_keys:
                desc.refs[predicate] = {str(v) for v in values}
                continue
            declared = self.ontology.datatype_of(predicate)
            desc.literals[predicate] = {_decode(v, declared) for v in values}
        for rel_type, target in links:
            desc.links.setdefault(self.prefixes.expand(rel_type), set()).add(target)
        return desc

    def view(self, props: dict[str, Any], links: list[tuple[str, str]]) -> ResourceView:
        """A read-only view of stored node properties and (type, target IRI) pairs.

        :raises KeyError: a compact name uses a prefix that is not in the table.
        """
        exact: dict[str, list[list[str | None]]] = json.loads(props.get("_lits") or "{}")
        ref_keys = set(props.get("_refs") or ())
        values: dict[str, list[ValueView]] = {}
        refs: dict[str, list[str]] = {}
        for key, value in props.items():
            if key in RESERVED_KEYS:
                continue
            predicate, declared = self._key(key)
            if key in exact:
                for lexical, datatype, language in exact[key]:
                    if datatype == "@id":
                        refs.setdefault(predicate, []).append(str(lexical))
                    else:
                        values.setdefault(predicate, []).append(
                            ValueView(lexical or "", datatype, language, lexical or "")
                        )
                continue
            natives = value if isinstance(value, list) else [value]
            if key in ref_keys:
                refs[predicate] = [str(v) for v in natives]
                continue
            out = values.setdefault(predicate, [])
            for native in natives:
                lexical, datatype = _lexical(native, declared)
                out.append(ValueView(lexical, datatype, None, native))
        linked: dict[str, list[str]] = {}
        for rel_type, target in links:
            linked.setdefault(self._key(rel_type)[0], []).append(target)
        return ResourceView(
            iri=str(props["iri"]),
            types=sorted(props.get("_types") or ()),
            values=values,
            links={p: sorted(t) for p, t in linked.items()},
            refs={p: sorted(r) for p, r in refs.items()},
        )
