"""The AAS REST API (/api/v3.0) over HTTP: every route's happy path and errors.

The app is the real one (``create_app``); its services hold a read model over the
model in ``test_aas_rest_model`` (a basyx object store, plus files and live keys)
and a stand-in for the live cache, so these tests need no graph engine.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder

from graphtwin.api.app import AppState, create_app
from graphtwin.auth.principal import ANONYMOUS_ADMIN, Action, Authorizer, Principal
from graphtwin.config import load_settings
from graphtwin.errors import SourceUnavailable

from .test_aas_rest_model import (
    BLOB,
    CD_ID,
    FILES,
    GLOBAL_ASSET,
    LIVE_KEY,
    MANUAL,
    NAMEPLATE,
    NESTED_LIVE_KEY,
    OPERATIONAL,
    PUMP,
    PUMP_2,
    THUMBNAIL,
    AasServices,
    FakeAasReadModel,
    FakeLive,
    build_store,
    fake_read_model,
)

pytestmark = pytest.mark.e2e

API = "/api/v3.0"
BAD_ID = "invalid-base64url====="
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


SM = f"{API}/submodels/{b64(OPERATIONAL)}"
SHELL = f"{API}/shells/{b64(PUMP)}"
ELEMENTS = f"{SM}/submodel-elements"


def basyx_json(obj: object) -> Any:
    return json.loads(json.dumps(obj, cls=AASToJsonEncoder))


def stored(identifier: str) -> Any:
    return build_store().get(identifier)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """The AAS error result, exactly: one message, no other keys. Returns its text."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"messages"}
    (message,) = body["messages"]
    assert set(message) == {"code", "messageType", "text", "timestamp"}
    assert message["code"] == code
    assert message["messageType"] == "Error"
    assert TIMESTAMP.fullmatch(message["timestamp"])
    text: str = message["text"]
    return text


async def _client(services: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(), AppState(services=services))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def live() -> FakeLive:
    return FakeLive()


@pytest.fixture
def read_model() -> FakeAasReadModel:
    return fake_read_model()


@pytest.fixture
async def client(read_model: FakeAasReadModel, live: FakeLive) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(AasServices(aas=read_model, live=live)):
        yield c


async def get_json(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params or None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- /description ------------------------------------------------------------------------


async def test_description_lists_both_read_profiles(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{API}/description")

    assert body == {
        "profiles": [
            "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
            "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002",
        ]
    }


# --- /shells -----------------------------------------------------------------------------


async def test_shells_lists_every_shell_by_id(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{API}/shells")

    assert body["paging_metadata"] == {}
    assert [s["id"] for s in body["result"]] == [PUMP, PUMP_2]
    first = body["result"][0]
    assert first["idShort"] == "Pump1"
    assert first["assetInformation"]["globalAssetId"] == GLOBAL_ASSET
    # Submodel references come in a stable order (basyx holds them in a set).
    assert [r["keys"][0]["value"] for r in first["submodels"]] == [OPERATIONAL, NAMEPLATE]


async def test_shells_page_with_an_opaque_cursor(client: httpx.AsyncClient) -> None:
    first = await get_json(client, f"{API}/shells", limit=1)
    cursor = first["paging_metadata"]["cursor"]
    second = await get_json(client, f"{API}/shells", limit=1, cursor=cursor)

    assert [s["id"] for s in first["result"]] == [PUMP]
    assert [s["id"] for s in second["result"]] == [PUMP_2]
    assert second["paging_metadata"] == {}


async def test_a_cursor_resumes_after_the_last_id_even_if_it_is_gone(
    client: httpx.AsyncClient, read_model: FakeAasReadModel
) -> None:
    cursor = (await get_json(client, f"{API}/shells", limit=1))["paging_metadata"]["cursor"]
    read_model.store.discard(read_model.store.get(PUMP))  # the last shell seen is gone

    body = await get_json(client, f"{API}/shells", limit=1, cursor=cursor)

    assert [s["id"] for s in body["result"]] == [PUMP_2]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"idShort": "Pump2"}, [PUMP_2]),
        ({"idShort": "does-not-exist"}, []),
        ({"assetIds": b64(json.dumps({"name": "globalAssetId", "value": GLOBAL_ASSET}))}, [PUMP]),
        ({"assetIds": b64(json.dumps({"name": "SerialNumber", "value": "SN-0001"}))}, [PUMP]),
        ({"assetIds": b64(json.dumps([{"name": "SerialNumber", "value": "SN-9"}]))}, []),
    ],
)
async def test_shells_filter_by_id_short_and_asset_ids(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    body = await get_json(client, f"{API}/shells", **params)
    refs = await get_json(client, f"{API}/shells/$reference", **params)

    assert [s["id"] for s in body["result"]] == expected
    assert [r["keys"][0]["value"] for r in refs["result"]] == expected


async def test_shell_references(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{API}/shells/$reference")

    assert body["result"][0] == {
        "type": "ModelReference",
        "keys": [{"type": "AssetAdministrationShell", "value": PUMP}],
    }


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"cursor": "%%%"},
        {"assetIds": BAD_ID},
        {"assetIds": b64("not json")},
        {"assetIds": b64(json.dumps({"name": "x"}))},
    ],
)
async def test_shells_refuse_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_error(await client.get(f"{API}/shells", params=params), 400, "BAD_INPUT")


