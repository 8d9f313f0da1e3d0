"""The AAS REST API (Part 2, v3.0): the read profiles SSP-002 of the AAS
Repository and the Submodel Repository, mounted under ``/api/v3.0``.

It reads from ``services.aas`` (an ``AasReadModel``), goes through the same
authorization seam as GraphQL, and answers errors in the AAS error format.
"""

from __future__ import annotations

from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from graphtwin.api.aas_rest import service, shells, submodels
from graphtwin.api.aas_rest.endpoint import AasEndpoint, Handler, ServicesSource
from graphtwin.api.aas_rest.errors import error_response

MOUNT_PATH = "/api/v3.0"


def _routes() -> list[tuple[str, Handler]]:
    # Literal segments ($metadata, ...) come before the {id} they would also match.
    table: list[tuple[str, Handler]] = [
        ("/description", service.get_description),
        ("/serialization", service.get_serialization),
        ("/concept-descriptions", service.get_concept_descriptions),
        ("/concept-descriptions/{cd_id}", service.get_concept_description),
        ("/shells", shells.get_shells),
        ("/shells/$reference", shells.get_shell_references),
        ("/shells/{aas_id}", shells.get_shell),
        ("/shells/{aas_id}/$reference", shells.get_shell_reference),
        ("/shells/{aas_id}/asset-information", shells.get_asset_information),
        ("/shells/{aas_id}/asset-information/thumbnail", shells.get_thumbnail),
        ("/shells/{aas_id}/submodel-refs", shells.get_submodel_refs),
        ("/submodels", submodels.get_submodels),
        ("/submodels/$metadata", submodels.get_submodels_metadata),
        ("/submodels/$value", submodels.get_submodels_value),
        ("/submodels/$reference", submodels.get_submodels_reference),
        ("/submodels/$path", submodels.get_submodels_path),
    ]
    for prefix, locate in (
        ("/submodels/{sm_id}", submodels.by_id),
        ("/shells/{aas_id}/submodels/{sm_id}", shells.referenced_submodel),
    ):
        table += [
            (prefix + suffix, h)
            for suffix, h in submodels.SubmodelRoutes(locate).handlers().items()
        ]
    return table


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(404, "NOT_FOUND", "no such resource in the AAS API")
    await response(scope, receive, send)


def aas_api(source: ServicesSource) -> Router:
    """The ASGI app to mount at ``MOUNT_PATH``; ``source`` gives the running services."""
    routes = [Route(path, AasEndpoint(source, handler)) for path, handler in _routes()]
    return Router(routes=routes, default=_not_found)
