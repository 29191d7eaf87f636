"""Domain errors: what went wrong, in terms an entry point can map to HTTP, a form or a CLI exit.

Services raise these; they never know about HTTP. Messages are English msgids that the web
layer translates for the user's locale; ``params`` fill their ``{placeholders}`` afterwards.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``field`` is a dotted path such as ``lines.2.quantity``."""

    field: str
    message: str
    code: str = "invalid"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.message = message or self.title
        self.params = params
        super().__init__(self.message.format(**params) if params else self.message)


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    title = "Authentication required"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    title = "You do not have permission to do this"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class StaleVersion(DomainError):
    """The record changed since the caller read it; nothing was written."""

    status = 412
    code = "stale_version"
    title = "The record was changed by someone else; reload and try again"


class ValidationFailed(DomainError):
    """Input broke a rule; ``errors`` says which field and why."""

    status = 422
    code = "validation_failed"
    title = "The input is not valid"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = errors
        super().__init__(message)

    @classmethod
    def single(cls, field_name: str, message: str, code: str = "invalid", **params: Any) -> ValidationFailed:
        return cls([FieldError(field_name, message, code, params)])


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many attempts; try again later"

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(message)