async def test_one_shell_and_its_reference(client: httpx.AsyncClient) -> None:
    shell = await get_json(client, SHELL)
    reference = await get_json(client, f"{SHELL}/$reference")

    expected = basyx_json(stored(PUMP))
    expected["submodels"].sort(key=lambda r: r["keys"][0]["value"])
    assert shell == expected
    assert reference["keys"] == [{"type": "AssetAdministrationShell", "value": PUMP}]


async def test_shell_ids_accept_padding(client: httpx.AsyncClient) -> None:
    padded = base64.urlsafe_b64encode(PUMP.encode()).decode()

    assert (await get_json(client, f"{API}/shells/{padded}"))["id"] == PUMP


@pytest.mark.parametrize("suffix", ["", "/$reference", "/asset-information", "/submodel-refs"])
async def test_an_unknown_shell_is_404_and_a_malformed_id_400(
    client: httpx.AsyncClient, suffix: str
) -> None:
    text = assert_error(
        await client.get(f"{API}/shells/{b64('urn:nope')}{suffix}"), 404, "NOT_FOUND"
    )
    assert "urn:nope" in text
    assert_error(await client.get(f"{API}/shells/{BAD_ID}{suffix}"), 400, "BAD_INPUT")
    # Valid base64url, but not UTF-8.
    not_utf8 = base64.urlsafe_b64encode(b"\xff\xfe").decode()
    assert_error(await client.get(f"{API}/shells/{not_utf8}{suffix}"), 400, "BAD_INPUT")


