"""Domain errors: each carries its HTTP status and a stable code (services never raise HTTP)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; `field` is a dotted path such as `body.strength`."""

    field: str
    message: str


class DomainError(Exception):
    http_status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(DomainError):
    http_status = 422
    code = "invalid-input"
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field, message)])


class NotFound(DomainError):
    """Also raised for records that exist but that the caller may not see."""

    http_status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"
    title = "Conflict"


class VersionConflict(Conflict):
    code = "version-conflict"
    title = "The record was changed by someone else"


class TransitionRefused(Conflict):
    code = "transition-refused"
    title = "Transition refused"


class Unauthorized(DomainError):
    http_status = 401
    code = "unauthorized"
    title = "Authentication required"


class TooManyAttempts(DomainError):
    """Refused before it was tried: too many failed attempts lately (429, with Retry-After)."""

    http_status = 429
    code = "too-many-failures"
    title = "Too many failed sign-ins"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class Forbidden(DomainError):
    http_status = 403
    code = "forbidden"
    title = "Not allowed"


class Refused(Conflict):
    """A request the rules refuse, with every reason (a task the issuer may not give)."""

    code = "refused"
    title = "Refused"

    def __init__(self, detail: str, reasons: list[str]) -> None:
        super().__init__(detail, [FieldError("body", r) for r in reasons])
        self.reasons = reasons
