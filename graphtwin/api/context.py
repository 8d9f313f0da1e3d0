"""The typed per-request context: principal, services and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.types import Info

from graphtwin.aas.service import AasService
from graphtwin.api.loaders import Loaders
from graphtwin.auth.principal import Authorizer, Principal
from graphtwin.history.port import HistoryStore
from graphtwin.live.runtime import LiveRuntime
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.sim.service import Simulator
from graphtwin.twins.service import TwinService


@dataclass(frozen=True)
class Services:
    """What the API needs from the service layer; built once by bootstrap."""

    twins: TwinService
    ontology: OntologyIndex
    authorizer: Authorizer
    # Live data (None when the server runs without it, e.g. some CLI commands).
    live: LiveRuntime | None = None
    history: HistoryStore | None = None
    # Asset Administration Shells: import, export, the read model of the AAS API.
    aas: AasService | None = None
    # Simulation of lines (what-if, bottlenecks) in worker processes.
    sim: Simulator | None = None


@dataclass
class TwinContext:
    principal: Principal
    services: Services
    loaders: Loaders
    request: Any = None
    response: Any = None


TwinInfo = Info[TwinContext, None]