async def test_asset_information(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{SHELL}/asset-information")

    assert body["assetKind"] == "Instance"
    assert body["globalAssetId"] == GLOBAL_ASSET
    assert body["specificAssetIds"] == [{"name": "SerialNumber", "value": "SN-0001"}]
    assert body["defaultThumbnail"] == {"path": THUMBNAIL, "contentType": "image/png"}


async def test_thumbnail_is_served_from_the_read_models_files(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{SHELL}/asset-information/thumbnail")

    assert response.status_code == 200
    assert response.content == FILES[THUMBNAIL][0]
    assert response.headers["content-type"] == "image/png"


async def test_no_thumbnail_is_404_with_the_error_result(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/shells/{b64(PUMP_2)}/asset-information/thumbnail")

    assert_error(response, 404, "NOT_FOUND")


async def test_a_thumbnail_the_store_lacks_is_404(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(FILES, THUMBNAIL)

    assert_error(await client.get(f"{SHELL}/asset-information/thumbnail"), 404, "NOT_FOUND")


async def test_submodel_refs_are_paged_in_id_order(client: httpx.AsyncClient) -> None:
    first = await get_json(client, f"{SHELL}/submodel-refs", limit=1)
    rest = await get_json(
        client, f"{SHELL}/submodel-refs", cursor=first["paging_metadata"]["cursor"]
    )

    assert first["result"] == [
        {"type": "ModelReference", "keys": [{"type": "Submodel", "value": OPERATIONAL}]}
    ]
    assert [r["keys"][0]["value"] for r in rest["result"]] == [NAMEPLATE]
    assert rest["paging_metadata"] == {}


async def test_submodels_under_a_shell_answer_like_the_repository(
    client: httpx.AsyncClient,
) -> None:
    under_shell = f"{SHELL}/submodels/{b64(OPERATIONAL)}"
    for suffix in ["", "/$value", "/$metadata", "/submodel-elements/Address.Street/$value"]:
        assert await get_json(client, under_shell + suffix) == await get_json(client, SM + suffix)


async def test_a_submodel_the_shell_does_not_reference_is_404(
    client: httpx.AsyncClient,
) -> None:
    url = f"{API}/shells/{b64(PUMP_2)}/submodels/{b64(OPERATIONAL)}"

    assert_error(await client.get(url), 404, "NOT_FOUND")
    assert_error(await client.get(f"{SHELL}/submodels/{BAD_ID}"), 400, "BAD_INPUT")


# --- /submodels --------------------------------------------------------------------------


async def test_submodels_list_in_id_order(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{API}/submodels")

    assert [s["id"] for s in body["result"]] == [OPERATIONAL, NAMEPLATE]
    assert body["result"][1] == basyx_json(stored(NAMEPLATE))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"idShort": "Nameplate"}, [NAMEPLATE]),
        ({"semanticId": b64("https://example.com/semantics/OperationalData")}, [OPERATIONAL]),
        ({"semanticId": b64("https://example.com/semantics/none")}, []),
    ],
)
async def test_submodels_filter_by_id_short_and_semantic_id(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    body = await get_json(client, f"{API}/submodels", **params)

    assert [s["id"] for s in body["result"]] == expected


async def test_submodels_with_modifiers(client: httpx.AsyncClient) -> None:
    metadata = await get_json(client, f"{API}/submodels/$metadata")
    values = await get_json(client, f"{API}/submodels/$value", limit=1)
    references = await get_json(client, f"{API}/submodels/$reference")
    paths = await get_json(client, f"{API}/submodels/$path", level="core")

    assert all("submodelElements" not in s for s in metadata["result"])
    assert metadata["result"][0]["id"] == OPERATIONAL
    assert values["result"][0]["SerialNumber"] == "SN-0001"
    assert "cursor" in values["paging_metadata"]
    assert [r["keys"][0]["value"] for r in references["result"]] == [OPERATIONAL, NAMEPLATE]
    assert paths["result"][0] == "Temperature"
    assert paths["result"][-1] == "YearOfConstruction"  # the second submodel's


async def test_submodel_paths_are_paged_by_index(client: httpx.AsyncClient) -> None:
    every = (await get_json(client, f"{ELEMENTS}/$path"))["result"]
    first = await get_json(client, f"{ELEMENTS}/$path", limit=5)
    second = await get_json(
        client, f"{ELEMENTS}/$path", limit=5, cursor=first["paging_metadata"]["cursor"]
    )

    assert first["result"] + second["result"] == every[:10]


@pytest.mark.parametrize(
    "params",
    [{"semanticId": BAD_ID}, {"limit": "0"}, {"level": "#####"}, {"extent": "all"}],
)
async def test_submodels_refuse_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_error(await client.get(f"{API}/submodels", params=params), 400, "BAD_INPUT")


# --- one submodel --------------------------------------------------------------------------


async def test_a_submodel_is_basyx_json_without_blob_values_by_default(
    client: httpx.AsyncClient,
) -> None:
    body = await get_json(client, SM)

    expected = basyx_json(stored(OPERATIONAL))
    blob = next(e for e in expected["submodelElements"] if e["idShort"] == "Fingerprint")
    del blob["value"]
    assert body == expected


async def test_with_blob_value_the_submodel_is_exactly_basyx_json(
    client: httpx.AsyncClient,
) -> None:
    body = await get_json(client, SM, extent="withBlobValue")

    assert body == basyx_json(stored(OPERATIONAL))


async def test_level_core_leaves_out_grandchildren(client: httpx.AsyncClient) -> None:
    body = await get_json(client, SM, level="core")

    elements = {e["idShort"]: e for e in body["submodelElements"]}
    assert len(elements) == 17
    assert "value" not in elements["Address"]
    assert "value" not in elements["Readings"]
    assert "statements" not in elements["Motor"]
    assert "annotations" not in elements["Flow"]
    assert elements["SerialNumber"]["value"] == "SN-0001"


async def test_submodel_metadata_value_reference_and_path(client: httpx.AsyncClient) -> None:
    metadata = await get_json(client, f"{SM}/$metadata")
    value = await get_json(client, f"{SM}/$value")
    reference = await get_json(client, f"{SM}/$reference")
    deep = await get_json(client, f"{SM}/$path")
    core = await get_json(client, f"{SM}/$path", level="core")

    assert "submodelElements" not in metadata
    assert metadata["semanticId"]["keys"][0]["value"].endswith("OperationalData")
    assert set(value) == {
        e.id_short
        for e in stored(OPERATIONAL).submodel_element
        if not isinstance(e, model.Operation | model.Capability)
    }
    assert reference == {
        "type": "ModelReference",
        "keys": [{"type": "Submodel", "value": OPERATIONAL}],
    }
    assert "Address.Geo.Lat" in deep and "Readings[1]" in deep and "Motor.Power" in deep
    assert "Flow.AppliedRule" in deep
    assert core == [e.id_short for e in stored(OPERATIONAL).submodel_element]


async def test_value_only_serialization_of_every_kind(client: httpx.AsyncClient) -> None:
    value = await get_json(client, f"{SM}/$value", extent="withBlobValue")

    serial_ref = basyx_json(
        model.ModelReference.from_referable(stored(OPERATIONAL).get_referable("SerialNumber"))
    )
    assert value["Temperature"] == 21.5
    assert value["Running"] is True
    assert value["Count"] == 42
    assert value["ManufacturerName"] == [{"en": "ACME"}, {"de": "ACME GmbH"}]
    assert value["OperatingTemp"] == {"min": -20.0, "max": 60.0}
    assert value["Manual"] == {"contentType": "application/pdf", "value": MANUAL}
    assert value["Fingerprint"] == {
        "contentType": "application/octet-stream",
        "value": base64.b64encode(BLOB).decode(),
    }
    assert value["VendorLink"]["keys"] == [
        {"type": "GlobalReference", "value": "https://acme.example/products/x1"}
    ]
    assert value["SerialToTemp"]["first"] == serial_ref
    assert value["Flow"]["annotations"] == [{"AppliedRule": "Downstream"}]
    assert value["Address"] == {"Street": "Main St 1", "Geo": {"Lat": 48.78}}
    assert value["Readings"] == [1.0, 2.0]
    assert value["Motor"] == {
        "statements": {"Power": 1.5},
        "entityType": "SelfManagedEntity",
        "globalAssetId": "https://acme.example/assets/motor-1",
        "specificAssetIds": [{"SerialNumber": "M-7"}],
    }
    assert value["SerialChanged"] == {"observed": serial_ref}
    assert "Reset" not in value and "CanPump" not in value


async def test_value_only_core_empties_nested_containers(client: httpx.AsyncClient) -> None:
    value = await get_json(client, f"{SM}/$value", level="core")

    assert value["Address"] == {}
    assert value["Readings"] == []
    assert value["Motor"]["statements"] == {}
    assert value["Fingerprint"] == {"contentType": "application/octet-stream"}


@pytest.mark.parametrize(
    "suffix", ["", "/$metadata", "/$value", "/$reference", "/$path", "/submodel-elements"]
)
async def test_an_unknown_submodel_is_404_and_a_malformed_id_400(
    client: httpx.AsyncClient, suffix: str
) -> None:
    assert_error(await client.get(f"{API}/submodels/{b64('urn:x')}{suffix}"), 404, "NOT_FOUND")
    assert_error(await client.get(f"{API}/submodels/{BAD_ID}{suffix}"), 400, "BAD_INPUT")


@pytest.mark.parametrize("suffix", ["", "/$value", "/$path", "/submodel-elements/Count"])
@pytest.mark.parametrize("params", [{"level": "#####"}, {"extent": "###"}, {"level": "Deep"}])
async def test_level_and_extent_must_be_known_values(
    client: httpx.AsyncClient, suffix: str, params: dict[str, str]
) -> None:
    text = assert_error(await client.get(SM + suffix, params=params), 400, "BAD_INPUT")
    assert next(iter(params)) in text


# --- .../submodel-elements ------------------------------------------------------------------


async def test_submodel_elements_are_paged_by_index(client: httpx.AsyncClient) -> None:
    every = await get_json(client, ELEMENTS)
    first = await get_json(client, ELEMENTS, limit=3)
    second = await get_json(client, ELEMENTS, limit=3, cursor=first["paging_metadata"]["cursor"])

    ids = [e["idShort"] for e in every["result"]]
    assert ids == [e.id_short for e in stored(OPERATIONAL).submodel_element]
    assert [e["idShort"] for e in first["result"] + second["result"]] == ids[:6]
    assert every["paging_metadata"] == {}


async def test_a_cursor_from_an_id_list_is_refused_by_an_index_list(
    client: httpx.AsyncClient,
) -> None:
    cursor = (await get_json(client, f"{API}/shells", limit=1))["paging_metadata"]["cursor"]

    assert_error(await client.get(ELEMENTS, params={"cursor": cursor}), 400, "BAD_INPUT")


async def test_submodel_elements_with_modifiers(client: httpx.AsyncClient) -> None:
    metadata = (await get_json(client, f"{ELEMENTS}/$metadata"))["result"]
    values = (await get_json(client, f"{ELEMENTS}/$value"))["result"]
    references = (await get_json(client, f"{ELEMENTS}/$reference", limit=2))["result"]
    core = (await get_json(client, ELEMENTS, level="core"))["result"]

    by_id = {e["idShort"]: e for e in metadata}
    assert "value" not in by_id["Temperature"] and by_id["Temperature"]["valueType"] == "xs:double"
    assert "value" not in by_id["Address"]
    assert {"first", "second"} <= set(by_id["SerialToTemp"])  # mandatory, so kept
    assert "inputVariables" not in by_id["Reset"]
    assert {"Temperature": 21.5} in values and {"Count": 42} in values
    assert all(next(iter(v)) not in ("Reset", "CanPump") for v in values)
    assert references[1]["keys"][-1] == {"type": "Property", "value": "SerialNumber"}
    assert "value" not in next(e for e in core if e["idShort"] == "Address")


# --- .../submodel-elements/{idShortPath} ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Count", ["Count"]),
        ("Address.Geo.Lat", ["Address", "Geo", "Lat"]),
        ("Readings[1]", ["Readings", "1"]),
        ("Motor.Power", ["Motor", "Power"]),
        ("Flow.AppliedRule", ["Flow", "AppliedRule"]),
    ],
)
async def test_elements_by_id_short_path(
    client: httpx.AsyncClient, path: str, expected: list[str]
) -> None:
    element = await get_json(client, f"{ELEMENTS}/{path}")
    reference = await get_json(client, f"{ELEMENTS}/{path}/$reference")

    assert element["modelType"] == "Property"
    assert [k["value"] for k in reference["keys"]] == [OPERATIONAL, *expected]


