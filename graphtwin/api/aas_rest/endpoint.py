"""What every AAS route shares: services, authorization, error results.

``AasEndpoint`` turns a handler of an ``AasRequest`` into an ASGI app that
answers 405 for anything but GET, 503 while the AAS read model is not there,
checks READ through the same authorizer and principal as GraphQL, and maps
``TwinError`` (and anything unexpected, masked) to the AAS error result.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from basyx.aas import model
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graphtwin.aas.port import AasReadModel
from graphtwin.api.aas_rest.errors import (
    MethodNotAllowed,
    internal_error_response,
    twin_error_response,
)
from graphtwin.api.aas_rest.ids import decode_id
from graphtwin.api.aas_rest.live import LiveOverlay, live_overlay
from graphtwin.api.aas_rest.model_json import Rendering
from graphtwin.api.aas_rest.params import modifiers
from graphtwin.api.context import Services
from graphtwin.api.principals import request_principal
from graphtwin.auth.principal import Action
from graphtwin.errors import NotFound, SourceUnavailable, TwinError

log = logging.getLogger(__name__)

ServicesSource = Callable[[], Services | None]

_READ_METHODS = frozenset({"GET", "HEAD"})


class SupplementaryFiles(Protocol):
    """Offered by read models that keep the files of imported packages (thumbnails,
    the targets of File elements). Paths are per identifiable, as in an AASX."""

    async def supplementary_file(self, owner_id: str, path: str) -> tuple[bytes, str] | None:
        """The bytes and content type of the file ``owner_id`` (a shell or submodel
        id) has under ``path``, or None."""


@dataclass(frozen=True)
class AasRequest:
    """One authorized request and what it reads from."""

    request: Request
    services: Services
    read_model: AasReadModel

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    def param(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    def live(self) -> LiveOverlay | None:
        return live_overlay(self.read_model, self.services.live)

    def rendering(self) -> Rendering:
        """``level``/``extent`` from the query, plus live values.

        :raises BadInput: ``level`` or ``extent`` is not one of its values.
        """
        return Rendering(modifiers(self.query), self.live())

    async def shell(self, param: str = "aas_id") -> model.AssetAdministrationShell:
        """:raises BadInput: the id is not base64url. :raises NotFound: no such shell."""
        ident = decode_id(self.param(param), "shell id")
        shell = await self.read_model.shell(ident)
        if shell is None:
            raise NotFound(f"no shell {ident!r}")
        return shell

    async def submodel(self, param: str = "sm_id") -> model.Submodel:
        """:raises BadInput: the id is not base64url. :raises NotFound: no such submodel."""
        ident = decode_id(self.param(param), "submodel id")
        submodel = await self.read_model.submodel(ident)
        if submodel is None:
            raise NotFound(f"no submodel {ident!r}")
        return submodel

    async def file(self, owner_id: str, path: str) -> tuple[bytes, str] | None:
        """A supplementary file, or None (also when the read model keeps no files)."""
        if not callable(getattr(self.read_model, "supplementary_file", None)):
            return None
        files = cast(SupplementaryFiles, self.read_model)
        return await files.supplementary_file(owner_id, path)


Handler = Callable[[AasRequest], Awaitable[Response]]


class AasEndpoint:
    """An ASGI app running one handler with the AAS error handling around it.

    A class rather than a function so that Starlette routes every method to it
    (it answers 405 itself, in the AAS error format, for all but GET and HEAD).
    """

    def __init__(self, source: ServicesSource, handler: Handler) -> None:
        self.source = source
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        try:
            if request.method not in _READ_METHODS:
                raise MethodNotAllowed("the AAS API serves the read profile: GET only")
            services = self.source()
            if services is None or services.aas is None:
                raise SourceUnavailable("the AAS repository is not available")
            services.authorizer.require(request_principal(request), Action.READ)
            return await self.handler(AasRequest(request, services, services.aas))
        except MethodNotAllowed as exc:
            response = twin_error_response(exc)
            response.headers["Allow"] = "GET, HEAD"
            return response
        except TwinError as exc:
            return twin_error_response(exc)
        except Exception:
            log.exception("AAS API %s %s failed", request.method, request.url.path)
            return internal_error_response()
