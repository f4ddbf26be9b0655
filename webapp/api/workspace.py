"""Spec 004's REST API (the agent workspace): sign-in with spec 004's names, sessions, history
search, settings. Every answer is its ApiResponse<T> envelope ({success, data | error, timestamp});
errors carry §4.2's codes. Limits per §5: 1000 an hour per person, 100 an hour per address before
signing in, each answer with X-RateLimit-Limit / -Remaining / -Reset."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, create_model

from webapp.access_tokens import service as jwt_tokens
from webapp.accounts import service as accounts
from webapp.errors import AuthenticationFailed, BadRequest, DomainError, Forbidden
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.credentials import PUBLIC, BearerToken
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import GUI
from webapp.machine.inputs import parse_body, parse_query
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip
from webapp.workspace import runner, service
from webapp.workspace import settings as workspace_settings

TAGS = ("Agent workspace (spec 004)",)


def _signed_in(raw: str, kinds: frozenset):
    """A person's access token; an expired one is AUTH002, anything else not valid AUTH003."""
    principal = jwt_tokens.authenticate(raw)
    if principal is None and jwt_tokens.expired(raw):
        raise AuthenticationFailed(_l("The access token has expired: refresh it (POST /api/auth/refresh) or sign "
                                      "in again."), code="AUTH002")
    return principal


PERSON_JWT = BearerToken(_signed_in, "personal")
public = MachineBlueprint("api_workspace_auth", __name__, family=GUI, credentials=[PUBLIC],
                          anonymous_limits="WORKSPACE_ANONYMOUS_LIMITS", audit=False)
bp = MachineBlueprint("api_workspace", __name__, family=GUI, credentials=[PERSON_JWT],
                      rate_limits="WORKSPACE_RATE_LIMITS")


def _ok(data: Any, status: int = 200):
    response = jsonify({"success": True, "data": data, "timestamp": _iso(datetime.now(timezone.utc))})
    response.status_code = status
    return response


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(name: str, model) -> type[BaseModel]:
    return create_model(name, success=(bool, ...), data=(model, ...), timestamp=(str, ...))


def _person():
    user = accounts.find_user(current_call().principal.user_id)
    if user is None or not user.active:
        raise Forbidden(_l("Sign in as a person (POST /api/auth/login)."), code="AUTH003")
    return user


# --- Shapes ----------------------------------------------------------------------------------