async def test_percent_encoded_brackets_in_paths(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{ELEMENTS}/Readings%5B0%5D/$value")

    assert body == 1.0  # a list member has no idShort to name it by


async def test_element_json_equals_basyx_json(client: httpx.AsyncClient) -> None:
    submodel = stored(OPERATIONAL)
    for element in submodel.submodel_element:
        body = await get_json(client, f"{ELEMENTS}/{element.id_short}", extent="withBlobValue")
        assert body == basyx_json(element), element.id_short


async def test_element_level_core_keeps_direct_children_only(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{ELEMENTS}/Address", level="core")

    street, geo = body["value"]
    assert street["value"] == "Main St 1"
    assert geo["idShort"] == "Geo" and "value" not in geo


async def test_element_metadata(client: httpx.AsyncClient) -> None:
    prop = await get_json(client, f"{ELEMENTS}/Temperature/$metadata")
    entity = await get_json(client, f"{ELEMENTS}/Motor/$metadata")
    range_ = await get_json(client, f"{ELEMENTS}/OperatingTemp/$metadata")

    assert "value" not in prop and prop["valueType"] == "xs:double"
    assert prop["description"] == [
        {"language": "en", "text": "Housing temperature"},
        {"language": "de", "text": "Gehäuse"},
    ]
    assert "statements" not in entity and entity["entityType"] == "SelfManagedEntity"
    assert "min" not in range_ and "max" not in range_


@pytest.mark.parametrize("path", ["Reset", "CanPump"])
async def test_operations_and_capabilities_have_no_metadata_or_value(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await get_json(client, f"{ELEMENTS}/{path}"))["idShort"] == path
    assert_error(await client.get(f"{ELEMENTS}/{path}/$metadata"), 400, "BAD_INPUT")
    assert_error(await client.get(f"{ELEMENTS}/{path}/$value"), 400, "BAD_INPUT")


async def test_element_value_is_named_by_its_id_short(client: httpx.AsyncClient) -> None:
    assert await get_json(client, f"{ELEMENTS}/Count/$value") == {"Count": 42}
    assert await get_json(client, f"{ELEMENTS}/Address/$value") == {
        "Address": {"Street": "Main St 1", "Geo": {"Lat": 48.78}}
    }
    assert await get_json(client, f"{ELEMENTS}/Address/$value", level="core") == {
        "Address": {"Street": "Main St 1", "Geo": {}}
    }
    blob = await get_json(client, f"{ELEMENTS}/Fingerprint/$value", extent="withBlobValue")
    assert blob["Fingerprint"]["value"] == base64.b64encode(BLOB).decode()


async def test_element_paths_for_containers_only(client: httpx.AsyncClient) -> None:
    assert await get_json(client, f"{ELEMENTS}/Address/$path") == [
        "Address.Street",
        "Address.Geo",
        "Address.Geo.Lat",
    ]
    assert await get_json(client, f"{ELEMENTS}/Address/$path", level="core") == [
        "Address.Street",
        "Address.Geo",
    ]
    assert await get_json(client, f"{ELEMENTS}/Readings/$path") == ["Readings[0]", "Readings[1]"]
    assert await get_json(client, f"{ELEMENTS}/Motor/$path") == ["Motor.Power"]
    assert_error(await client.get(f"{ELEMENTS}/Count/$path"), 400, "BAD_INPUT")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("Nope", 404, "NOT_FOUND"),
        ("Address.Nope", 404, "NOT_FOUND"),
        ("Readings[7]", 404, "NOT_FOUND"),
        ("Count[0]", 404, "NOT_FOUND"),
        ("Readings.Child", 404, "NOT_FOUND"),
        ("1abc", 400, "BAD_INPUT"),
        ("Address..Street", 400, "BAD_INPUT"),
        ("Readings[x]", 400, "BAD_INPUT"),
    ],
)
@pytest.mark.parametrize("suffix", ["", "/$value", "/$metadata", "/$reference", "/attachment"])
async def test_bad_and_unknown_paths(
    client: httpx.AsyncClient, path: str, status: int, code: str, suffix: str
) -> None:
    assert_error(await client.get(f"{ELEMENTS}/{path}{suffix}"), status, code)


