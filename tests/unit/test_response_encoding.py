"""GraphQL responses are encoded by msgspec, as text, with json's answer for
anything msgspec refuses."""

from __future__ import annotations

import json

import pytest

from graphtwin.api.app import AppState, TwinGraphQL
from graphtwin.config import load_settings


@pytest.fixture(scope="module")
def view() -> TwinGraphQL:
    return TwinGraphQL(AppState(), load_settings({}))


def test_a_response_is_json_text(view: TwinGraphQL) -> None:
    data = {"data": {"asset": {"label": "Presse 1, Halle Süd", "n": 2**70, "x": [1.5, None]}}}
    encoded = view.encode_json(data)
    # Text, not bytes: strawberry sends bytes over WebSockets as binary frames.
    assert isinstance(encoded, str)
    assert json.loads(encoded) == data


def test_what_msgspec_refuses_gets_jsons_answer(view: TwinGraphQL) -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match="not JSON serializable"):
        view.encode_json({"data": Opaque()})
