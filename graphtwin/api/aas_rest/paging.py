"""Cursor paging: ``{"paging_metadata": {"cursor"?: ...}, "result": [...]}``.

The cursor is opaque to clients. It is base64url of the last id returned, for
lists ordered by id (shells, submodels, references), or of the last index, for
lists in model order (submodel elements, paths). Resuming after the last *id*
keeps pages stable when identifiables are added or removed between requests.
``paging_metadata`` is snake_case because the specification's schema says so.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphtwin.api.aas_rest import params
from graphtwin.api.aas_rest.ids import decode_id, encode_id
from graphtwin.errors import BadInput

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int | None = None
    # The decoded cursor: the last id or index the client has seen.
    after: str | None = None


def page_request(query: Mapping[str, str]) -> PageRequest:
    """``limit`` and ``cursor`` from the query string.

    :raises BadInput: a limit below 1 or a cursor that is not base64url.
    """
    cursor = query.get("cursor")
    return PageRequest(
        limit=params.limit(query),
        after=None if cursor is None else decode_id(cursor, "cursor"),
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next page starts (already encoded), or None on the last page.
    cursor: str | None

    def body(self, render: Callable[[T], Any]) -> dict[str, Any]:
        metadata = {} if self.cursor is None else {"cursor": self.cursor}
        return {"paging_metadata": metadata, "result": [render(item) for item in self.items]}


def by_id(items: Sequence[T], id_of: Callable[[T], str], request: PageRequest) -> Page[T]:
    """A page of ``items`` ordered by ``id_of``, after the cursor's id."""
    ordered = sorted(items, key=id_of)
    start = 0
    if request.after is not None:
        start = bisect.bisect_right([id_of(item) for item in ordered], request.after)
    chunk = ordered[start:] if request.limit is None else ordered[start : start + request.limit]
    more = start + len(chunk) < len(ordered)
    return Page(chunk, encode_id(id_of(chunk[-1])) if more and chunk else None)


def by_index(items: Sequence[T], request: PageRequest) -> Page[T]:
    """A page of ``items`` in their given order, after the cursor's index.

    :raises BadInput: the cursor does not hold an index.
    """
    start = 0
    if request.after is not None:
        if not request.after.isdigit():
            raise BadInput("cursor does not belong to this list")
        start = int(request.after) + 1
    end = len(items) if request.limit is None else start + request.limit
    chunk = list(items[start:end])
    more = end < len(items)
    return Page(chunk, encode_id(str(end - 1)) if more else None)