async def test_attachments_of_blobs_and_files(client: httpx.AsyncClient) -> None:
    blob = await client.get(f"{ELEMENTS}/Fingerprint/attachment")
    file = await client.get(f"{ELEMENTS}/Manual/attachment")

    assert blob.status_code == 200 and blob.content == BLOB
    assert blob.headers["content-type"] == "application/octet-stream"
    assert file.status_code == 200 and file.content == FILES[MANUAL][0]
    assert file.headers["content-type"] == "application/pdf"


async def test_no_attachment_is_404(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_error(await client.get(f"{ELEMENTS}/Count/attachment"), 404, "NOT_FOUND")
    monkeypatch.delitem(FILES, MANUAL)
    assert_error(await client.get(f"{ELEMENTS}/Manual/attachment"), 404, "NOT_FOUND")


async def test_without_supplementary_files_a_file_attachment_is_404() -> None:
    from graphtwin.aas.port import StoreReadModel

    async for client in _client(AasServices(aas=StoreReadModel(build_store()))):
        assert_error(await client.get(f"{ELEMENTS}/Manual/attachment"), 404, "NOT_FOUND")
        assert_error(await client.get(f"{SHELL}/asset-information/thumbnail"), 404, "NOT_FOUND")
        # Blobs carry their bytes, so they need no file store.
        assert (await client.get(f"{ELEMENTS}/Fingerprint/attachment")).content == BLOB


# --- live values ---------------------------------------------------------------------------


async def test_value_reads_show_the_live_value_of_a_bound_property(
    client: httpx.AsyncClient, live: FakeLive
) -> None:
    live.values[LIVE_KEY] = 30.25
    live.values[NESTED_LIVE_KEY] = 7  # an integral reading for an xs:double member

    value = await get_json(client, f"{SM}/$value")
    element = await get_json(client, f"{ELEMENTS}/Temperature")
    element_value = await get_json(client, f"{ELEMENTS}/Temperature/$value")
    listed = await get_json(client, f"{ELEMENTS}/$value")
    member = await get_json(client, f"{ELEMENTS}/Readings[1]")
    submodel = await get_json(client, SM)
    environment = await get_json(client, f"{API}/serialization")

    assert value["Temperature"] == 30.25
    assert value["Readings"] == [1.0, 7.0]
    assert element["value"] == "30.25"
    assert element_value == {"Temperature": 30.25}
    assert {"Temperature": 30.25} in listed["result"]
    assert member["value"] == "7.0"
    assert (
        next(e for e in submodel["submodelElements"] if e["idShort"] == "Temperature")["value"]
        == "30.25"
    )
    operational = next(s for s in environment["submodels"] if s["id"] == OPERATIONAL)
    assert operational["submodelElements"][0]["value"] == "30.25"


async def test_without_a_live_value_the_stored_value_shows(
    client: httpx.AsyncClient, live: FakeLive
) -> None:
    assert (await get_json(client, f"{ELEMENTS}/Temperature/$value")) == {"Temperature": 21.5}
    live.values[LIVE_KEY] = "not a number"  # does not fit xs:double
    assert (await get_json(client, f"{ELEMENTS}/Temperature/$value")) == {"Temperature": 21.5}


async def test_live_values_are_not_written_into_the_model(
    client: httpx.AsyncClient, live: FakeLive, read_model: FakeAasReadModel
) -> None:
    live.values[LIVE_KEY] = 99.0
    await get_json(client, f"{SM}/$value")

    submodel = await read_model.submodel(OPERATIONAL)
    assert submodel is not None
    assert submodel.get_referable("Temperature").value == 21.5


async def test_no_live_runtime_means_stored_values() -> None:
    async for client in _client(AasServices(aas=fake_read_model(), live=None)):
        assert (await get_json(client, f"{ELEMENTS}/Temperature/$value")) == {"Temperature": 21.5}


# --- /serialization and /concept-descriptions ---------------------------------------------------


async def test_serialization_of_everything(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"{API}/serialization")

    assert [s["id"] for s in body["assetAdministrationShells"]] == [PUMP, PUMP_2]
    assert [s["id"] for s in body["submodels"]] == [OPERATIONAL, NAMEPLATE]
    assert [c["id"] for c in body["conceptDescriptions"]] == [CD_ID]
    assert body["submodels"][0] == basyx_json(stored(OPERATIONAL))  # Blob values included


async def test_serialization_by_ids(client: httpx.AsyncClient) -> None:
    body = await get_json(
        client,
        f"{API}/serialization",
        aasIds=b64(PUMP_2),
        submodelIds=b64(NAMEPLATE),
        includeConceptDescriptions="False",
    )
    only_shell = await get_json(client, f"{API}/serialization", aasIds=b64(PUMP))

    assert body == {
        "assetAdministrationShells": [basyx_json(stored(PUMP_2))],
        "submodels": [basyx_json(stored(NAMEPLATE))],
    }
    assert set(only_shell) == {"assetAdministrationShells", "conceptDescriptions"}


async def test_serialization_accepts_repeated_ids(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{API}/serialization?submodelIds={b64(NAMEPLATE)}&submodelIds={b64(OPERATIONAL)}"
    )

    assert [s["id"] for s in response.json()["submodels"]] == [NAMEPLATE, OPERATIONAL]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"aasIds": BAD_ID}, 400, "BAD_INPUT"),
        ({"submodelIds": BAD_ID}, 400, "BAD_INPUT"),
        ({"includeConceptDescriptions": "invalid-bool"}, 400, "BAD_INPUT"),
        ({"aasIds": b64("urn:none")}, 404, "NOT_FOUND"),
        ({"submodelIds": b64("urn:none")}, 404, "NOT_FOUND"),
    ],
)
async def test_serialization_errors(
    client: httpx.AsyncClient, params: dict[str, str], status: int, code: str
) -> None:
    assert_error(await client.get(f"{API}/serialization", params=params), status, code)


