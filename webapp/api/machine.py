"""What every machine request goes through: bearer token, rate limits, audit, access log.

Used as a blueprint's before/after hooks; the view then only parses, calls a service and
shapes the family's envelope.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field

from flask import current_app, g, jsonify, request

from webapp import metrics
from webapp.api import ratelimit
from webapp.api.envelopes import error_body, family_for_path
from webapp.errors import DomainError
from webapp.extensions import db, limiter
from webapp.models_base import utcnow
from webapp.net import client_ip
from webapp.tokens import service as tokens

access_log = logging.getLogger("agentdesk.access")
error_log = logging.getLogger("agentdesk.api_errors")
MACHINE_PREFIXES = ("/v1/", "/config/")


def is_machine_request() -> bool:
    """Token-authenticated API calls: no cookie session, no browser-side rate limiter.

    Decided by path, because Flask opens the session before it matches the URL.
    """
    return request.path.startswith(MACHINE_PREFIXES)


class ApiError(Exception):
    """A machine-API failure with its spec code; rendered in the path's family envelope."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None, *,
                 headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers, self.extra = details, headers or {}, extra


def error_response(error: ApiError):
    call = g.get("api_call")
    if call is not None:
        call.error_code, call.error_message = error.code, error.message
    response = jsonify(error_body(family_for_path(request.path) or "llm", error.code, error.message,
                                  error.details, **error.extra))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def domain_error_response(error: DomainError):
    """A service's domain error (NotFound, Forbidden ...) in the family envelope, with its code."""
    return error_response(ApiError(error.status, error.code, str(error.message), error.details or None))


@dataclass
class Call:
    """Per-request state kept in `g.api_call`."""

    started: float
    action: str = ""
    target: str = ""
    principal: tokens.Principal | None = None
    rate_headers: dict = field(default_factory=dict)
    error_code: str | None = None
    error_message: str = ""


def _limits(app) -> tuple[ratelimit.FixedWindows, ratelimit.FixedWindows]:
    """(per token, per address for bad tokens), built once per app on its configured storage."""
    cached = app.extensions.get("agentdesk.api_limits")
    if cached is None:
        if app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            counters = ratelimit.LocalCounters()
        else:
            counters = ratelimit.SharedCounters(limiter.storage)
        cached = app.extensions["agentdesk.api_limits"] = (
            ratelimit.FixedWindows(counters, app.config["API_RATE_LIMITS"], "api-token"),
            ratelimit.FixedWindows(counters, app.config["API_INVALID_TOKEN_LIMIT"], "api-bad-token"),
        )
    return cached


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


UNAUTHORIZED = ("UNAUTHORIZED", "Invalid or missing API token")
SUFFIXES = {"minute": "", "hour": "-Hour", "day": "-Day", "second": "-Second"}


