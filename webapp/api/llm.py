"""Spec 000: LLM settings for coding agents, plus the legacy /config path the deployed agent reads."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from pydantic import ValidationError

from webapp.accounts.identities import LOGIN_RE
from webapp.accounts.models import PLATFORMS
from webapp.api import machine
from webapp.api.machine import ApiError
from webapp.api.schemas import BatchRequest
from webapp.crypto import box, mask_secret
from webapp.extensions import csrf
from webapp.errors import DomainError
from webapp.llm_configs import agents
from webapp.llm_configs.resolve import llm_config_json, user_config_json

bp = Blueprint("api_llm", __name__)
csrf.exempt(bp)
bp.before_request(machine.authenticate("llm-config:read"))
bp.after_request(machine.finish)
bp.teardown_request(machine.close_connection)
bp.register_error_handler(ApiError, machine.error_response)
bp.register_error_handler(DomainError, machine.domain_error_response)

TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in TRUE | FALSE:
        return raw.lower() in TRUE
    raise ApiError(400, "INVALID_REQUEST", f"Query parameter '{name}' must be true or false.", {name: raw})


def _check(platform: str, username: str) -> None:
    if platform not in PLATFORMS:
        raise ApiError(400, "INVALID_PLATFORM", f"Platform '{platform}' is not supported; use github or gitlab.",
                       {"platform": platform})
    if not LOGIN_RE.match(username):
        raise ApiError(400, "INVALID_USERNAME", f"Username '{username}' is not a valid {platform} login.",
                       {"platform": platform, "username": username})


def _reveal(mask: bool):
    secret_box = box()

    def reveal(secret: str | None) -> str:
        if not secret:
            return ""
        plain = secret_box.decrypt(secret)
        return mask_secret(plain) if mask else plain

    return reveal


def _read(platform: str, username: str):
    _check(platform, username)
    return agents.read_one(g.api_call.principal, machine.connection(), platform, username)


@bp.route("/v1/users/<platform>/<username>/llm-config", methods=["GET", "HEAD"])
def get_llm_config(platform: str, username: str):
    include_prompt = _flag("include_system_prompt", True)
    mask = _flag("mask_api_key", False)
    found = _read(platform, username)
    if request.method == "HEAD":
        return "", 200
    data = user_config_json(found.platform, found.login, found.values, _reveal(mask),
                            include_system_prompt=include_prompt, created_at=found.created_at,
                            updated_at=found.updated_at)
    return jsonify({"status": "success", "data": data})


@bp.post("/v1/users/llm-configs/batch")
def batch_llm_configs():
    call = g.api_call
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "INVALID_REQUEST", "Send a JSON body: {\"users\": [{\"platform\", \"username\"}, ...]}.")
    try:
        batch = BatchRequest.model_validate(body)
    except ValidationError as error:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()]
        raise ApiError(400, "INVALID_REQUEST", "The request body failed validation (1 to 100 users, each with "
                       "platform and username).", {"errors": problems[:20]}) from None
    for index, ref in enumerate(batch.users):
        try:
            _check(ref.platform, ref.username)
        except ApiError as error:
            error.details = {**(error.details or {}), "index": index}
            raise
    reveal = _reveal(_flag("mask_api_key", False))
    result = agents.read_many(call.principal, machine.connection(), [(u.platform, u.username) for u in batch.users])
    configs = [user_config_json(item.platform, item.login, item.values, reveal,
                                include_system_prompt=batch.include_system_prompt, created_at=item.created_at,
                                updated_at=item.updated_at) for item in result.found]
    call.target = f"{result.distinct} users"
    return jsonify({"status": "success", "data": {"configs": configs, "not_found": result.not_found}})


@bp.get("/config/<platform>/<username>")
def legacy_config(platform: str, username: str):
    """The shape the deployed coding agent already reads (specs/README.md)."""
    values = _read(platform, username).values
    return jsonify({"status": "success", "data": {
        "llm": llm_config_json(values, _reveal(_flag("mask_api_key", False))),
        "system_prompt": values["system_prompt"] or "",
        "max_llm_process_num": values["max_llm_process_num"],
    }})


