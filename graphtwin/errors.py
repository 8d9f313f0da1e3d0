"""The one error hierarchy of graphtwin.

Services raise these; the API edge maps them to typed GraphQL results or HTTP
statuses. Anything that is not a ``TwinError`` is unexpected and gets masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class TwinError(Exception):
    """Base of every expected failure. ``code`` is stable and machine-readable."""

    code = "TWIN_ERROR"
    retryable = False

    def __init__(self, message: str, *, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class BadInput(TwinError):
    """A document, payload or argument that cannot be understood."""

    code = "BAD_INPUT"


class NotFound(TwinError):
    code = "NOT_FOUND"


class Conflict(TwinError):
    """The write collides with what is stored (an IRI that already exists, ...)."""

    code = "CONFLICT"


class Forbidden(TwinError):
    code = "FORBIDDEN"


class PayloadTooLarge(BadInput):
    code = "PAYLOAD_TOO_LARGE"


class SourceUnavailable(TwinError):
    """A backing engine or source cannot be reached now; the caller may retry."""

    code = "SOURCE_UNAVAILABLE"
    retryable = True


@dataclass(frozen=True)
class Violation:
    """One SHACL validation result, flattened for clients."""

    focus_node: str
    path: str | None
    constraint: str
    message: str
    severity: str
    value: str | None = None
    shape: str | None = None


@dataclass
class ShapeReport:
    conforms: bool
    violations: list[Violation] = field(default_factory=list)


class ShapeViolation(TwinError):
    """The change would leave the graph violating the active SHACL shapes."""

    code = "SHAPE_VIOLATION"

    def __init__(self, report: ShapeReport) -> None:
        count = len(report.violations)
        first = report.violations[0].message if report.violations else ""
        super().__init__(f"{count} SHACL violation(s): {first}")
        self.report = report
