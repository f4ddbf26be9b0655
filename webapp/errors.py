"""Domain errors: the one hierarchy that services, the machine APIs and the pages all raise.

Each surface renders them in one place: the machine families in their spec envelope
(webapp/machine/families.py), the browser as an error page or a message beside a form field.
"""

from __future__ import annotations

from flask_babel import force_locale


class DomainError(Exception):
    """`code` is machine-readable, the message is for a person.

    `details` travels in the envelope's details object, `extra` beside code and message (spec
    000's `retry_after`), `headers` on the response (Retry-After, WWW-Authenticate). `field` names
    the form field at fault.
    """

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message, *, code: str | None = None, status: int | None = None, field: str | None = None,
                 details: dict | None = None, headers: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}
        self.headers = headers or {}
        self.extra = extra
        if code:
            self.code = code  # a more specific code than the class's, e.g. USER_NOT_FOUND
        if status:
            self.status = status


class BadRequest(DomainError):
    status = 400
    code = "BAD_REQUEST"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_ERROR"


class AuthenticationFailed(DomainError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class InvalidTransition(DomainError):
    status = 422
    code = "INVALID_TRANSITION"


class QuotaExceeded(DomainError):
    status = 429
    code = "QUOTA_EXCEEDED"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMIT_EXCEEDED"


class Unavailable(DomainError):
    status = 503
    code = "SERVICE_UNAVAILABLE"


def terminal_message(error: DomainError) -> str:
    """The error for an operator's terminal: English, whatever the instance's page language."""
    with force_locale("en"):
        field = f"{error.field}: " if error.field else ""
        return f"{field}{error.message}"