def authenticate(required_scope: str):
    """before_request hook factory: authenticate the bearer token and apply the rate limits."""

    def hook():
        args = request.view_args or {}
        g.api_call = call = Call(started=time.perf_counter(), action=f"api.{(request.endpoint or '').rpartition('.')[2]}",
                                 target=f"{args['platform']}:{args['username']}" if "username" in args else "")
        per_token, per_ip = _limits(current_app)
        try:
            principal = tokens.authenticate(_bearer(), connection(),
                                            current_app.extensions["audit_sink"].token_used)
            if principal is None:
                # Guessing is throttled per address; a valid token is never blocked by its neighbours.
                windows = per_ip.hit(client_ip())
                if not all(w.allowed for w in windows):
                    raise _too_many(windows)
                raise ApiError(401, *UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="agentdesk"'})
            call.principal = principal
            windows = per_token.hit(str(principal.token_id))
            if not all(w.allowed for w in windows):
                raise _too_many(windows)
            call.rate_headers = _headers(windows)
        except ApiError:
            raise
        except Exception as error:  # the counters' storage (Redis) is unreachable
            if not _is_storage_error(error):
                raise
            current_app.logger.error("rate-limit storage unavailable: %s", error.__class__.__name__)
            raise ApiError(503, "SERVICE_UNAVAILABLE",
                           "The rate-limit store is unreachable; try again shortly.") from None
        if required_scope not in principal.scopes:
            raise ApiError(403, "FORBIDDEN", f"This token lacks the '{required_scope}' scope.")

    return hook


@dataclass(frozen=True)
class RawConnection:
    """A pooled DBAPI connection and its dialect, for the prepared hot-path queries (webapp/hotsql.py)."""

    connection: object
    dialect: object


def connection() -> RawConnection:
    """This request's database connection, checked out of the pool once and returned at teardown."""
    if "api_connection" not in g:
        engine = db.engine
        g.api_connection = RawConnection(engine.raw_connection(), engine.dialect)
    return g.api_connection


def close_connection(_exc=None) -> None:
    conn = g.pop("api_connection", None)
    if conn is not None:
        conn.connection.close()  # back to the pool (rolled back there)


def _is_storage_error(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"ConnectionError", "TimeoutError", "RedisError", "StorageError", "ConfigurationError"})


def _headers(windows: list[ratelimit.Window]) -> dict:
    headers = {}
    for window in windows:
        suffix = SUFFIXES.get(window.limit.GRANULARITY.name, f"-{window.limit.GRANULARITY.name.title()}")
        headers[f"X-RateLimit-Limit{suffix}"] = str(window.limit.amount)
        headers[f"X-RateLimit-Remaining{suffix}"] = str(window.remaining)
        headers[f"X-RateLimit-Reset{suffix}"] = str(math.ceil(window.reset))
    return headers


def _too_many(windows: list[ratelimit.Window]) -> ApiError:
    """429 with the spec's body; retry_after is when the exhausted window starts over."""
    retry_after = ratelimit.FixedWindows.retry_after(windows)
    headers = {**_headers(windows), "Retry-After": str(retry_after)}
    return ApiError(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded. Please try again later.",
                    headers=headers, retry_after=retry_after)


def finish(response):
    """after_request hook: rate-limit headers, one audit row, one JSON access-log line."""
    call: Call | None = g.get("api_call")
    if call is None:
        return response
    response.headers.update({k: v for k, v in call.rate_headers.items() if k not in response.headers})
    elapsed = time.perf_counter() - call.started
    latency_ms = round(elapsed * 1000)
    metrics.observe(call.action, request.method, response.status_code, elapsed, call.error_code)
    principal = call.principal
    ip = client_ip()
    current_app.extensions["audit_sink"].write({
        "created_at": utcnow(), "actor_user_id": None, "actor_token_id": principal.token_id if principal else None,
        "actor_label": principal.label if principal else "anonymous", "action": call.action,
        "target": call.target[:320], "outcome": "success" if response.status_code < 400 else "failure",
        "ip_address": ip[:64], "status_code": response.status_code, "latency_ms": latency_ms,
        "details": {"method": request.method}})
    timestamp = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    access_log.info(json.dumps({
        "timestamp": timestamp, "method": request.method, "path": request.path,
        "status": response.status_code, "response_time_ms": latency_ms,
        "user_agent": request.headers.get("User-Agent", ""), "ip_address": ip,
    }, ensure_ascii=False))
    if call.error_code:
        # spec 000 §11.2's error log line; never a token or a key, only what the caller asked for.
        args = request.view_args or {}
        level = "ERROR" if response.status_code >= 500 else "WARNING"
        error_log.log(logging.ERROR if level == "ERROR" else logging.WARNING, json.dumps({
            "timestamp": timestamp, "level": level, "message": call.error_message, "error_code": call.error_code,
            "platform": args.get("platform"), "username": args.get("username"), "path": request.path,
        }, ensure_ascii=False))
    return response
