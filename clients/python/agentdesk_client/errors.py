"""Typed errors, one per spec 000 error code family (§7.1)."""

from __future__ import annotations


class UserManagementAPIError(Exception):
    """Base class (the name spec 000 §7.2 uses)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.details = status, code, details or {}


class AuthenticationError(UserManagementAPIError):
    """401 UNAUTHORIZED: the token is missing, unknown, revoked or expired."""


class ForbiddenError(UserManagementAPIError):
    """403 FORBIDDEN."""


class UserNotFoundError(UserManagementAPIError):
    """404 USER_NOT_FOUND."""


class ConfigNotFoundError(UserManagementAPIError):
    """404 CONFIG_NOT_FOUND."""


class InvalidRequestError(UserManagementAPIError):
    """400 INVALID_PLATFORM, INVALID_USERNAME, INVALID_REQUEST."""


class RateLimitedError(UserManagementAPIError):
    """429 RATE_LIMIT_EXCEEDED after the retries (or a Retry-After longer than we will wait)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(UserManagementAPIError):
    """5xx after the retries."""


class UnreachableError(UserManagementAPIError):
    """No HTTP answer at all (connection refused, DNS, timeout) after the retries."""
