"""Expected failures as typed GraphQL results with field paths.

Mutations return a union of their success type and these; queries raise a
``TwinError`` that the masking extension lets through with its message and code.
"""

from __future__ import annotations

import strawberry

from graphtwin.errors import (
    BadInput,
    Conflict,
    Forbidden,
    NotFound,
    ShapeViolation,
    SourceUnavailable,
    TwinError,
)


@strawberry.interface(description="An expected failure the client can act on.")
class UserError:
    message: str
    code: str
    path: list[str]


@strawberry.type
class BadInputError(UserError):
    pass


@strawberry.type
class NotFoundError(UserError):
    pass


@strawberry.type
class ConflictError(UserError):
    pass


@strawberry.type
class ForbiddenError(UserError):
    pass


@strawberry.type(description="The engine is unreachable right now; retry later.")
class UnavailableError(UserError):
    retryable: bool = True


@strawberry.type(description="One SHACL validation result.")
class ShapeViolationDetail:
    focus_node: str
    path: str | None
    constraint: str
    message: str
    severity: str
    value: str | None
    shape: str | None


@strawberry.type(description="The change was rejected by the SHACL shapes; nothing was written.")
class ShapeViolationError(UserError):
    violations: list[ShapeViolationDetail]


ErrorResult = (
    BadInputError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | UnavailableError
    | ShapeViolationError
)


# Most specific first: PayloadTooLarge is a BadInput, and so on.
_RESULT_TYPES: list[tuple[type[TwinError], type[UserError]]] = [
    (NotFound, NotFoundError),
    (Conflict, ConflictError),
    (Forbidden, ForbiddenError),
    (SourceUnavailable, UnavailableError),
    (BadInput, BadInputError),
]


def to_result(error: TwinError) -> ErrorResult:
    message, code, path = error.message, error.code, list(error.path)
    if isinstance(error, ShapeViolation):
        return ShapeViolationError(
            message=message,
            code=code,
            path=path,
            violations=[
                ShapeViolationDetail(
                    focus_node=v.focus_node,
                    path=v.path,
                    constraint=v.constraint,
                    message=v.message,
                    severity=v.severity,
                    value=v.value,
                    shape=v.shape,
                )
                for v in error.report.violations
            ],
        )
    for error_type, result_type in _RESULT_TYPES:
        if isinstance(error, error_type):
            result: ErrorResult = result_type(message=message, code=code, path=path)  # type: ignore[assignment]
            return result
    return BadInputError(message=message, code=code, path=path)
