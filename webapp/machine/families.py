"""The five API families (specs/README.md): each one's error envelope, rendered by one function.

A machine blueprint names its family, so every error under it (the view's, the platform's, the
framework's 404/405/413) comes back in that family's shape. The URL spaces below are only the
fallback for requests no route matched (an unknown path under /api/v1/ still gets spec 001's body).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

from pydantic import BaseModel, Field
from werkzeug.exceptions import HTTPException

from webapp.errors import DomainError

# Status -> (code, message) for errors that carry no spec code: the framework's 404, 405, 413 ...
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


def from_http(error: HTTPException) -> DomainError:
    """A framework HTTP error as a domain error with the generic code for its status."""
    status = error.code or 500
    code, message = GENERIC.get(status, GENERIC[500] if status >= 500 else GENERIC[400])
    headers = {k: v for k, v in error.get_headers() if k in ("Retry-After", "Allow", "WWW-Authenticate")}
    return DomainError(message, code=code, status=status, headers=headers)


def internal_error() -> DomainError:
    return DomainError(GENERIC[500][1], code=GENERIC[500][0], status=500)


def database_busy() -> DomainError:
    return DomainError("The database is busy or unreachable. Try again in a few seconds.",
                       code="SERVICE_UNAVAILABLE", status=503, headers={"Retry-After": "5"})


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_object(error: DomainError, *, always_details: bool = False) -> dict:
    body = {"code": error.code, "message": str(error.message)}
    if error.details or always_details:
        body["details"] = error.details or {}
    body.update(error.extra)
    return body


# --- One renderer per family ------------------------------------------------------------------

def _llm(error: DomainError) -> dict:  # spec 000
    return {"status": "error", "error": _error_object(error)}


def _rag(error: DomainError) -> dict:  # spec 001
    return {"detail": str(error.message), "error_code": error.code, "timestamp": _now(), **error.extra}


def _tasks(error: DomainError) -> dict:  # spec 002
    return {"success": False, "error": _error_object(error, always_details=True), "timestamp": _now()}


# Spec 004 §4.2 names its own codes for what the platform says generically.
GUI_CODES = {"UNAUTHORIZED": "AUTH003", "RATE_LIMIT_EXCEEDED": "SYS001", "INTERNAL_SERVER_ERROR": "SYS999",
             "SERVICE_UNAVAILABLE": "SYS002", "BAD_REQUEST": "VAL001", "PAYLOAD_TOO_LARGE": "VAL001",
             "UNSUPPORTED_MEDIA_TYPE": "VAL001", "VALIDATION_ERROR": "VAL001"}


def _gui(error: DomainError) -> dict:  # spec 004's ApiResponse<T>
    body = _error_object(error)
    body["code"] = GUI_CODES.get(body["code"], body["code"])
    return {"success": False, "error": body, "timestamp": _now()}


def _review(error: DomainError) -> dict:  # spec 003
    return {"error": _error_object(error)}


# --- Their shapes, for the OpenAPI document ---------------------------------------------------

class ErrorDetail(BaseModel):
    code: str = Field(examples=["USER_NOT_FOUND"])
    message: str
    details: dict | None = None
    retry_after: int = Field(default=None, description="Seconds to wait; only with RATE_LIMIT_EXCEEDED")


class ErrorResponse(BaseModel):
    """Spec 000's error envelope."""

    status: Literal["error"]
    error: ErrorDetail


class RagErrorResponse(BaseModel):
    detail: str
    error_code: str
    timestamp: str


class TaskErrorDetail(BaseModel):
    code: str
    message: str
    details: dict | str = Field(description="What exactly was wrong: a sentence (\"Task with id 'x' does not "
                                            "exist\") or the fields that failed validation")


class TaskErrorResponse(BaseModel):
    success: Literal[False]
    error: TaskErrorDetail
    timestamp: str


class GuiErrorResponse(BaseModel):
    success: Literal[False]
    error: ErrorDetail
    timestamp: str


class ReviewErrorResponse(BaseModel):
    error: ErrorDetail


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    space: tuple[str, ...]  # URL prefixes it owns, for requests no route matched
    render: Callable[[DomainError], dict]
    error_model: type[BaseModel]
    invalid_request_code: str  # the spec's code for a malformed query or body
    validation_status: int = 400  # spec 002 answers a body or query that fails validation with 422 ...
    malformed_code: str | None = None  # ... and one that is not JSON at all with 400 and this code
    # A missing or invalid credential: 401 with UNAUTHORIZED, unless the spec says otherwise (spec
    # 003 answers 403 for a bad x-api-key): (status, code, message).
    refused: tuple[int, str, str] | None = None


LLM = Family("llm", "LLM settings (spec 000)", ("/v1/", "/config/"), _llm, ErrorResponse, "INVALID_REQUEST")
RAG = Family("rag", "RAG chatbot (spec 001)", ("/api/v1/",), _rag, RagErrorResponse, "VALIDATION_ERROR")
TASKS = Family("tasks", "Agent tasks (spec 002)", ("/api/v1/tasks",), _tasks, TaskErrorResponse, "VALIDATION_ERROR",
               validation_status=422, malformed_code="BAD_REQUEST")
GUI = Family("gui", "Agent workspace (spec 004)", ("/api/",), _gui, GuiErrorResponse, "VAL001",
             refused=(401, "AUTH003", "Send a valid access token: Authorization: Bearer <accessToken> from "
                                      "POST /api/auth/login."))
REVIEW = Family("review", "Code review (spec 003)", ("/usagekey", "/codereview"), _review, ReviewErrorResponse,
                "INVALID_REQUEST", refused=(403, "INVALID_API_KEY", "Send a valid usage key in the x-api-key header: "
                                            "this one is missing, unknown, not approved yet, revoked or expired."))
FAMILIES = (LLM, RAG, TASKS, GUI, REVIEW)

# Longest prefix first: /api/v1/tasks belongs to spec 002 before /api/v1 claims it for 001.
_FALLBACK = sorted(((prefix, family) for family in FAMILIES for prefix in family.space), key=lambda p: -len(p[0]))


def family_by_space(path: str) -> Family | None:
    """The family whose URL space holds `path`, or None for the HTML dashboard."""
    for prefix, family in _FALLBACK:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            return family
    return None
