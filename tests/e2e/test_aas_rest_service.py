"""The AAS REST API over the real AasService and the twin graph (``lab_twin``): a
shell imported for the lab press, its submodel's Property bound to the press's
``gt:idealCycleTime``, read back over HTTP with graph and live values."""

from __future__ import annotations

import base64
import io

import pytest
from basyx.aas import model
from basyx.aas.adapter.json import write_aas_json_file

from .conftest import GT, LAB_PRESS, Twin
from .test_aas_rest_model import FakeLive

pytestmark = pytest.mark.e2e

SHELL_ID = "https://example.com/ids/aas/lab-press"
SUBMODEL_ID = "https://example.com/ids/sm/lab-press-operation"
CYCLE_TIME = f"{GT}idealCycleTime"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


SM = f"/api/v3.0/submodels/{b64(SUBMODEL_ID)}"


def environment() -> bytes:
    bound = model.Property(
        "CycleTime",
        model.datatypes.Double,
        1.0,  # what the document says; the asset's value wins when there is one
        semantic_id=model.ExternalReference(
            (model.Key(model.KeyTypes.GLOBAL_REFERENCE, CYCLE_TIME),)
        ),
    )
    note = model.Property("Note", model.datatypes.String, "stored")
    submodel = model.Submodel(SUBMODEL_ID, id_short="Operation", submodel_element=[bound, note])
    shell = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id=LAB_PRESS),
        SHELL_ID,
        id_short="LabPress",
        submodel={model.ModelReference.from_referable(submodel)},
    )
    buffer = io.StringIO()
    write_aas_json_file(buffer, model.DictObjectStore([shell, submodel]))
    return buffer.getvalue().encode()


async def test_bound_properties_read_the_graph_then_the_live_value(lab_twin: Twin) -> None:
    aas = lab_twin.services.aas
    assert aas is not None
    await aas.import_bytes(environment(), "json", link={SHELL_ID: LAB_PRESS})

    from_graph = await lab_twin.client.get(f"{SM}/$value")
    aas.live = FakeLive({(LAB_PRESS, CYCLE_TIME): 7.25})
    live = await lab_twin.client.get(f"{SM}/$value")
    element = await lab_twin.client.get(f"{SM}/submodel-elements/CycleTime")

    assert from_graph.json() == {"CycleTime": 5.0, "Note": "stored"}  # LAB_PLANT's value
    assert live.json() == {"CycleTime": 7.25, "Note": "stored"}
    assert element.json()["value"] == "7.25"


async def test_shells_and_errors_over_the_graph(lab_twin: Twin) -> None:
    aas = lab_twin.services.aas
    assert aas is not None
    await aas.import_bytes(environment(), "json", link={SHELL_ID: LAB_PRESS})

    shells = (await lab_twin.client.get("/api/v3.0/shells")).json()
    refs = (await lab_twin.client.get(f"/api/v3.0/shells/{b64(SHELL_ID)}/submodel-refs")).json()
    missing = await lab_twin.client.get(f"/api/v3.0/submodels/{b64('urn:none')}")

    assert [s["id"] for s in shells["result"]] == [SHELL_ID]
    assert refs["result"][0]["keys"][0]["value"] == SUBMODEL_ID
    assert missing.status_code == 404
    assert missing.json()["messages"][0]["code"] == "NOT_FOUND"
