"""The AAS Repository read routes: ``/shells`` and what hangs below one shell.

The submodel routes under ``/shells/{aasId}/submodels/{smId}`` are the
Submodel Repository's (``submodels.py``), reached through the shell.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from basyx.aas import model
from starlette.responses import JSONResponse, Response

from graphtwin.api.aas_rest import paging
from graphtwin.api.aas_rest.endpoint import AasRequest
from graphtwin.api.aas_rest.ids import decode_id
from graphtwin.api.aas_rest.model_json import plain, reference_json, shell_json
from graphtwin.errors import BadInput, NotFound


def _asset_ids(values: Iterable[str]) -> list[tuple[str, str]]:
    """``assetIds``: each base64url JSON of a SpecificAssetId (or a list of them);
    ``{"name": "globalAssetId", ...}`` names the global asset id.

    :raises BadInput: not base64url JSON with string ``name`` and ``value``.
    """
    out: list[tuple[str, str]] = []
    for raw in values:
        try:
            decoded = json.loads(decode_id(raw, "assetIds"))
        except json.JSONDecodeError:
            raise BadInput("assetIds is not base64url-encoded JSON") from None
        for item in decoded if isinstance(decoded, list) else [decoded]:
            if not (
                isinstance(item, dict)
                and isinstance(item.get("name"), str)
                and isinstance(item.get("value"), str)
            ):
                raise BadInput("assetIds entries need a string name and value")
            out.append((item["name"], item["value"]))
    return out


def _has_asset_id(shell: model.AssetAdministrationShell, name: str, value: str) -> bool:
    info = shell.asset_information
    if name == "globalAssetId" and info.global_asset_id == value:
        return True
    return any(i.name == name and i.value == value for i in info.specific_asset_id)


async def _filtered_shells(ctx: AasRequest) -> paging.Page[model.AssetAdministrationShell]:
    request = paging.page_request(ctx.query)
    id_short = ctx.query.get("idShort")
    wanted = _asset_ids(ctx.query.getlist("assetIds"))
    shells = [
        shell
        for shell in await ctx.read_model.shells()
        if (id_short is None or shell.id_short == id_short)
        and all(_has_asset_id(shell, name, value) for name, value in wanted)
    ]
    return paging.by_id(shells, lambda shell: shell.id, request)


async def get_shells(ctx: AasRequest) -> Response:
    page = await _filtered_shells(ctx)
    return JSONResponse(page.body(shell_json))


async def get_shell_references(ctx: AasRequest) -> Response:
    page = await _filtered_shells(ctx)
    return JSONResponse(page.body(reference_json))


async def get_shell(ctx: AasRequest) -> Response:
    return JSONResponse(shell_json(await ctx.shell()))


async def get_shell_reference(ctx: AasRequest) -> Response:
    return JSONResponse(reference_json(await ctx.shell()))


async def get_asset_information(ctx: AasRequest) -> Response:
    shell = await ctx.shell()
    return JSONResponse(plain(shell.asset_information))


async def get_thumbnail(ctx: AasRequest) -> Response:
    shell = await ctx.shell()
    thumbnail = shell.asset_information.default_thumbnail
    if thumbnail is None:
        raise NotFound(f"shell {shell.id!r} has no thumbnail")
    found = await ctx.file(shell.id, thumbnail.path)
    if found is None:
        raise NotFound(f"thumbnail {thumbnail.path!r} of shell {shell.id!r} is not stored")
    content, content_type = found
    return Response(content, media_type=thumbnail.content_type or content_type)


def submodel_id_of(reference: model.Reference) -> str:
    return str(reference.key[0].value)


async def get_submodel_refs(ctx: AasRequest) -> Response:
    shell = await ctx.shell()
    page = paging.by_id(list(shell.submodel), submodel_id_of, paging.page_request(ctx.query))
    return JSONResponse(page.body(plain))


async def referenced_submodel(ctx: AasRequest) -> model.Submodel:
    """The submodel ``{smId}`` of shell ``{aasId}``.

    :raises BadInput: an id is not base64url.
    :raises NotFound: no such shell, or it does not reference that submodel.
    """
    shell = await ctx.shell()
    ident = decode_id(ctx.param("sm_id"), "submodel id")
    if not any(submodel_id_of(ref) == ident for ref in shell.submodel):
        raise NotFound(f"shell {shell.id!r} has no submodel {ident!r}")
    return await ctx.submodel()
