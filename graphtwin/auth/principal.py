"""Principals and the one authorization seam every read and write goes through.

Today there is a single administrator principal; roles scoped by site come later
and plug in here without touching resolvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from graphtwin.errors import Forbidden


class Action(Enum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    id: str
    # None means every site; otherwise the site IRIs the principal is scoped to.
    sites: frozenset[str] | None = None
    actions: frozenset[Action] = field(default_factory=lambda: frozenset(Action))


ANONYMOUS_ADMIN = Principal(id="anonymous-admin")


class Authorizer:
    """Decides whether a principal may do an action, scoped by site."""

    def allows(self, principal: Principal, action: Action, site: str | None = None) -> bool:
        if action not in principal.actions:
            return False
        if principal.sites is None or site is None:
            return True
        return site in principal.sites

    def require(self, principal: Principal, action: Action, site: str | None = None) -> None:
        """:raises Forbidden: the principal may not do this."""
        if not self.allows(principal, action, site):
            where = f" on {site}" if site else ""
            raise Forbidden(f"{principal.id} may not {action.value}{where}")
