"""Decoded identifiables, kept while their stored document stays the same.

basyx takes 1-2 ms to decode a submodel of 20 elements, so reads reuse the
objects: an entry is valid as long as the stored document is byte-identical.
The objects are shared between readers; nothing but the overlay of bound
Property values (graphtwin.aas.overlay) may change them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from basyx.aas import model

from graphtwin.aas.codec import from_document
from graphtwin.aas.overlay import BoundElement, bound_elements
from graphtwin.aas.records import AasRecord


@dataclass
class Decoded:
    record: AasRecord
    obj: model.Identifiable
    bound: list[BoundElement] = field(default_factory=list)


class DecodedCache:
    def __init__(self, is_property: Callable[[str], bool], *, size: int = 20_000) -> None:
        self.is_property = is_property
        self.size = size
        self._entries: OrderedDict[str, Decoded] = OrderedDict()

    def get(self, record: AasRecord) -> Decoded:
        """The decoded object of ``record``.

        :raises BadInput: the stored document does not decode.
        """
        entry = self._entries.get(record.iri)
        if entry is not None and entry.record.document == record.document:
            entry.record = record  # links and files may have changed
            self._entries.move_to_end(record.iri)
            return entry
        return self.put(record, from_document(record.document, record.kind))

    def put(self, record: AasRecord, obj: model.Identifiable) -> Decoded:
        bound = bound_elements(obj, self.is_property) if isinstance(obj, model.Submodel) else []
        entry = Decoded(record, obj, bound)
        self._entries[record.iri] = entry
        self._entries.move_to_end(record.iri)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def forget(self, iri: str) -> None:
        self._entries.pop(iri, None)

    def clear(self) -> None:
        self._entries.clear()
