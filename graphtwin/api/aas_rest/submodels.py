"""The Submodel Repository read routes: ``/submodels`` and everything below one.

The same handlers serve ``/shells/{aasId}/submodels/{smId}/...``: only how the
submodel is found differs (``Locate``), so both paths answer identically.
"""

from __future__ import annotations

from basyx.aas import model
from starlette.responses import JSONResponse, Response

from graphtwin.api.aas_rest import paging, paths
from graphtwin.api.aas_rest.elements import ElementRoutes, Locate
from graphtwin.api.aas_rest.endpoint import AasRequest, Handler
from graphtwin.api.aas_rest.ids import decode_id
from graphtwin.api.aas_rest.model_json import (
    element_json,
    metadata_json,
    reference_json,
)
from graphtwin.api.aas_rest.value_only import OMITTED, element_value, submodel_value


async def by_id(ctx: AasRequest) -> model.Submodel:
    return await ctx.submodel()


# -- /submodels ----------------------------------------------------------------------


async def _filtered_submodels(ctx: AasRequest) -> list[model.Submodel]:
    id_short = ctx.query.get("idShort")
    raw_semantic_id = ctx.query.get("semanticId")
    semantic_id = None if raw_semantic_id is None else decode_id(raw_semantic_id, "semanticId")
    return [
        submodel
        for submodel in await ctx.read_model.submodels()
        if (id_short is None or submodel.id_short == id_short)
        and (
            semantic_id is None
            or (
                submodel.semantic_id is not None
                and any(key.value == semantic_id for key in submodel.semantic_id.key)
            )
        )
    ]


def _submodel_page(ctx: AasRequest, submodels: list[model.Submodel]) -> paging.Page[model.Submodel]:
    return paging.by_id(submodels, lambda submodel: submodel.id, paging.page_request(ctx.query))


async def get_submodels(ctx: AasRequest) -> Response:
    rendering = ctx.rendering()
    page = _submodel_page(ctx, await _filtered_submodels(ctx))
    return JSONResponse(page.body(lambda sm: element_json(sm, sm.id, "", rendering)))


async def get_submodels_metadata(ctx: AasRequest) -> Response:
    ctx.rendering()  # validates level and extent
    page = _submodel_page(ctx, await _filtered_submodels(ctx))
    return JSONResponse(page.body(metadata_json))


async def get_submodels_value(ctx: AasRequest) -> Response:
    rendering = ctx.rendering()
    page = _submodel_page(ctx, await _filtered_submodels(ctx))
    return JSONResponse(page.body(lambda sm: submodel_value(sm, rendering)))


async def get_submodels_reference(ctx: AasRequest) -> Response:
    ctx.rendering()
    page = _submodel_page(ctx, await _filtered_submodels(ctx))
    return JSONResponse(page.body(reference_json))


async def get_submodels_path(ctx: AasRequest) -> Response:
    deep = ctx.rendering().modifiers.deep
    request = paging.page_request(ctx.query)
    submodels = sorted(await _filtered_submodels(ctx), key=lambda submodel: submodel.id)
    every = [path for sm in submodels for path in paths.descendants(sm, "", deep)]
    return JSONResponse(paging.by_index(every, request).body(str))


# -- one submodel and its element list ---------------------------------------------------


class SubmodelRoutes:
    """The routes below one submodel, found by ``locate``."""

    def __init__(self, locate: Locate) -> None:
        self.locate = locate

    def handlers(self) -> dict[str, Handler]:
        """Route suffixes (relative to the submodel) and their handlers."""
        elements = ElementRoutes(self.locate).handlers()
        return {
            "": self.get_submodel,
            "/$metadata": self.get_metadata,
            "/$value": self.get_value,
            "/$reference": self.get_reference,
            "/$path": self.get_paths,
            "/submodel-elements": self.get_elements,
            "/submodel-elements/$metadata": self.get_elements_metadata,
            "/submodel-elements/$value": self.get_elements_value,
            "/submodel-elements/$reference": self.get_elements_reference,
            "/submodel-elements/$path": self.get_elements_path,
            **{f"/submodel-elements{suffix}": handler for suffix, handler in elements.items()},
        }

    async def get_submodel(self, ctx: AasRequest) -> Response:
        rendering = ctx.rendering()
        submodel = await self.locate(ctx)
        return JSONResponse(element_json(submodel, submodel.id, "", rendering))

    async def get_metadata(self, ctx: AasRequest) -> Response:
        ctx.rendering()  # validates level and extent
        return JSONResponse(metadata_json(await self.locate(ctx)))

    async def get_value(self, ctx: AasRequest) -> Response:
        rendering = ctx.rendering()
        return JSONResponse(submodel_value(await self.locate(ctx), rendering))

    async def get_reference(self, ctx: AasRequest) -> Response:
        ctx.rendering()
        return JSONResponse(reference_json(await self.locate(ctx)))

    async def get_paths(self, ctx: AasRequest) -> Response:
        deep = ctx.rendering().modifiers.deep
        return JSONResponse(paths.descendants(await self.locate(ctx), "", deep))

    async def _elements(
        self, ctx: AasRequest
    ) -> tuple[model.Submodel, list[model.SubmodelElement], paging.PageRequest]:
        request = paging.page_request(ctx.query)
        submodel = await self.locate(ctx)
        return submodel, list(submodel.submodel_element), request

    # The top-level elements of a list are one level below the requested resource
    # (depth 1): with level=core they come without their own children.

    async def get_elements(self, ctx: AasRequest) -> Response:
        rendering = ctx.rendering()
        submodel, elements, request = await self._elements(ctx)
        page = paging.by_index(elements, request)
        return JSONResponse(
            page.body(lambda e: element_json(e, submodel.id, e.id_short or "", rendering, 1))
        )

    async def get_elements_metadata(self, ctx: AasRequest) -> Response:
        ctx.rendering()
        _, elements, request = await self._elements(ctx)
        return JSONResponse(paging.by_index(elements, request).body(metadata_json))

    async def get_elements_value(self, ctx: AasRequest) -> Response:
        rendering = ctx.rendering()
        submodel, elements, request = await self._elements(ctx)
        named = []
        for element in elements:
            path = element.id_short or ""
            value = element_value(element, submodel.id, path, rendering, 1)
            if value is not OMITTED:  # Operations and Capabilities have no value
                named.append({path: value})
        return JSONResponse(paging.by_index(named, request).body(lambda item: item))

    async def get_elements_reference(self, ctx: AasRequest) -> Response:
        ctx.rendering()
        _, elements, request = await self._elements(ctx)
        return JSONResponse(paging.by_index(elements, request).body(reference_json))

    async def get_elements_path(self, ctx: AasRequest) -> Response:
        deep = ctx.rendering().modifiers.deep
        submodel, _, request = await self._elements(ctx)
        every = paths.descendants(submodel, "", deep)
        return JSONResponse(paging.by_index(every, request).body(str))
