"""The error envelope of each spec family, chosen by URL path (specs/README.md)."""

from __future__ import annotations

from datetime import datetime, timezone

# Longest prefix first: /api/v1/tasks belongs to spec 002 before /api/v1 claims it for 001.
_FAMILIES = (
    ("/api/v1/tasks", "tasks"),
    ("/api/v1/", "rag"),
    ("/api/", "gui"),
    ("/v1/", "llm"),
    ("/config/", "llm"),
    ("/usagekey", "review"),
    ("/codereview", "review"),
)

# Status code -> (generic code, message) used when a framework error (404, 405, 413 ...) hits an API path.
GENERIC = {
    400: ("BAD_REQUEST", "The request could not be understood."),
    401: ("UNAUTHORIZED", "Invalid or missing API token"),
    403: ("FORBIDDEN", "You do not have access to this resource."),
    404: ("NOT_FOUND", "No such endpoint. Check the path against the API documentation at /docs."),
    405: ("METHOD_NOT_ALLOWED", "This endpoint does not accept that HTTP method."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json."),
    422: ("VALIDATION_ERROR", "The request body failed validation."),
    429: ("RATE_LIMIT_EXCEEDED", "Rate limit exceeded. Please try again later."),
    500: ("INTERNAL_SERVER_ERROR", "An unexpected error occurred"),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Try again shortly."),
}


def family_for_path(path: str) -> str | None:
    """Which spec family serves this path, or None for the HTML dashboard."""
    for prefix, family in _FAMILIES:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            return family
    return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_body(family: str, code: str, message: str, details: dict | None = None, **extra) -> dict:
    """Build the family's error JSON; `extra` lands beside code/message (e.g. retry_after)."""
    if family == "rag":
        body = {"detail": message, "error_code": code, "timestamp": _now()}
        body.update(extra)
        return body
    error = {"code": code, "message": message}
    if details or family == "tasks":
        error["details"] = details or {}
    error.update(extra)
    if family in ("tasks", "gui"):
        return {"success": False, "error": error, "timestamp": _now()}
    if family == "review":
        return {"error": error}
    return {"status": "error", "error": error}