async def test_concept_descriptions(client: httpx.AsyncClient) -> None:
    listed = await get_json(client, f"{API}/concept-descriptions")
    one = await get_json(client, f"{API}/concept-descriptions/{b64(CD_ID)}")
    by_id_short = await get_json(client, f"{API}/concept-descriptions", idShort="Nope")
    spec = b64(
        json.dumps(
            {
                "type": "ExternalReference",
                "keys": [
                    {
                        "type": "GlobalReference",
                        "value": "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3",
                    }
                ],
            }
        )
    )
    by_spec = await get_json(client, f"{API}/concept-descriptions", dataSpecificationRef=spec)

    assert listed["result"] == [basyx_json(stored(CD_ID))]
    assert one == basyx_json(stored(CD_ID))
    assert by_id_short["result"] == []
    assert [c["id"] for c in by_spec["result"]] == [CD_ID]
    assert_error(await client.get(f"{API}/concept-descriptions/{b64('urn:x')}"), 404, "NOT_FOUND")
    assert_error(
        await client.get(f"{API}/concept-descriptions", params={"isCaseOf": b64("[]")}),
        400,
        "BAD_INPUT",
    )


# --- the HTTP edge: methods, unknown routes, availability, authorization ----------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("url", [f"{API}/shells", SM, f"{ELEMENTS}/Count", f"{API}/serialization"])
async def test_writes_are_405_with_the_error_result(
    client: httpx.AsyncClient, method: str, url: str
) -> None:
    response = await client.request(method, url, json={})

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, HEAD"


