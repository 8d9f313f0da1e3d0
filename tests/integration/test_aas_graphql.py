"""GraphQL over HTTP: an asset's shells and submodels (stored or generated), the AAS
queries, and the importAas mutation with base64 data."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graphtwin.config import load_settings
from graphtwin.graph.engine import GraphEngine
from tests.e2e.conftest import Twin, graph_state, serve, wipe
from tests.unit.test_aas_sample import (
    CD_ID,
    PLANT,
    PRESS,
    PUMP,
    SHELL_ID,
    SUBMODEL_ID,
    check_file,
    sample_environment,
    serialize,
)

pytestmark = pytest.mark.e2e

GT = "https://w3id.org/graphtwin/core#"

SHELLS = """
query Shells($iri: String!) {
  asset(iri: $iri) {
    shells {
      id idShort iri generated globalAssetId specificAssetIds { name value }
      asset { iri }
      submodels { id idShort semanticId generated
        elements { path modelType semanticId valueType value boundProperty } }
    }
    submodels { id }
  }
}
"""

IMPORT = """
mutation Import($data: String!, $format: AasFormat!, $link: [AasLinkInput!], $replace: Boolean!) {
  importAas(data: $data, format: $format, link: $link, replace: $replace) {
    __typename
    ... on AasImportSummary {
      shells submodels conceptDescriptions unchanged files created updated
      linked { shellId asset by } unlinked { shellId reason }
    }
    ... on UserError { message code }
  }
}
"""


@pytest.fixture
async def twin(graph_engine: GraphEngine, tmp_path: Path) -> AsyncIterator[Twin]:
    await wipe(graph_engine.store)
    settings = load_settings().with_overrides(data_dir=tmp_path)
    async with serve(graph_engine, settings) as served:
        await served.services.twins.import_document(PLANT, "turtle")
        yield served


def encoded(fmt: str, global_asset_id: str = "https://vendor.example/assets/pump-0815") -> str:
    env = sample_environment(global_asset_id=global_asset_id)
    return base64.b64encode(serialize(env, fmt)).decode()


async def test_a_machine_without_a_stored_shell_shows_its_generated_nameplate(twin: Twin) -> None:
    data = await twin.query(SHELLS, {"iri": PRESS})

    (shell,) = data["asset"]["shells"]
    assert shell["generated"] is True
    assert shell["iri"] is None
    assert shell["globalAssetId"] == PRESS
    assert shell["specificAssetIds"] == [{"name": "SerialNumber", "value": "KP-1"}]
    assert shell["asset"] == {"iri": PRESS}
    nameplate, technical = shell["submodels"]
    assert nameplate["semanticId"] == "https://admin-shell.io/zvei/nameplate/2/0/Nameplate"
    year = next(e for e in nameplate["elements"] if e["path"] == "YearOfConstruction")
    assert year["value"] == "2019"
    assert year["valueType"] == "xs:string"
    power = next(e for e in technical["elements"] if e["path"].endswith("RatedPower"))
    assert power["semanticId"] == f"{GT}ratedPower"
    assert float(power["value"]) == 250.0
    assert len(data["asset"]["submodels"]) == 2


async def test_import_aas_with_base64_data_links_the_shell(twin: Twin) -> None:
    result = await twin.mutate(
        IMPORT,
        {
            "data": encoded("aasx", global_asset_id=PUMP),
            "format": "AASX",
            "link": None,
            "replace": False,
        },
    )

    assert result["__typename"] == "AasImportSummary", result
    assert result["shells"] == [SHELL_ID]
    assert result["conceptDescriptions"] == [CD_ID]
    assert result["files"] == 2
    assert result["linked"] == [{"shellId": SHELL_ID, "asset": PUMP, "by": "globalAssetId"}]
    assert len(result["created"]) == 4

    data = await twin.query(SHELLS, {"iri": PUMP})
    (shell,) = data["asset"]["shells"]
    assert shell["generated"] is False
    assert shell["id"] == SHELL_ID and shell["iri"] in result["created"]
    operating = next(s for s in shell["submodels"] if s["id"] == SUBMODEL_ID)
    kinds = {e["modelType"] for e in operating["elements"]}
    assert len(kinds) == 14
    temperature = next(e for e in operating["elements"] if e["path"] == "Temperature")
    assert temperature["boundProperty"] == f"{GT}temperature"
    assert temperature["value"] == "42.5"  # the pump's gt:temperature
    markings = [e["value"] for e in operating["elements"] if e["path"].startswith("Markings[")]
    assert markings == ["CE", "UKCA"]


async def test_aas_queries_and_export(twin: Twin) -> None:
    link = [{"shellId": SHELL_ID, "asset": PRESS}]
    variables = {"data": encoded("json"), "format": "JSON", "link": link, "replace": False}
    await twin.mutate(IMPORT, variables)

    data = await twin.query(
        """query($id: String!, $sm: String!, $iri: String!) {
          all: aasShells { id asset { iri } }
          one: aasShell(id: $id) { idShort submodels { idShort } json }
          missing: aasShell(id: "urn:nope") { id }
          submodel: aasSubmodel(id: $sm) { idShort json }
          export: aasExport(iri: $iri, format: JSON)
        }""",
        {"id": SHELL_ID, "sm": SUBMODEL_ID, "iri": PRESS},
    )

    assert data["all"] == [{"id": SHELL_ID, "asset": {"iri": PRESS}}]
    assert data["one"]["idShort"] == "Pump0815"
    assert sorted(s["idShort"] for s in data["one"]["submodels"]) == [
        "Documentation",
        "OperatingData",
    ]
    assert data["one"]["json"]["modelType"] == "AssetAdministrationShell"
    assert data["missing"] is None
    assert data["submodel"]["json"]["id"] == SUBMODEL_ID
    exported = base64.b64decode(data["export"])
    assert check_file(exported, "json").ok()
    assert [s["id"] for s in json.loads(exported)["assetAdministrationShells"]] == [SHELL_ID]


@pytest.mark.parametrize(
    ("variables", "typename", "text"),
    [
        ({"data": "not base64!", "format": "JSON"}, "BadInputError", "not base64"),
        (
            {"data": base64.b64encode(b'{"submodels": [').decode(), "format": "JSON"},
            "BadInputError",
            "invalid JSON",
        ),
        (
            {
                "data": encoded("xml"),
                "format": "XML",
                "link": [{"shellId": SHELL_ID, "asset": "x"}],
            },
            "BadInputError",
            "is not an asset",
        ),
    ],
)
async def test_import_aas_refusals_write_nothing(
    twin: Twin, variables: dict[str, object], typename: str, text: str
) -> None:
    before = await graph_state(twin.store)

    result = await twin.mutate(IMPORT, {"link": None, "replace": False, **variables})

    assert result["__typename"] == typename
    assert text in result["message"]
    assert await graph_state(twin.store) == before


async def test_importing_twice_is_a_conflict(twin: Twin) -> None:
    variables = {"data": encoded("json"), "format": "JSON", "link": None, "replace": False}
    assert (await twin.mutate(IMPORT, variables))["__typename"] == "AasImportSummary"
    before = await graph_state(twin.store)

    result = await twin.mutate(IMPORT, variables)

    assert result["__typename"] == "ConflictError"
    assert result["code"] == "CONFLICT"
    assert await graph_state(twin.store) == before
    replaced = await twin.mutate(IMPORT, {**variables, "replace": True})
    assert replaced["__typename"] == "AasImportSummary"


async def test_shells_of_a_list_of_assets_cost_a_bounded_number_of_round_trips(
    twin: Twin,
) -> None:
    # Asset.shells went to the graph once per asset (and once more per asset for
    # its nameplate data); through the request's DataLoader a list costs a few
    # batched round trips whatever its length.
    query = "{ assets(first: 50) { nodes { iri shells { idShort submodels { idShort } } } } }"
    before = twin.store.round_trips
    data = await twin.query(query)
    trips = twin.store.round_trips - before
    with_shells = [n for n in data["assets"]["nodes"] if n["shells"]]
    assert len(data["assets"]["nodes"]) >= 4
    assert with_shells
    assert trips <= 8, trips
