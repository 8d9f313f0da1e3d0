"""The routes below one submodel element: ``…/submodel-elements/{idShortPath}``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from basyx.aas import model
from starlette.responses import JSONResponse, Response

from graphtwin.api.aas_rest import paths
from graphtwin.api.aas_rest.endpoint import AasRequest, Handler
from graphtwin.api.aas_rest.model_json import element_json, metadata_json, reference_json
from graphtwin.api.aas_rest.value_only import named_value
from graphtwin.errors import BadInput, NotFound

Locate = Callable[[AasRequest], Awaitable[model.Submodel]]

# Elements whose $metadata the API refuses (as the IDTA test engine expects), and
# the only ones with a $path of their own.
_NO_METADATA = (model.Operation, model.Capability)
_WITH_PATHS = (model.SubmodelElementCollection, model.SubmodelElementList, model.Entity)


class ElementRoutes:
    """One element, by idShortPath, in the submodel found by ``locate``."""

    def __init__(self, locate: Locate) -> None:
        self.locate = locate

    def handlers(self) -> dict[str, Handler]:
        """Route suffixes (relative to ``…/submodel-elements``) and their handlers."""
        element = "/{id_short_path}"
        return {
            element: self.get_element,
            f"{element}/$metadata": self.get_metadata,
            f"{element}/$value": self.get_value,
            f"{element}/$reference": self.get_reference,
            f"{element}/$path": self.get_paths,
            f"{element}/attachment": self.get_attachment,
        }

    async def _find(self, ctx: AasRequest) -> tuple[model.Submodel, model.SubmodelElement, str]:
        """The submodel, the element and its canonical path.

        :raises BadInput: the path is not an idShortPath (or an id not base64url).
        :raises NotFound: no such submodel, or no element at the path.
        """
        tokens = paths.parse(ctx.param("id_short_path"))
        submodel = await self.locate(ctx)
        return submodel, paths.resolve(submodel, tokens), paths.render(tokens)

    async def get_element(self, ctx: AasRequest) -> Response:
        rendering = ctx.rendering()
        submodel, element, path = await self._find(ctx)
        return JSONResponse(element_json(element, submodel.id, path, rendering))

    async def get_metadata(self, ctx: AasRequest) -> Response:
        ctx.rendering()  # validates level and extent
        _, element, path = await self._find(ctx)
        if isinstance(element, _NO_METADATA):
            raise BadInput(f"{type(element).__name__} {path!r} has no metadata serialization")
        return JSONResponse(metadata_json(element))

    async def get_value(self, ctx: AasRequest) -> Response:
        rendering = ctx.rendering()
        submodel, element, path = await self._find(ctx)
        return JSONResponse(named_value(element, submodel.id, path, rendering))

    async def get_reference(self, ctx: AasRequest) -> Response:
        ctx.rendering()
        _, element, _ = await self._find(ctx)
        return JSONResponse(reference_json(element))

    async def get_paths(self, ctx: AasRequest) -> Response:
        deep = ctx.rendering().modifiers.deep
        _, element, path = await self._find(ctx)
        if not isinstance(element, _WITH_PATHS):
            raise BadInput(f"{type(element).__name__} {path!r} has no path serialization")
        return JSONResponse(paths.descendants(element, path, deep))

    async def get_attachment(self, ctx: AasRequest) -> Response:
        """A Blob's bytes, or the stored file a File names."""
        submodel, element, path = await self._find(ctx)
        if isinstance(element, model.Blob):
            if element.value is None:
                raise NotFound(f"Blob {path!r} has no value")
            return Response(bytes(element.value), media_type=element.content_type)
        if not isinstance(element, model.File):
            raise NotFound(f"{type(element).__name__} {path!r} is not a File or Blob")
        if element.value is None:
            raise NotFound(f"File {path!r} has no value")
        stored = await ctx.file(submodel.id, element.value)
        if stored is None:
            raise NotFound(f"the file {element.value!r} of {path!r} is not stored here")
        content, content_type = stored
        return Response(content, media_type=element.content_type or content_type)
