"""The Starlette application: /graphql, /healthz, /readyz and the AAS API (/api/v3.0)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http.ides import GraphQL_IDE

from graphtwin.api.aas_rest import MOUNT_PATH as AAS_API_PATH
from graphtwin.api.aas_rest import aas_api
from graphtwin.api.context import Services, TwinContext
from graphtwin.api.loaders import build_loaders
from graphtwin.api.principals import request_principal
from graphtwin.api.schema import build_schema
from graphtwin.config import Settings

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """Filled in by the lifespan (bootstrap) once the engine and services are up."""

    services: Services | None = None
    ready: Callable[[], Awaitable[bool]] | None = None


class TwinGraphQL(GraphQL[TwinContext, None]):
    def __init__(self, state: AppState, settings: Settings) -> None:
        schema = build_schema(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_tokens=settings.max_query_tokens,
        )
        ide: GraphQL_IDE | None = "graphiql" if settings.dev else None
        super().__init__(schema, graphql_ide=ide, allow_queries_via_get=False)
        self.state = state

    async def get_context(self, request: Any, response: Any) -> TwinContext:
        services = self.state.services
        if services is None:
            raise RuntimeError("graphtwin services are not started")
        return TwinContext(
            # The same principal the AAS API uses; the authorization seam is in place.
            principal=request_principal(request),
            services=services,
            loaders=build_loaders(services.twins.queries, services.aas),
            request=request,
            response=response,
        )

    def encode_json(self, data: object) -> str:
        # msgspec encodes a large response ~7x faster than json.dumps. A str, not
        # bytes: strawberry sends bytes over WebSockets as binary frames, which
        # graphql-transport-ws clients do not read. Anything msgspec refuses (no
        # completed GraphQL result has such values) gets json's answer or error.
        try:
            return msgspec.json.encode(data).decode()
        except (TypeError, msgspec.EncodeError):
            return super().encode_json(data)  # type: ignore[return-value]


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes the limit."""


class BodyLimit:
    """Refuse request bodies over the configured size: by ``Content-Length`` before
    reading them, and by counting when the body is streamed without one (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"request body over {self.max_bytes} bytes",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                    }
                ]
            },
            status_code=413,
        )
        await response(scope, receive, send)


def create_app(
    settings: Settings,
    state: AppState,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    graphql = TwinGraphQL(state, settings)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready = state.ready is not None and state.services is not None and await state.ready()
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "graph": ready},
            status_code=200 if ready else 503,
        )

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            # Subscriptions (graphql-transport-ws) on the same path.
            WebSocketRoute("/graphql", graphql),
            Mount(AAS_API_PATH, app=aas_api(lambda: state.services)),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    return app
