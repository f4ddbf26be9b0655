"""What every machine call leaves behind: metrics, an audit row, one JSON access-log line, and
for errors spec 000 §11.2's JSON error line (with the stack trace of a 500, secrets redacted)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from flask import g, request

from webapp.db.base import utcnow
from webapp.errors import DomainError
from webapp.logs import redact
from webapp.machine import metrics
from webapp.machine.families import Family
from webapp.machine.registry import registry
from webapp.principal import ANONYMOUS, Principal
from webapp.remote_addr import client_ip

access_log = logging.getLogger("agentdesk.access")
error_log = logging.getLogger("agentdesk.api_errors")


@dataclass
class Call:
    """One machine request, kept in `g.machine_call` from the blueprint's first hook to its last."""

    started: float
    family: Family
    action: str
    audited: bool
    principal: Principal = ANONYMOUS
    target: str = ""  # set by the view once its input is valid
    log_fields: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    rate_headers: dict = field(default_factory=dict)
    error: DomainError | None = None
    stack_trace: str | None = None


def current_call() -> Call | None:
    return g.get("machine_call")


def failed(call: Call, error: DomainError, stack_trace: str | None = None) -> None:
    call.error = error
    call.stack_trace = redact(stack_trace) if stack_trace else None


def finish(call: Call, response):
    """Headers, metrics, audit row and log lines for the finished call."""
    if call.rate_headers:
        response.headers.update({k: v for k, v in call.rate_headers.items() if k not in response.headers})
    elapsed = time.perf_counter() - call.started
    latency_ms = round(elapsed * 1000)
    status = response.status_code
    error = call.error
    metrics.observe(call.action, request.method, status, elapsed, error.code if error else None)
    principal, ip = call.principal, client_ip()
    record_call = registry().record_call
    if call.audited and record_call is not None:
        record_call(
            call.action, ip=ip, actor_label=principal.label, actor_token_id=principal.token_id,
            actor_user_id=principal.user_id if principal.kind == "user" else None, target=call.target,
            outcome="success" if status < 400 else "failure", status_code=status, latency_ms=latency_ms,
            details={"method": request.method, **call.details})
    timestamp = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    access_log.info(json.dumps({
        "timestamp": timestamp, "method": request.method, "path": request.path, "status": status,
        "response_time_ms": latency_ms, "user_agent": request.headers.get("User-Agent", ""), "ip_address": ip,
    }, ensure_ascii=False))
    if error is not None:
        server_side = status >= 500
        line = {"timestamp": timestamp, "level": "ERROR" if server_side else "WARNING",
                "message": str(error.message), "error_code": error.code, **call.log_fields, "path": request.path}
        if call.stack_trace:
            line["stack_trace"] = call.stack_trace
        error_log.log(logging.ERROR if server_side else logging.WARNING, json.dumps(line, ensure_ascii=False))
    return response
