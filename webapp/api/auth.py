"""Sign-in for API clients: spec 001 §3.1 (register, login, me) and spec 002's login, one URL for
both (`{email, password}` or `{username, password}`; the answer carries both specs' fields), plus
token refresh. Spec 001's error shape, or spec 002's for a spec 002 login."""

from __future__ import annotations

from flask import current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field, model_validator

from webapp.access_tokens import service as jwt_tokens
from webapp.accounts import service as accounts
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.errors import AuthenticationFailed, DomainError, Forbidden, NotFound, ValidationFailed
from webapp.machine.blueprint import MachineBlueprint, use_family
from webapp.machine.credentials import PUBLIC
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import RAG, TASKS
from webapp.machine.inputs import parse_body
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip

TAGS = ("Authentication",)
BAD_BODY = "VALIDATION_ERROR: the body is not JSON"
# Sign-in, registration and refresh: 10 a minute per address (spec 001 §6), no credential needed.
public = MachineBlueprint("api_auth", __name__, family=RAG, credentials=[PUBLIC], anonymous_limits="AUTH_RATE_LIMIT",
                          audit=False)  # the account service audits sign-ins and registrations itself
signed_in = MachineBlueprint("api_auth_me", __name__, family=RAG, credentials=[PERSON_OR_AGENT],
                             rate_limits="API_RATE_LIMITS")


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=320)
    username: str = Field(max_length=100)
    password: str = Field(max_length=accounts.PASSWORD_MAX)
    tenant_name: str | None = Field(default=None, max_length=200)
    tenant_domain: str | None = Field(default=None, max_length=255)


class LoginRequest(BaseModel):
    """Spec 001 sends `email`, spec 002 `username`; either names the account (e-mail or username)."""

    # Documented as "email or username, not null": the schema says what the validator checks.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [{"required": ["email"]},
                                                                           {"required": ["username"]}]})
    email: str = Field(default=None, min_length=1, max_length=320)
    username: str = Field(default=None, min_length=1, max_length=320)
    password: str = Field(max_length=accounts.PASSWORD_MAX)

    @model_validator(mode="after")
    def _names_someone(self):
        if not (self.email or self.username):
            raise ValueError("send `email` (or `username`) and `password`")
        return self


class RefreshRequest(BaseModel):
    """`refresh_token` (spec 001's name) or `refreshToken` (spec 002's)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [{"required": ["refresh_token"]},
                                                                           {"required": ["refreshToken"]}]})
    refresh_token: str = Field(default=None, min_length=1, max_length=4000)
    refreshToken: str = Field(default=None, min_length=1, max_length=4000)  # noqa: N815 (spec 002's spelling)

    @model_validator(mode="after")
    def _has_a_token(self):
        if not (self.refresh_token or self.refreshToken):
            raise ValueError("send `refresh_token`")
        return self


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    token: str = Field(description="spec 002's name for access_token")
    refreshToken: str = Field(description="spec 002's name for refresh_token")  # noqa: N815
    expiresIn: int = Field(description="spec 002's name for expires_in")  # noqa: N815


class UserResponse(BaseModel):
    id: str
    email: str | None
    username: str | None
    tenant_id: str
    role: str


class MeResponse(UserResponse):
    is_active: bool
    is_verified: bool


def _tokens(issued: jwt_tokens.Issued):
    return jsonify({"access_token": issued.access_token, "refresh_token": issued.refresh_token,
                    "token_type": "bearer", "expires_in": issued.expires_in, "token": issued.access_token,
                    "refreshToken": issued.refresh_token, "expiresIn": issued.expires_in})


def _user_json(user) -> dict:
    return {"id": str(user.id), "email": user.email, "username": user.username, "tenant_id": str(user.tenant_id),
            "role": user.role}


@public.post("/api/v1/auth/register")
@operation("Create an account (spec 001)", "register", body=RegisterRequest, tags=TAGS,
           responses={201: Reply("The new account", UserResponse)},
           errors={400: BAD_BODY, 403: "PERMISSION_DENIED: registration is closed",
                   409: "CONFLICT: e-mail or username taken", 422: "VALIDATION_ERROR"})
def register():
    data = parse_body(RegisterRequest, 'Expected {"email", "username", "password"}.')
    if not current_app.config["REGISTRATION_OPEN"]:
        raise Forbidden("Registration is closed on this instance. Ask an administrator for an account.",
                        code="PERMISSION_DENIED")
    try:
        user = accounts.register_local(email=data.email, username=data.username, password=data.password,
                                         tenant_name=data.tenant_name, tenant_domain=data.tenant_domain,
                                         ip=client_ip())
    except ValidationFailed as error:
        raise ValidationFailed(error.message, details={"field": error.field} if error.field else None) from None
    current_call().target = user.email
    response = jsonify(_user_json(user))
    response.status_code = 201
    return response


@public.post("/api/v1/auth/login")
@operation("Sign in: access and refresh tokens (specs 001, 002, 004)", "login", body=LoginRequest, tags=TAGS,
           also_families=(TASKS,),
           responses={200: Reply("Tokens, under both specs' names", TokenResponse)},
           errors={400: BAD_BODY, 401: "INVALID_CREDENTIALS", 403: "PERMISSION_DENIED: the account is deactivated",
                   422: "VALIDATION_ERROR"})
def login():
    raw = parse_body(LoginRequest, 'Expected {"email" or "username", "password"}.')
    if raw.username and not raw.email:
        use_family(TASKS)  # a spec 002 client: its error shape
    try:
        user = accounts.authenticate(login=raw.email or raw.username, password=raw.password, ip=client_ip())
    except AuthenticationFailed as error:
        raise AuthenticationFailed(error.message, code="INVALID_CREDENTIALS") from None
    except DomainError as error:  # deactivated
        raise type(error)(error.message, code="PERMISSION_DENIED") from None
    return _tokens(jwt_tokens.issue(user, ip=client_ip()))


@public.post("/api/v1/auth/refresh")
@operation("Trade a refresh token for new tokens (the old one is spent)", "refreshToken", body=RefreshRequest,
           tags=TAGS, also_families=(TASKS,), responses={200: Reply("Tokens, under both specs' names", TokenResponse)},
           errors={400: BAD_BODY, 401: "AUTHENTICATION_ERROR: invalid, expired or already used (which ends the sign-in)",
                   422: "VALIDATION_ERROR"})
def refresh():
    data = parse_body(RefreshRequest, 'Expected {"refresh_token": "..."}.')
    if data.refreshToken and not data.refresh_token:
        use_family(TASKS)
    try:
        return _tokens(jwt_tokens.refresh(data.refresh_token or data.refreshToken, ip=client_ip()))
    except AuthenticationFailed as error:
        raise AuthenticationFailed(error.message, code="AUTHENTICATION_ERROR") from None


@signed_in.get("/api/v1/auth/me")
@requires()
@operation("The account behind this credential (spec 001)", "me", tags=TAGS,
           responses={200: Reply("The account", MeResponse)},
           errors={404: "RESOURCE_NOT_FOUND: a service token that belongs to no one"})
def me():
    user = accounts.find_user(current_call().principal.user_id)
    if user is None:
        raise NotFound("This credential belongs to no user.", code="RESOURCE_NOT_FOUND")
    return jsonify({**_user_json(user), "is_active": user.active,
                    "is_verified": any(not identity.provisioned_only for identity in user.identities)})
