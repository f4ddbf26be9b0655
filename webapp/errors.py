"""Domain errors raised by services; each surface maps them to its own envelope."""


class DomainError(Exception):
    """Base class: `code` is machine-readable, the message is for a person."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}
        if code:
            self.code = code  # a more specific code than the class's, e.g. USER_NOT_FOUND


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_ERROR"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class AuthenticationFailed(DomainError):
    status = 401
    code = "UNAUTHORIZED"


class InvalidTransition(DomainError):
    status = 422
    code = "INVALID_TRANSITION"


class QuotaExceeded(DomainError):
    status = 429
    code = "QUOTA_EXCEEDED"