async def test_head_answers_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head(f"{API}/shells")

    assert response.status_code == 200
    assert response.content == b""


async def test_unknown_routes_are_404_with_the_error_result(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{API}/lookup/shells"), 404, "NOT_FOUND")
    assert_error(await client.get(f"{SM}/submodel-elements/Count/invoke"), 404, "NOT_FOUND")


async def test_503_when_the_aas_repository_is_not_there() -> None:
    async for client in _client(AasServices(aas=None)):
        assert_error(await client.get(f"{API}/shells"), 503, "SOURCE_UNAVAILABLE")
    async for client in _client(None):
        assert_error(await client.get(f"{API}/submodels"), 503, "SOURCE_UNAVAILABLE")


async def test_503_when_the_read_model_cannot_reach_its_store(
    read_model: FakeAasReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down() -> list[model.AssetAdministrationShell]:
        raise SourceUnavailable("graph engine unreachable")

    monkeypatch.setattr(read_model, "shells", down)
    async for client in _client(AasServices(aas=read_model)):
        text = assert_error(await client.get(f"{API}/shells"), 503, "SOURCE_UNAVAILABLE")
        assert text == "graph engine unreachable"


async def test_unexpected_errors_are_masked_500s(
    read_model: FakeAasReadModel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "bolt://10.0.0.7:7687 MATCH (n) secret"

    async def explode(_: str) -> model.Submodel:
        raise RuntimeError(secret)

    monkeypatch.setattr(read_model, "submodel", explode)
    async for client in _client(AasServices(aas=read_model)):
        response = await client.get(SM)
        text = assert_error(response, 500, "INTERNAL_ERROR")
    assert text == "Internal server error"
    assert "bolt" not in response.text and "secret" not in response.text
    assert secret in caplog.text  # logged for the operator


class RecordingAuthorizer(Authorizer):
    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.calls: list[tuple[Principal, Action, str | None]] = []

    def allows(self, principal: Principal, action: Action, site: str | None = None) -> bool:
        self.calls.append((principal, action, site))
        return self.allow


async def test_every_route_asks_the_authorizer_for_read_with_the_graphql_principal() -> None:
    authorizer = RecordingAuthorizer(allow=True)
    async for client in _client(AasServices(aas=fake_read_model(), authorizer=authorizer)):
        for url in [f"{API}/description", f"{API}/shells", SM, f"{ELEMENTS}/Count/$value"]:
            await get_json(client, url)

    assert authorizer.calls == [(ANONYMOUS_ADMIN, Action.READ, None)] * 4


async def test_403_when_the_principal_may_not_read() -> None:
    authorizer = RecordingAuthorizer(allow=False)
    async for client in _client(AasServices(aas=fake_read_model(), authorizer=authorizer)):
        for url in [
            f"{API}/shells",
            SM,
            f"{API}/serialization",
            f"{ELEMENTS}/Fingerprint/attachment",
        ]:
            text = assert_error(await client.get(url), 403, "FORBIDDEN")
            assert "may not read" in text
