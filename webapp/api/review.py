"""Spec 003: ask for a usage key (POST /usagekey) and have code reviewed with it (POST /codereview).
Bare JSON as the spec shows it; errors as {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

import base64
import binascii
import re

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from webapp.api.credentials import USAGE_KEY
from webapp.errors import BadRequest, QuotaExceeded
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.credentials import PUBLIC
from webapp.machine.declarations import Reply, body_limit, operation, requires
from webapp.machine.families import REVIEW
from webapp.machine.inputs import asked_language, parse_body
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip
from webapp.review import engine, languages
from webapp.usage import service as usage
from webapp.usage_keys import service as usage_keys

MAX_SOURCE_BYTES = 1024 * 1024  # decoded
BODY_LIMIT = 3 * 1024 * 1024  # room for 1 MB as base64 and JSON escapes; more than this is a 413
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")
TAGS = ("Code review (spec 003)",)

requests_bp = MachineBlueprint("api_usage_keys", __name__, family=REVIEW, credentials=[PUBLIC],
                               anonymous_limits="USAGE_KEY_REQUEST_LIMIT")
reviews_bp = MachineBlueprint("api_review", __name__, family=REVIEW, credentials=[USAGE_KEY],
                              rate_limits="REVIEW_RATE_LIMITS")


class UsageKeyRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str = Field(min_length=1, max_length=100, examples=["Tom Hanks"])
    email: str = Field(min_length=3, max_length=254, examples=["tomtom@example.com"])


class UsageKeyStatus(BaseModel):
    status: str = Field(description="PENDING: waiting for an administrator; CREATED: a key was issued already "
                                    "(ask an administrator)", examples=["PENDING"])


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source_base64: str = Field(min_length=1, description="The source code, Base64-encoded (at most 1 MB decoded)")
    language: str = Field(min_length=1, max_length=40, examples=["TypeScript"],
                          description=f"One of: {languages.supported_titles()} (any case; py, ts, js, golang too)")


class ReviewPoint(BaseModel):
    location: str = Field(description="The enclosing function or type (or the name at fault)")
    codeline: int = Field(description="The line of the submitted source, from 1")
    category: str = Field(description="A category of rules.json")
    overview: str
    details: str
    suggestion: str
    rule: str = Field(description="The rules.json rule that found it")


class ReviewResponse(BaseModel):
    review_result: str = Field(description="OK: nothing found; NG: see review_points", examples=["NG"])
    review_points: list[ReviewPoint] | None = Field(default=None, description="Only when review_result is NG")
    notes: list[str] | None = Field(default=None, description="Passes that could not run (the review is still valid)")


@requests_bp.post("/usagekey")
@requires()
@operation("Ask an administrator for a code review key", "requestUsageKey", body=UsageKeyRequest, tags=TAGS,
           responses={200: Reply("Asked (PENDING) or already issued (CREATED)", UsageKeyStatus)},
           errors={400: "INVALID_REQUEST: username or email missing or not valid"})
def request_usage_key():
    data = parse_body(UsageKeyRequest, 'Expected {"username": "...", "email": "..."}.')
    current_call().target = f"usage key for {data.email[:200]}"
    return jsonify(status=usage_keys.request_key(data.username, data.email, locale=asked_language(),
                                                 ip=client_ip()))


@reviews_bp.post("/codereview")
@requires()
@body_limit(BODY_LIMIT)
@operation("Review source code against rules.json", "codeReview", body=ReviewRequest, tags=TAGS,
           responses={200: Reply("The review", ReviewResponse)},
           errors={400: "INVALID_REQUEST: source_base64 missing, empty, not Base64, not UTF-8 text or over 1 MB "
                        "decoded; or an unsupported language",
                   429: "QUOTA_EXCEEDED: the key's reviews for today are used up (Retry-After: until 00:00 UTC)"})
def code_review():
    data = parse_body(ReviewRequest, 'Expected {"source_base64": "...", "language": "Python"}.')
    language = languages.find(data.language)
    if language is None:
        raise BadRequest(f"language: '{data.language[:40]}' is not supported. Use one of: "
                         f"{languages.supported_titles()}.", code="UNSUPPORTED_LANGUAGE",
                         details={"field": "language"})
    source = _decode(data.source_base64)
    principal = current_call().principal
    quota, key_locale = usage.key_terms(principal.token_id)
    if usage.take_review(principal.token_id, quota) is None:
        wait = usage.seconds_until_tomorrow()
        raise QuotaExceeded(f"This key's {quota} reviews for today are used up. More from 00:00 UTC.",
                            headers={"Retry-After": str(wait)}, details={"daily_quota": quota})
    try:
        result = engine.review(source, language, locale=asked_language(key_locale))
    except BaseException:
        usage.give_back(principal.token_id)
        raise
    usage.record("review", token_id=principal.token_id, language=language.key, lines=result.lines,
                 findings=len(result.points), model=result.model, tokens_in=result.tokens_in,
                 tokens_out=result.tokens_out, latency_ms=result.latency_ms)
    return jsonify(result.as_spec())


def _decode(encoded: str) -> str:
    compact = re.sub(r"\s+", "", encoded).encode("ascii", "replace")
    if not compact:
        raise BadRequest("source_base64 is empty: send the source code, Base64-encoded.", code="INVALID_REQUEST",
                         details={"field": "source_base64"})
    if _NOT_BASE64.search(compact) or len(compact.rstrip(b"=")) % 4 == 1:
        raise BadRequest("source_base64 is not valid Base64 (standard alphabet A-Z a-z 0-9 + /, '=' padding).",
                         code="INVALID_REQUEST", details={"field": "source_base64"})
    if len(compact) // 4 * 3 > MAX_SOURCE_BYTES + 3:
        raise _too_large()
    try:
        raw = base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("source_base64 is not valid Base64 (standard alphabet A-Z a-z 0-9 + /, '=' padding).",
                         code="INVALID_REQUEST", details={"field": "source_base64"}) from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise _too_large()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("source_base64 does not decode to UTF-8 text; send the source file as UTF-8.",
                         code="INVALID_REQUEST", details={"field": "source_base64"}) from None
    if "\x00" in text:
        raise BadRequest("The source contains NUL characters; send a text file.", code="INVALID_REQUEST",
                         details={"field": "source_base64"})
    if not text.strip():
        raise BadRequest("The source is empty after decoding: there is nothing to review.", code="INVALID_REQUEST",
                         details={"field": "source_base64"})
    return text


def _too_large() -> BadRequest:
    return BadRequest(f"The source is larger than {MAX_SOURCE_BYTES // 1024} KB decoded; review it in parts.",
                      code="SOURCE_TOO_LARGE", details={"field": "source_base64", "max_bytes": MAX_SOURCE_BYTES})
