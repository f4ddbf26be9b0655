"""Spec 000: LLM settings for coding agents, plus the legacy /config path the deployed agent reads."""

from __future__ import annotations

from flask import jsonify
from pydantic import ValidationError

from webapp.accounts.logins import is_login
from webapp.accounts.models import PLATFORMS
from webapp.api.credentials import AGENT_TOKEN
from webapp.api.llm_schemas import (
    BatchRequest,
    BatchResponse,
    LegacyConfigResponse,
    LLMConfigQuery,
    LLMConfigResponse,
    MaskQuery,
    UserPath,
)
from webapp.db.crypto import box, mask_secret
from webapp.errors import BadRequest
from webapp.llm_configs import agents
from webapp.llm_configs.resolve import llm_config_json, user_config_json
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.declarations import Head, Reply, operation, requires
from webapp.machine.families import LLM
from webapp.machine.inputs import parse_body, parse_query
from webapp.machine.observe import current_call

bp = MachineBlueprint("api_llm", __name__, family=LLM, credentials=[AGENT_TOKEN],
                      rate_limits="API_RATE_LIMITS")


def _prefetch(args: dict):
    """The user's settings, fetched in the same statement as the token (webapp/db/prepared.py together())."""
    return agents.prefetch_one(args.get("platform", ""), args.get("username", ""))


READ_ERRORS = {
    400: "INVALID_PLATFORM, INVALID_USERNAME or INVALID_REQUEST",
    403: "FORBIDDEN: the user is deactivated",
    404: "USER_NOT_FOUND (to a personal token, everyone but its owner) or CONFIG_NOT_FOUND",
}


def _checked(platform: str, username: str) -> UserPath:
    """platform:username, or the spec's own code for what is wrong with it."""
    if platform in PLATFORMS and is_login(username):
        return UserPath.model_construct(platform=platform, username=username)  # valid: no model to validate
    try:
        return UserPath(platform=platform, username=username)
    except ValidationError as error:
        if any(e["loc"] == ("platform",) for e in error.errors()):
            raise BadRequest(f"Platform '{platform}' is not supported; use github or gitlab.",
                             code="INVALID_PLATFORM", details={"platform": platform}) from None
        raise BadRequest(f"Username '{username}' is not a valid {platform} login.", code="INVALID_USERNAME",
                         details={"platform": platform, "username": username}) from None


def _user(platform: str, username: str) -> UserPath:
    """The path's user, checked; only then is it the call's audit target. The error log line names
    what was asked for either way (spec 000 §11.2), JSON-encoded."""
    call = current_call()
    call.log_fields = {"platform": platform[:100], "username": username[:255]}
    user = _checked(platform, username)
    call.target = f"{platform}:{username}"
    return user


def _reveal(mask: bool):
    secret_box = box()

    def reveal(secret: str | None) -> str:
        if not secret:
            return ""
        plain = secret_box.decrypt(secret)
        return mask_secret(plain) if mask else plain

    return reveal


@bp.get("/v1/users/<platform>/<username>/llm-config")
@requires("llm-config:read")
@operation("A user's effective LLM settings", "getLlmConfig", path=UserPath, query=LLMConfigQuery,
           responses={200: Reply("The settings", LLMConfigResponse)}, errors=READ_ERRORS,
           head=Head("Do settings exist for this user?", "headLlmConfig", ok="Settings exist"), prefetch=_prefetch)
def get_llm_config(platform: str, username: str):
    user = _user(platform, username)
    query = parse_query(LLMConfigQuery)
    found = agents.read_one(current_call().principal, user.platform, user.username)
    data = user_config_json(found.platform, found.login, found.values, _reveal(query.mask_api_key),
                            include_system_prompt=query.include_system_prompt, created_at=found.created_at,
                            updated_at=found.updated_at)
    return jsonify({"status": "success", "data": data})


@bp.post("/v1/users/llm-configs/batch")
@requires("llm-config:read")
@operation("Settings of up to 100 users in one call", "batchLlmConfigs", query=MaskQuery, body=BatchRequest,
           responses={200: Reply("Settings found, and who has none", BatchResponse)},
           errors={400: "INVALID_PLATFORM, INVALID_USERNAME or INVALID_REQUEST (with the entry's index)"})
def batch_llm_configs():
    query = parse_query(MaskQuery)
    batch = parse_body(BatchRequest, "Expected {\"users\": [{\"platform\", \"username\"}, ...]} with 1 to 100 users.")
    for index, ref in enumerate(batch.users):
        try:
            _checked(ref.platform, ref.username)
        except BadRequest as error:
            error.details = {**error.details, "index": index}
            raise
    call = current_call()
    result = agents.read_many(call.principal, [(u.platform, u.username) for u in batch.users])
    call.target = f"{result.distinct} users"
    reveal = _reveal(query.mask_api_key)
    configs = [user_config_json(item.platform, item.login, item.values, reveal,
                                include_system_prompt=batch.include_system_prompt, created_at=item.created_at,
                                updated_at=item.updated_at) for item in result.found]
    return jsonify({"status": "success", "data": {"configs": configs, "not_found": result.not_found}})


@bp.get("/config/<platform>/<username>")
@requires("llm-config:read")
@operation("The shape the deployed coding agent reads", "getLegacyConfig", path=UserPath, query=MaskQuery,
           responses={200: Reply("The user's settings; the instance defaults for an unknown user or one without "
                                 "settings", LegacyConfigResponse)},
           errors={400: READ_ERRORS[400], 403: READ_ERRORS[403]}, prefetch=_prefetch)
def legacy_config(platform: str, username: str):
    """The shape the deployed coding agent already reads (specs/README.md)."""
    user = _user(platform, username)
    query = parse_query(MaskQuery)
    call = current_call()
    result = agents.read_legacy(call.principal, user.platform, user.username)
    if result.defaults_served:
        call.details["defaults_served"] = result.defaults_served
    values = result.found.values
    return jsonify({"status": "success", "data": {
        "llm": llm_config_json(values, _reveal(query.mask_api_key)),
        "system_prompt": values["system_prompt"] or "",
        "max_llm_process_num": values["max_llm_process_num"],
    }})
