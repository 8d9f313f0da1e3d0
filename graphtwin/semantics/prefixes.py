"""Compact graph names for IRIs: ``prefix__LocalName``, as neosemantics does.

Labels, relationship types and property keys in the property graph are compact
names so that Cypher stays readable (``MATCH (m:gt__Machine)``). The prefix table
is part of the stored graph: a namespace first seen in a write gets a generated
prefix (``ns0``, ``ns1``, ...) that is written in the same transaction, so names
stay reversible for export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SEPARATOR = "__"
# Bound on remembered compactions (data IRIs are compacted too, and are many).
_MAX_COMPACTED = 50_000
# Local names that can be used as labels/keys as they are; anything else makes the
# whole IRI the namespace (with an empty local name) so compaction stays reversible.
_SAFE_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
_SAFE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def split_iri(iri: str) -> tuple[str, str]:
    """Split an IRI into (namespace, local name) after its last ``#``, ``/`` or ``:``."""
    cut = max(iri.rfind("#"), iri.rfind("/"), iri.rfind(":"))
    namespace, local = iri[: cut + 1], iri[cut + 1 :]
    if not local or not _SAFE_LOCAL.match(local) or SEPARATOR in local:
        return iri, ""
    return namespace, local


class PrefixTable:
    """A two-way map of prefixes and namespaces, growing as new namespaces arrive."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self._ns_by_prefix: dict[str, str] = {}
        self._prefix_by_ns: dict[str, str] = {}
        # Prefixes in use that the stored graph does not hold yet.
        self._pending: dict[str, str] = {}
        # IRI -> compact name; reads and writes compact the same few hundred terms.
        self._compacted: dict[str, str] = {}
        for prefix, namespace in prefixes.items():
            self.add(prefix, namespace)

    def adopt_stored(self, prefix: str, namespace: str) -> None:
        """A prefix read from the graph wins over any default that clashes with it."""
        old_ns = self._ns_by_prefix.pop(prefix, None)
        if old_ns is not None:
            self._prefix_by_ns.pop(old_ns, None)
        old_prefix = self._prefix_by_ns.pop(namespace, None)
        if old_prefix is not None:
            self._ns_by_prefix.pop(old_prefix, None)
        self._ns_by_prefix[prefix] = namespace
        self._prefix_by_ns[namespace] = prefix
        self._pending.pop(prefix, None)
        self._compacted.clear()

    def mark_all_pending(self, stored: set[str]) -> None:
        """Everything the table knows and the graph does not must be written."""
        for prefix, namespace in self._ns_by_prefix.items():
            if prefix not in stored:
                self._pending[prefix] = namespace

    def pending(self) -> dict[str, str]:
        return dict(self._pending)

    def persisted(self, prefixes: Mapping[str, str]) -> None:
        for prefix in prefixes:
            self._pending.pop(prefix, None)

    def add(self, prefix: str, namespace: str) -> None:
        """Register a prefix unless its namespace or the prefix is already taken."""
        if not _SAFE_PREFIX.match(prefix):
            return
        if namespace in self._prefix_by_ns or prefix in self._ns_by_prefix:
            return
        self._ns_by_prefix[prefix] = namespace
        self._prefix_by_ns[namespace] = prefix

    def as_dict(self) -> dict[str, str]:
        return dict(self._ns_by_prefix)

    def compact(self, iri: str) -> str:
        """Compact name of ``iri``; an unseen namespace gets a generated, pending prefix."""
        known = self._compacted.get(iri)
        if known is not None:
            return known
        namespace, local = split_iri(iri)
        prefix = self._prefix_by_ns.get(namespace)
        if prefix is None:
            prefix = self._generate(namespace)
            self._pending[prefix] = namespace
        name = f"{prefix}{SEPARATOR}{local}"
        if len(self._compacted) < _MAX_COMPACTED:
            self._compacted[iri] = name
        return name

    def expand(self, name: str) -> str:
        """Full IRI of a compact name.

        :raises KeyError: the prefix is unknown.
        """
        prefix, _, local = name.partition(SEPARATOR)
        return self._ns_by_prefix[prefix] + local

    def _generate(self, namespace: str) -> str:
        index = len(self._ns_by_prefix)
        while f"ns{index}" in self._ns_by_prefix:
            index += 1
        prefix = f"ns{index}"
        self.add(prefix, namespace)
        return prefix