class LoginDto(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str = Field(min_length=1, max_length=320, description="The username or the e-mail address")
    password: str = Field(max_length=accounts.PASSWORD_MAX)


class RefreshDto(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refreshToken: str = Field(min_length=1, max_length=4000)  # noqa: N815 (spec 004's spelling)


class LoginUser(BaseModel):
    id: str
    username: str | None
    email: str | None


class LoginResponse(BaseModel):
    accessToken: str  # noqa: N815
    refreshToken: str  # noqa: N815
    expiresIn: int  # noqa: N815
    user: LoginUser


class RefreshResponse(BaseModel):
    accessToken: str  # noqa: N815
    expiresIn: int  # noqa: N815


class Session(BaseModel):
    id: str
    title: str
    createdAt: str  # noqa: N815
    updatedAt: str  # noqa: N815
    status: Literal["active", "closed"]
    messageCount: int  # noqa: N815


class PaginationInfo(BaseModel):
    page: int
    limit: int
    total: int
    totalPages: int  # noqa: N815
    hasNext: bool  # noqa: N815
    hasPrevious: bool  # noqa: N815


class SessionList(BaseModel):
    sessions: list[Session]
    pagination: PaginationInfo


class ChatMessage(BaseModel):
    id: str
    sessionId: str  # noqa: N815
    role: Literal["user", "assistant", "system"]
    content: str
    format: str = Field(description="text, markdown or code; agent output is ansi (its colours kept for replay)")
    metadata: dict | None = None
    timestamp: str


class SessionDetail(BaseModel):
    id: str
    title: str
    status: Literal["active", "closed"]
    messages: list[ChatMessage]
    metadata: dict
    createdAt: str  # noqa: N815
    updatedAt: str  # noqa: N815


class SessionsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=20, ge=1, le=100)
    status: Literal["active", "closed"] | None = None


class CreateSessionDto(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str | None = Field(default=None, max_length=service.MAX_TITLE)
    workspace: str | None = Field(default=None, max_length=service.MAX_WORKSPACE)
    metadata: dict[str, Any] | None = None


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    q: str = Field(min_length=1, max_length=200)
    sessionId: str | None = Field(default=None, max_length=100)  # noqa: N815
    startDate: datetime | None = None  # noqa: N815
    endDate: datetime | None = None  # noqa: N815
    page: int = Field(default=1, ge=1, le=10_000)
    limit: int = Field(default=20, ge=1, le=100)


class SearchResult(BaseModel):
    messageId: str  # noqa: N815
    sessionId: str  # noqa: N815
    content: str
    highlight: str = Field(description="HTML: an excerpt, escaped, with the matching words in <mark>")
    timestamp: str
    score: float


class Facet(BaseModel):
    id: str
    count: int


class DateFacet(BaseModel):
    date: str
    count: int


class Facets(BaseModel):
    sessions: list[Facet]
    dates: list[DateFacet]


class SearchResponse(BaseModel):
    results: list[SearchResult]
    pagination: PaginationInfo
    facets: Facets


class AgentSettings(BaseModel):
    trustAllTools: bool  # noqa: N815
    timeout: int = Field(description="Seconds an agent may work on one message")
    model: str
    agent: str = Field(description="Our addition: which agent runs the person's sessions (\"\" the server's, "
                                   "\"builtin\", or a name from the server's AGENT_CHOICES)")


class Settings(BaseModel):
    theme: Literal["light", "dark"]
    fontSize: int  # noqa: N815
    enableSounds: bool  # noqa: N815
    autoSave: bool  # noqa: N815
    amazonQSettings: AgentSettings  # noqa: N815


class SettingsUpdate(BaseModel):
    """Partial<SettingsResponse>: only the fields sent change."""

    model_config = ConfigDict(extra="allow")
    theme: Literal["light", "dark"] | None = None


class DeletedSession(BaseModel):
    id: str


SETTINGS_ENVELOPE = _envelope("SettingsEnvelope", Settings)


def _pagination(page: int, limit: int, total: int) -> dict:
    pages = -(-total // limit) if total else 0
    return {"page": page, "limit": limit, "total": total, "totalPages": pages, "hasNext": page < pages,
            "hasPrevious": page > 1}


def _session(session, count: int) -> dict:
    return {"id": str(session.id), "title": session.title, "createdAt": _iso(session.created_at),
            "updatedAt": _iso(session.updated_at), "status": session.status, "messageCount": count}


def _message(message) -> dict:
    return {"id": str(message.uid) if message.uid else str(message.id), "sessionId": str(message.session_id),
            "role": message.role, "content": message.content, "format": message.format,
            "metadata": message.meta or None, "timestamp": _iso(message.created_at)}


# --- Sign-in ---------------------------------------------------------------------------------

@public.post("/api/auth/login")
@operation("Sign in (spec 004): an hour's access token and a refresh token", "workspaceLogin", body=LoginDto,
           tags=TAGS, responses={200: Reply("Tokens and the account", _envelope("LoginEnvelope", LoginResponse))},
           errors={400: "VAL001: the body is not {username, password}", 401: "AUTH001: wrong name or password",
                   429: "SYS001: 100 an hour per address"})
def login():
    data = parse_body(LoginDto, 'Expected {"username": "...", "password": "..."}.')
    try:
        user = accounts.authenticate(login=data.username, password=data.password, ip=client_ip())
    except DomainError as error:  # wrong name or password, or a deactivated account
        raise AuthenticationFailed(error.message, code="AUTH001") from None
    issued = jwt_tokens.issue(user, ip=client_ip(), access_seconds=current_app.config["WORKSPACE_ACCESS_SECONDS"])
    current_call().target = user.email or user.label
    return _ok({"accessToken": issued.access_token, "refreshToken": issued.refresh_token,
                "expiresIn": issued.expires_in, "user": {"id": str(user.id), "username": user.username,
                                                         "email": user.email}})


@public.post("/api/auth/refresh")
@operation("A new access token for a refresh token (which stays valid for its 7 days)", "workspaceRefresh",
           body=RefreshDto, tags=TAGS,
           responses={200: Reply("A new access token", _envelope("RefreshEnvelope", RefreshResponse))},
           errors={400: "VAL001: the body is not {refreshToken}",
                   401: "AUTH003: the refresh token is invalid, expired, or from before a sign-out"})
def refresh():
    data = parse_body(RefreshDto, 'Expected {"refreshToken": "..."}.')
    try:
        token, seconds = jwt_tokens.renew(data.refreshToken,
                                          access_seconds=current_app.config["WORKSPACE_ACCESS_SECONDS"])
    except AuthenticationFailed as error:
        raise AuthenticationFailed(error.message, code="AUTH003") from None
    return _ok({"accessToken": token, "expiresIn": seconds})


# --- Sessions --------------------------------------------------------------------------------

@bp.get("/api/sessions")
@requires()
@operation("Your sessions, most recently active first", "listSessions", query=SessionsQuery, tags=TAGS,
           responses={200: Reply("A page of sessions", _envelope("SessionListEnvelope", SessionList))},
           errors={400: "VAL001: page, limit or status out of range"})
def list_sessions():
    query = parse_query(SessionsQuery)
    found = service.list_sessions(_person(), page=query.page, limit=query.limit, status=query.status)
    return _ok({"sessions": [_session(session, count) for session, count in found.sessions],
                "pagination": _pagination(found.page, found.limit, found.total)})


@bp.post("/api/sessions")
@requires()
@operation("Start a session", "createSession", body=CreateSessionDto, tags=TAGS,
           responses={201: Reply("The new session", _envelope("SessionEnvelope", Session))},
           errors={400: "VAL001: a title, workspace or metadata out of bounds",
                   409: "SESSION003: too many open sessions (WORKSPACE_MAX_ACTIVE_SESSIONS)"})
def create_session():
    data = parse_body(CreateSessionDto, 'Expected {"title"?, "workspace"?, "metadata"?}.')
    session = service.create_session(_person(), title=data.title, workspace=data.workspace, metadata=data.metadata)
    current_call().target = f"session {session.id}"
    return _ok(_session(session, 0), 201)


@bp.get("/api/sessions/<session_id>")
@requires()
@operation("A session and its transcript (the newest 2,000 messages)", "getSession", tags=TAGS,
           responses={200: Reply("The session", _envelope("SessionDetailEnvelope", SessionDetail))},
           errors={404: "SESSION001: no such session of yours"})
def get_session(session_id: str):
    session, messages = service.session_detail(_person(), session_id)
    meta = session.meta or {}
    return _ok({"id": str(session.id), "title": session.title, "status": session.status,
                "messages": [_message(m) for m in messages],
                "metadata": {k: v for k, v in (("workspace", meta.get("workspace")), ("tags", meta.get("tags")))
                             if v is not None},
                "createdAt": _iso(session.created_at), "updatedAt": _iso(session.updated_at)})


@bp.delete("/api/sessions/<session_id>")
@requires()
@operation("Delete a session and its transcript", "deleteSession", tags=TAGS,
           responses={200: Reply("Deleted", _envelope("DeletedSessionEnvelope", DeletedSession))},
           errors={404: "SESSION001: no such session of yours"})
def delete_session(session_id: str):
    service.delete_session(_person(), session_id)
    runner.stop(service.parse_id(session_id))  # its agent too, when this worker runs it
    current_call().target = f"session {session_id[:40]}"
    return _ok({"id": session_id})


# --- History search --------------------------------------------------------------------------

@bp.get("/api/history/search")
@requires()
@operation("Search your sessions' messages (Japanese and English)", "searchHistory", query=SearchQuery, tags=TAGS,
           responses={200: Reply("Matches, best first, with facets", _envelope("SearchEnvelope", SearchResponse))},
           errors={400: "VAL001: q missing, dates not ISO 8601, or out of range",
                   404: "SESSION001: sessionId is not a session of yours"})
def search_history():
    query = parse_query(SearchQuery)
    if query.startDate and query.endDate and _aware(query.startDate) > _aware(query.endDate):
        raise BadRequest(_l("startDate is after endDate."), code="VAL001", details={"field": "startDate"})
    found = service.search(_person(), query.q, session_id=query.sessionId, start=_aware(query.startDate),
                           end=_aware(query.endDate), page=query.page, limit=query.limit)
    return _ok({"results": [{"messageId": hit.message_id, "sessionId": hit.session_id, "content": hit.content,
                             "highlight": hit.highlight, "timestamp": _iso(hit.timestamp), "score": hit.score}
                            for hit in found.hits],
                "pagination": _pagination(query.page, query.limit, found.total),
                "facets": {"sessions": [{"id": key, "count": n} for key, n in found.sessions],
                           "dates": [{"date": day, "count": n} for day, n in found.dates]}})


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


# --- Settings --------------------------------------------------------------------------------

@bp.get("/api/settings")
@requires()
@operation("Your workspace settings", "getSettings", tags=TAGS,
           responses={200: Reply("The settings", SETTINGS_ENVELOPE)})
def get_settings():
    return _ok(workspace_settings.settings_of(_person()))


@bp.put("/api/settings")
@requires()
@operation("Change some settings (the fields sent)", "updateSettings", body=SettingsUpdate, tags=TAGS,
           responses={200: Reply("The settings after the change", SETTINGS_ENVELOPE)},
           errors={400: "VAL001: an unknown field or a value out of range, named in details.field"})
def update_settings():
    # The service checks each field (and that there is an object at all): a partial update.
    return _ok(workspace_settings.update_settings(_person(), request.get_json(silent=True)))
