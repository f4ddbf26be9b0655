"""What every machine call leaves behind: metrics, an audit row, one JSON access-log line, and
for errors spec 000 §11.2's JSON error line (with the stack trace of a 500, secrets redacted)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import orjson
from flask import g, request

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
    req = request._get_current_object()  # one context lookup, not one per attribute
    if call.rate_headers:
        response.headers.extend(call.rate_headers)  # no view sets these: appended, not searched for
    elapsed = time.perf_counter() - call.started
    latency_ms = round(elapsed * 1000)
    status, method, error = response.status_code, req.method, call.error
    metrics.observe(call.action, method, status, elapsed, error.code if error else None)
    principal, ip = call.principal, client_ip()
    machine = registry()
    try:
        if call.audited and principal.anonymous and status in (401, 429):
            machine.record_refused(call.action, ip=ip, status_code=status)
        elif call.audited:
            machine.record_call(
                call.action, ip=ip, actor_label=principal.label, actor_token_id=principal.token_id,
                actor_user_id=principal.user_id if principal.kind == "user" else None, target=call.target,
                outcome="success" if status < 400 else "failure", status_code=status, latency_ms=latency_ms,
                details={"method": method, **call.details, **({"error": error.code} if error else {})})
    except Exception as failure:  # the answer is ready: the audit trail must not turn it into a 500
        error_log.error(orjson.dumps({"timestamp": _timestamp(), "level": "ERROR", "error_code": "AUDIT_FAILED",
                                      "message": f"could not audit the call ({failure.__class__.__name__})",
                                      "path": req.path}).decode())
    timestamp = _timestamp()
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(orjson.dumps({
            "timestamp": timestamp, "method": method, "path": req.path, "status": status,
            "response_time_ms": latency_ms, "user_agent": req.headers.get("User-Agent", ""), "ip_address": ip,
        }).decode())
    if error is not None:
        server_side = status >= 500
        line = {"timestamp": timestamp, "level": "ERROR" if server_side else "WARNING",
                "message": str(error.message), "error_code": error.code, **call.log_fields, "path": req.path}
        if call.stack_trace:
            line["stack_trace"] = call.stack_trace
        error_log.log(logging.ERROR if server_side else logging.WARNING, json.dumps(line, ensure_ascii=False))
    return response


_stamp: tuple[int, str] = (0, "")


def _timestamp() -> str:
    """ISO 8601 UTC to the second, formatted once a second."""
    global _stamp
    now = int(time.time())
    if _stamp[0] != now:
        _stamp = (now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    return _stamp[1]
