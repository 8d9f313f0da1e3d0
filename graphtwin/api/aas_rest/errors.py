"""The AAS error result (Part 2 ``Result``/``Message``) and the status of each error.

Handlers raise ``TwinError`` subclasses; this module is the one place that turns
them into ``{"messages": [{code, messageType, text, timestamp}]}`` with the status
code the specification asks for. Nothing else may appear in the body: the IDTA
test engine rejects extra keys.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import JSONResponse

from graphtwin.errors import (
    BadInput,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    SourceUnavailable,
    TwinError,
)


class MethodNotAllowed(TwinError):
    """The read profile serves GET only."""

    code = "METHOD_NOT_ALLOWED"


# Most specific first: PayloadTooLarge is a BadInput.
_STATUS: tuple[tuple[type[TwinError], int], ...] = (
    (PayloadTooLarge, 413),
    (BadInput, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (MethodNotAllowed, 405),
    (Conflict, 409),
    (SourceUnavailable, 503),
)


def status_of(error: TwinError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def _timestamp() -> str:
    # The schema's pattern wants a UTC time ending in Z (or +00:00).
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def error_body(code: str, text: str) -> dict[str, list[dict[str, str]]]:
    return {
        "messages": [
            {"code": code, "messageType": "Error", "text": text, "timestamp": _timestamp()}
        ]
    }


def error_response(status: int, code: str, text: str) -> JSONResponse:
    return JSONResponse(error_body(code, text), status_code=status)


def twin_error_response(error: TwinError) -> JSONResponse:
    return error_response(status_of(error), error.code, error.message)


def internal_error_response() -> JSONResponse:
    """For anything unexpected: the client learns nothing about the cause."""
    return error_response(500, "INTERNAL_ERROR", "Internal server error")
