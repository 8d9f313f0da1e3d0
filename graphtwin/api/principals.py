"""Who is asking: the one place every API entrypoint gets its principal from.

GraphQL and the AAS REST API both call ``request_principal``, so authentication,
when it comes, plugs in here once and both go through the same authorization seam.
"""

from __future__ import annotations

from graphtwin.auth.principal import ANONYMOUS_ADMIN, Principal


def request_principal(request: object) -> Principal:
    """The principal behind an HTTP request or WebSocket connection.

    There is no login yet: every caller is the administrator.
    """
    del request  # used once credentials are read from it
    return ANONYMOUS_ADMIN
