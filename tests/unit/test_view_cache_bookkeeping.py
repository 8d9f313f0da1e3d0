"""The view cache's bookkeeping: bounded, dropped by writes, no stale fills."""

from __future__ import annotations

import pytest

from graphtwin.config import DEFAULT_VIEW_CACHE_SIZE, load_settings
from graphtwin.semantics.mapping import ResourceView
from graphtwin.twins.view_cache import ViewCache


def _view(iri: str) -> ResourceView:
    return ResourceView(iri=iri, types=[], values={}, links={}, refs={})


def test_the_least_recently_used_view_goes_first() -> None:
    cache = ViewCache(2)
    cache.keep({"a": _view("a"), "b": _view("b")}, cache.generation)
    cache.lookup(["a"])
    cache.keep({"c": _view("c")}, cache.generation)
    found, missing = cache.lookup(["a", "b", "c"])
    assert sorted(found) == ["a", "c"]
    assert missing == ["b"]


def test_a_drop_forgets_the_named_views_or_all() -> None:
    cache = ViewCache(10)
    cache.keep({i: _view(i) for i in "abc"}, cache.generation)
    cache.drop(["a"])
    assert cache.lookup("abc")[1] == ["a"]
    cache.drop()
    assert len(cache) == 0


def test_views_read_before_a_drop_are_not_kept() -> None:
    cache = ViewCache(10)
    started = cache.generation
    cache.drop(["x"])
    cache.keep({"a": _view("a")}, started)
    assert cache.lookup(["a"]) == ({}, ["a"])


def test_the_cache_is_on_for_the_embedded_engine_and_off_for_neo4j() -> None:
    assert load_settings({}).view_cache_views == DEFAULT_VIEW_CACHE_SIZE
    neo4j = {"GRAPHTWIN_NEO4J_URI": "bolt://127.0.0.1:7687"}
    assert load_settings(neo4j).view_cache_views == 0
    sized = {**neo4j, "GRAPHTWIN_VIEW_CACHE_SIZE": "500"}
    assert load_settings(sized).view_cache_views == 500
    assert load_settings({"GRAPHTWIN_VIEW_CACHE_SIZE": "0"}).view_cache_views == 0


def test_an_empty_cache_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one view"):
        ViewCache(0)


def test_parts_lists_outlive_property_drops_but_not_edits() -> None:
    cache = ViewCache(10)
    cache.keep_children({"line": ["op10", "op20"]}, cache.generation)
    cache.drop(["op10"])  # live values: properties only
    assert cache.children(["line"]) == ({"line": ["op10", "op20"]}, [])
    cache.drop()  # an edit or import
    assert cache.children(["line"]) == ({}, ["line"])
    started = cache.generation
    cache.drop(["op10"])
    cache.keep_children({"line": ["op10"]}, started)
    assert cache.children(["line"]) == ({}, ["line"])


def test_one_view_is_found_without_a_load() -> None:
    cache = ViewCache(10)
    cache.keep({"a": _view("a")}, cache.generation)
    found = cache.view("a")
    assert found is not None and found.iri == "a"
    assert cache.view("b") is None
    cache.drop(["a"])
    assert cache.view("a") is None
