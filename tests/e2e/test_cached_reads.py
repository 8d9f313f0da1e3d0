"""Asset reads served from shared views answer what the graph holds after each write."""

from __future__ import annotations

from graphtwin.semantics.vocab import GT
from tests.e2e.conftest import LAB_PRESS, Twin

PROPERTIES = """
query($iri: String!, $names: [String!]) {
    asset(iri: $iri) { properties(names: $names) { name value } }
}"""
SET = """
mutation($iri: String!, $value: String!) {
    setProperty(iri: $iri, property: "gt:goodCount", value: $value) { __typename }
}"""


async def _good_count(twin: Twin) -> list[str]:
    data = await twin.query(PROPERTIES, {"iri": LAB_PRESS, "names": ["gt:goodCount"]})
    return [p["value"] for p in data["asset"]["properties"]]


async def test_repeated_reads_of_an_asset_cost_no_round_trip(lab_twin: Twin) -> None:
    await _good_count(lab_twin)
    before = lab_twin.store.round_trips
    for _ in range(3):
        assert await _good_count(lab_twin) == ["95"]
    if lab_twin.settings.view_cache_views:
        assert lab_twin.store.round_trips == before


async def test_a_mutation_is_seen_by_the_next_read(lab_twin: Twin) -> None:
    assert await _good_count(lab_twin) == ["95"]
    assert (await lab_twin.mutate(SET, {"iri": LAB_PRESS, "value": "96"}))[
        "__typename"
    ] == "WriteSummary"
    assert await _good_count(lab_twin) == ["96"]


async def test_a_live_value_flush_is_seen_by_the_next_read(lab_twin: Twin) -> None:
    assert await _good_count(lab_twin) == ["95"]
    await lab_twin.services.twins.repository.write_values([(LAB_PRESS, str(GT.goodCount), 97)])
    assert await _good_count(lab_twin) == ["97"]
    # Every property (the list built once per view) follows too.
    data = await lab_twin.query(PROPERTIES, {"iri": LAB_PRESS})
    values = {p["name"]: p["value"] for p in data["asset"]["properties"]}
    assert values["gt:goodCount"] == "97"
    assert values["gt:totalCount"] == "100"


async def test_named_property_lists_kept_on_a_view_are_bounded(lab_twin: Twin) -> None:
    names = ["gt:goodCount", "gt:totalCount", "gt:idealCycleTime", "gt:manufacturer"]
    # Every ordered pair: more distinct lists than a view keeps.
    for first in names:
        for second in names:
            data = await lab_twin.query(PROPERTIES, {"iri": LAB_PRESS, "names": [first, second]})
            got = {p["name"] for p in data["asset"]["properties"]}
            assert got == {first, second}
    cache = lab_twin.services.twins.repository.view_cache
    if cache is not None:
        found, _ = cache.lookup([LAB_PRESS])
        assert len(found[LAB_PRESS].derived) <= 9  # all properties + at most 8 named lists


async def test_an_unknown_asset_is_null_from_the_cache_path_too(lab_twin: Twin) -> None:
    await _good_count(lab_twin)  # the press is cached now
    data = await lab_twin.query(PROPERTIES, {"iri": LAB_PRESS + "-gone", "names": None})
    assert data == {"asset": None}
