"""Routes about the service as a whole: ``/description``, ``/serialization`` and
the read side of ``/concept-descriptions``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from basyx.aas import model
from starlette.responses import JSONResponse, Response

from graphtwin.api.aas_rest import paging, params
from graphtwin.api.aas_rest.endpoint import AasRequest
from graphtwin.api.aas_rest.ids import decode_id
from graphtwin.api.aas_rest.model_json import Rendering, element_json, plain, shell_json
from graphtwin.api.aas_rest.params import Extent, Modifiers
from graphtwin.errors import BadInput, NotFound

T = TypeVar("T")

API = "https://admin-shell.io/aas/API/3/0/"
PROFILES = (
    f"{API}AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    f"{API}SubmodelRepositoryServiceSpecification/SSP-002",
)


async def get_description(ctx: AasRequest) -> Response:
    del ctx
    return JSONResponse({"profiles": list(PROFILES)})


async def get_serialization(ctx: AasRequest) -> Response:
    """One JSON environment: the shells and submodels asked for (everything when
    neither ``aasIds`` nor ``submodelIds`` is given), with concept descriptions
    unless ``includeConceptDescriptions=false``. Blob values are included: this is
    an export.
    """
    shell_ids = [decode_id(raw, "aasIds") for raw in ctx.query.getlist("aasIds")]
    submodel_ids = [decode_id(raw, "submodelIds") for raw in ctx.query.getlist("submodelIds")]
    with_cds = params.boolean(ctx.query, "includeConceptDescriptions", True)
    if shell_ids or submodel_ids:
        shells = [await _require(ctx.read_model.shell, ident, "shell") for ident in shell_ids]
        submodels = [
            await _require(ctx.read_model.submodel, ident, "submodel") for ident in submodel_ids
        ]
    else:
        shells, submodels = await ctx.read_model.shells(), await ctx.read_model.submodels()
    rendering = Rendering(Modifiers(extent=Extent.WITH_BLOB_VALUE), ctx.live())
    environment: dict[str, Any] = {}
    # The schema refuses empty arrays, so an empty part is left out.
    if shells:
        environment["assetAdministrationShells"] = [shell_json(shell) for shell in shells]
    if submodels:
        environment["submodels"] = [element_json(sm, sm.id, "", rendering) for sm in submodels]
    if with_cds:
        cds = await ctx.read_model.concept_descriptions()
        if cds:
            environment["conceptDescriptions"] = [plain(cd) for cd in cds]
    return JSONResponse(environment)


async def _require(find: Callable[[str], Awaitable[T | None]], ident: str, what: str) -> T:
    """:raises NotFound: ``find`` has nothing under ``ident``."""
    found = await find(ident)
    if found is None:
        raise NotFound(f"no {what} {ident!r}")
    return found


def _reference_filter(ctx: AasRequest, name: str) -> list[str] | None:
    """A base64url JSON Reference from the query, as its key values.

    :raises BadInput: not base64url JSON of a Reference.
    """
    raw = ctx.query.get(name)
    if raw is None:
        return None
    try:
        reference = json.loads(decode_id(raw, name))
        return [str(key["value"]) for key in reference["keys"]]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise BadInput(f"{name} is not a base64url-encoded JSON Reference") from None


def _keys(reference: model.Reference) -> list[str]:
    return [str(key.value) for key in reference.key]


async def get_concept_descriptions(ctx: AasRequest) -> Response:
    request = paging.page_request(ctx.query)
    id_short = ctx.query.get("idShort")
    case_of = _reference_filter(ctx, "isCaseOf")
    spec = _reference_filter(ctx, "dataSpecificationRef")
    cds = [
        cd
        for cd in await ctx.read_model.concept_descriptions()
        if (id_short is None or cd.id_short == id_short)
        and (case_of is None or any(_keys(ref) == case_of for ref in cd.is_case_of))
        and (
            spec is None
            or any(_keys(eds.data_specification) == spec for eds in cd.embedded_data_specifications)
        )
    ]
    return JSONResponse(paging.by_id(cds, lambda cd: cd.id, request).body(plain))


async def get_concept_description(ctx: AasRequest) -> Response:
    ident = decode_id(ctx.param("cd_id"), "concept description id")
    for cd in await ctx.read_model.concept_descriptions():
        if cd.id == ident:
            return JSONResponse(plain(cd))
    raise NotFound(f"no concept description {ident!r}")
