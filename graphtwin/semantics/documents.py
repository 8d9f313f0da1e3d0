"""Reading and writing RDF documents, with errors a user can act on."""

from __future__ import annotations

import json

from rdflib import Graph, Literal

from graphtwin.errors import BadInput, PayloadTooLarge

# Accepted names (and media types) for each rdflib format.
_FORMATS = {
    "turtle": "turtle",
    "ttl": "turtle",
    "text/turtle": "turtle",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "application/ld+json": "json-ld",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "application/n-triples": "nt",
}
EXPORT_FORMATS = {"turtle": "turtle", "json-ld": "json-ld", "nt": "nt"}
_SUFFIXES = {".ttl": "turtle", ".jsonld": "json-ld", ".json": "json-ld", ".nt": "nt"}


def normalize_format(name: str) -> str:
    """rdflib's name for a format given by name, media type or file suffix.

    :raises BadInput: the format is not one graphtwin reads.
    """
    key = name.strip().lower()
    if key in _FORMATS:
        return _FORMATS[key]
    if key in _SUFFIXES:
        return _SUFFIXES[key]
    raise BadInput(f"unsupported RDF format {name!r}: use turtle, json-ld or n-triples")


def format_for_filename(filename: str) -> str:
    """:raises BadInput: the suffix is not a known RDF suffix."""
    for suffix, fmt in _SUFFIXES.items():
        if filename.lower().endswith(suffix):
            return fmt
    raise BadInput(
        f"cannot tell the RDF format of {filename!r} from its suffix (.ttl, .jsonld, .nt)"
    )


def parse_document(data: str | bytes, fmt: str, *, max_bytes: int | None = None) -> Graph:
    """Parse one RDF document.

    :raises PayloadTooLarge: the document is bigger than ``max_bytes``.
    :raises BadInput: it does not parse; the message carries the parser's reason
        (line numbers for Turtle, unknown prefixes, bad JSON).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if max_bytes is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"document of {len(raw)} bytes is larger than the limit of {max_bytes} bytes"
        )
    rdflib_format = normalize_format(fmt)
    graph = Graph()
    if rdflib_format == "json-ld":
        _refuse_remote_contexts(raw)
    try:
        graph.parse(data=raw, format=rdflib_format)
    except Exception as exc:  # parsers raise assorted types on hostile input
        raise BadInput(f"malformed {rdflib_format} document: {_reason(exc)}") from exc
    ill_typed = [o for o in graph.objects() if isinstance(o, Literal) and o.ill_typed]
    if ill_typed:
        bad = ill_typed[0]
        raise BadInput(
            f"literal {str(bad)!r} is not a valid {bad.datatype} "
            f"({len(ill_typed)} ill-typed literal(s) in the document)"
        )
    return graph


def _refuse_remote_contexts(raw: bytes) -> None:
    """JSON-LD may name remote contexts; graphtwin never fetches them (no SSRF, no hangs).

    :raises BadInput: the JSON is malformed or names a remote context.
    """
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise BadInput(f"malformed json-ld document: {_reason(exc)}") from exc

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@context":
                    contexts = value if isinstance(value, list) else [value]
                    if any(isinstance(c, str) for c in contexts):
                        raise BadInput(
                            "json-ld document names a remote @context; inline the context instead"
                        )
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 500 else text[:500] + "..."


def serialize(graph: Graph, fmt: str) -> str:
    """:raises BadInput: the format is not one graphtwin writes."""
    rdflib_format = normalize_format(fmt)
    if rdflib_format not in EXPORT_FORMATS.values():
        raise BadInput(f"cannot export as {fmt!r}")
    return graph.serialize(format=rdflib_format)
