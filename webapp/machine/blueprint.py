"""MachineBlueprint: a JSON API family's blueprint with the whole request pipeline attached once.

    bp = MachineBlueprint("api_llm", __name__, family=LLM, credentials=[BearerToken("service", "personal")],
                          rate_limits="API_RATE_LIMITS")

    @bp.get("/v1/users/<platform>/<username>/llm-config")
    @requires("llm-config:read")
    @operation("A user's effective LLM settings", "getLlmConfig", responses={200: Reply("The settings", Model)})
    def get_llm_config(platform, username): ...

Before the view: the family goes on `g` (so every error, the framework's included, is rendered in
its envelope), the body limit is applied, a credential is verified into a Principal, the caller's
rate limits are counted, and the view's declared scopes are checked. After it: rate-limit
headers, metrics, the audit row, the access-log line (webapp/machine/observe.py).
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Callable

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from webapp.db.read_cache import ReadCache
from webapp.db.session import unavailable
from webapp.errors import AuthenticationFailed, DomainError, Forbidden, RateLimited, Unavailable
from webapp.extensions import csrf
from webapp.machine import observe
from webapp.machine.credentials import Credential, authenticate
from webapp.machine.declarations import Declaration
from webapp.machine.families import GENERIC, GUI, Family, database_busy, from_http, internal_error
from webapp.machine.ratelimit import STORAGE_ERRORS, FixedWindows, Outcome, RedisCounters, counters_for
from webapp.machine.registry import registry
from webapp.remote_addr import client_ip

UNAUTHORIZED = GENERIC[401][1]  # spec 000's wording for every refused credential


class MachineBlueprint(Blueprint):
    """A blueprint whose views answer machines: see the module docstring.

    `credentials`: tried in order, the first one the request presents decides (PUBLIC lets
    callers in without one). `rate_limits`: the config key holding the per-caller limits, or
    None. `audit`: write an audit row per call. `max_content_length`: body limit for every view.
    """

    def __init__(self, name: str, import_name: str, *, family: Family, credentials: list[Credential],
                 rate_limits: str | None = None, anonymous_limits: str | None = None, audit: bool = True,
                 max_content_length: int | None = None, cors: Callable | None = None, **options):
        super().__init__(name, import_name, **options)
        if not credentials:
            raise ValueError(f"{name}: name its credentials (PUBLIC for an open blueprint)")
        self.family = family
        self.credentials = tuple(credentials)
        self.authenticated = not all(c.public for c in self.credentials)
        self.rate_limits = rate_limits
        # Config key of the limits for callers without a credential, counted per address (sign-in).
        self.anonymous_limits = anonymous_limits
        self.audit = audit
        self.max_content_length = max_content_length
        # Called with every response (a cross-origin API: spec 001's widget); preflights skip the pipeline.
        self.cors = cors
        csrf.exempt(self)  # no cookies, hence no CSRF: a credential travels in a header
        self.before_request(self._begin)
        self.after_request(self._finish)
        if cors is not None:
            self.after_request(cors)  # after_request hooks run last-registered first: before _finish
        self.register_error_handler(DomainError, self._domain_error)
        self.register_error_handler(HTTPException, self._http_error)
        self.register_error_handler(Exception, self._unexpected)

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        if view_func is not None:
            spec: Declaration | None = getattr(view_func, "__machine__", None)
            if spec is None or spec.operation is None:
                raise TypeError(f"{self.name}: {view_func.__name__} needs an @operation(...) declaration")
            if self.authenticated and spec.scopes is None:
                raise TypeError(f"{self.name}: {view_func.__name__} needs @requires(...) (its scopes)")
        super().add_url_rule(rule, endpoint, view_func, **options)

    def register(self, app, options) -> None:
        super().register(app, options)
        # Under the name it was registered with (register_blueprint(bp, name=...), nesting).
        registered = ".".join(part for part in (options.get("name_prefix"), options.get("name", self.name)) if part)
        registry(app).add(self, app, registered)

    # --- The pipeline ----------------------------------------------------------------------

    def _begin(self):
        req = request._get_current_object()  # one context lookup, not one per attribute
        if self.cors is not None and req.method == "OPTIONS":
            return None  # a CORS preflight carries no credential; Flask answers it and self.cors adds its headers
        endpoint = req.endpoint
        # What the view itself declared, whatever name its blueprint was registered under.
        spec: Declaration | None = getattr(current_app.view_functions.get(endpoint), "__machine__", None)
        g.machine_call = call = observe.Call(started=time.perf_counter(), family=self.family, audited=self.audit,
                                             action=f"api.{endpoint.rpartition('.')[2]}")
        limit = (spec.max_content_length if spec else None) or self.max_content_length
        if limit:
            req.max_content_length = limit
        prefetch = spec.operation.prefetch if spec is not None else None
        cache = read_cache()
        served = self._prefetch(req, prefetch, cache) if prefetch is not None else None
        try:
            principal = self._identify(req)
            if served is None:  # from kept rows, the caller is named (audit) only once they are checked
                call.principal = principal
            if self.rate_limits and principal.rate_key is not None:
                outcome = self._limits()[0].hit(principal.rate_key)
                if cache is not None:
                    cache.seen = outcome.generation
                if served is not None and served[1] != outcome.generation:
                    principal = self._read_again(req, prefetch, cache, served[0], principal.rate_key)
                served = None  # checked against the generation read with the limits
                call.principal = principal
                if not outcome.allowed:
                    raise _too_many(outcome)
                call.rate_headers = outcome.headers()
            elif self.anonymous_limits and principal.anonymous:
                outcome = self._windows(self.anonymous_limits, f"api-anonymous/{self.anonymous_limits}").hit(client_ip())
                if not outcome.allowed:
                    raise _too_many(outcome)
                call.rate_headers = outcome.headers()
        except STORAGE_ERRORS as error:
            current_app.logger.error("rate-limit storage unavailable: %s", error.__class__.__name__)
            raise Unavailable("The rate-limit store is unreachable; try again shortly.") from None
        if served is not None:  # kept rows no generation has vouched for: never used unchecked
            principal = self._read_again(req, prefetch, cache, served[0], None)
        call.principal = principal
        if self.authenticated and (spec is None or spec.scopes is None):
            raise Forbidden("This endpoint declares no scopes, so no credential may call it.")  # fail closed
        missing = spec.scopes - principal.scopes if spec and spec.scopes else None
        if missing:
            raise Forbidden(f"This credential lacks the '{sorted(missing)[0]}' scope.")

    def _identify(self, req):
        """The Principal of the credential presented; refused (401, counted against the address)
        when it is not valid, or when none was presented and one is needed."""
        principal, presented = authenticate(self.credentials, req.headers)
        if principal is None and (presented or self.authenticated):
            self._throttle_bad_credentials()
            if self.family.refused:
                status, code, message = self.family.refused
                raise AuthenticationFailed(message, status=status, code=code)
            raise AuthenticationFailed(UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="agentdesk"'})
        return principal

    def _prefetch(self, req, view_lookup, cache=None):
        """Send the credential's lookup and the view's in one statement: one round trip, not two
        (none while the worker's ReadCache holds their rows: then their (key, tag) to check)."""
        together = registry().together
        for credential in self.credentials:
            raw = credential.read(req.headers)
            if raw is not None:
                first = credential.prefetch(raw)
                if first is not None and together is not None:
                    return together(first, view_lookup(req.view_args or {}), cache)
                return None
        return None

    def _read_again(self, req, view_lookup, cache, key, counted_key):
        """The kept rows may be older than a commit (the generation moved, or nothing checked it):
        drop them, read from the database, identify the caller again. The request was counted
        against `counted_key`, which a token keeps for life; counted again only if that changed."""
        cache.forget(key)
        g.pop("_prefetched", None)
        self._prefetch(req, view_lookup)  # past the cache: what another request kept meanwhile is unchecked too
        principal = self._identify(req)
        if counted_key is not None and principal.rate_key != counted_key:
            outcome = self._limits()[0].hit(principal.rate_key)
            if not outcome.allowed:
                raise _too_many(outcome)
        return principal

    def _throttle_bad_credentials(self) -> None:
        """Guessing is throttled per address; a valid credential is never blocked by its neighbours."""
        if self.rate_limits:
            outcome = self._limits()[1].hit(client_ip())
            if not outcome.allowed:
                raise _too_many(outcome)

    @staticmethod
    def _windows(config_key: str, prefix: str) -> FixedWindows:
        """The limits a config key names ("60/minute;1000/hour"), on the app's counters, built once
        per app; `prefix` starts their storage keys."""
        key = f"agentdesk.limits.{prefix}.{config_key}"
        windows = current_app.extensions.get(key)
        if windows is None:
            windows = current_app.extensions[key] = FixedWindows(counters(), current_app.config[config_key], prefix)
        return windows

    def _limits(self) -> tuple[FixedWindows, FixedWindows]:
        """(per caller, per address for bad credentials): one lookup per request on the hot path."""
        key = f"agentdesk.limits.{self.rate_limits}"
        pair = current_app.extensions.get(key)
        if pair is None:
            pair = current_app.extensions[key] = (self._windows(self.rate_limits, f"api/{self.rate_limits}"),
                                                  self._windows("API_INVALID_TOKEN_LIMIT", "api-bad-credential"))
        return pair

    def _finish(self, response):
        # Taken off g first: if Flask runs the hooks again (an error after this one), it is not counted twice.
        call = g.pop("machine_call", None)
        return observe.finish(call, response) if call is not None else response

    # --- Errors, in the family's envelope ----------------------------------------------------

    def _domain_error(self, error: DomainError):
        return respond(error)

    def _http_error(self, error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return respond(from_http(error))

    def _unexpected(self, error: Exception):
        # The session's failed transaction is rolled back at teardown; nothing here needs the database.
        if unavailable(error):
            return respond(database_busy())
        return respond(internal_error(), stack_trace=traceback.format_exc())


def _too_many(outcome: Outcome) -> RateLimited:
    """429 with spec 000's body: retry_after is when the refusing window starts over."""
    retry_after = outcome.retry_after()
    return RateLimited("Rate limit exceeded. Please try again later.", retry_after=retry_after,
                       headers={**outcome.headers(), "Retry-After": str(retry_after)})


def counters():
    """The app's rate-limit counters (memory or Redis), made once."""
    found = current_app.extensions.get("agentdesk.counters")
    if found is None:
        found = current_app.extensions["agentdesk.counters"] = counters_for(current_app.config["RATELIMIT_STORAGE_URI"])
    return found


def read_cache() -> ReadCache | None:
    """The worker's kept rows (webapp/db/read_cache.py): with Redis counters only, which carry the
    generation every process bumps; None when AGENT_READ_CACHE_SECONDS is 0."""
    extensions = current_app.extensions
    try:
        return extensions["agentdesk.read_cache"]
    except KeyError:
        seconds = current_app.config["AGENT_READ_CACHE_SECONDS"]
        found = ReadCache(max_age=seconds) if seconds > 0 and isinstance(counters(), RedisCounters) else None
        extensions["agentdesk.read_cache"] = found
        return found


def bump_generation() -> None:
    """After a commit that changed what agents read: tell every process's ReadCache. If Redis
    cannot be told, the counters owe the bump and make it before their next count (no call is
    answered while Redis is down; a process that makes no more calls, the CLI, cannot): other
    processes may answer from rows up to AGENT_READ_CACHE_SECONDS old meanwhile (logged)."""
    try:
        counters().bump()
    except Exception as error:  # the commit is done: its caller must not see an error for this
        logging.getLogger(__name__).error("could not tell other processes of a change to agents' data (%s); "
                                          "they may answer from rows up to AGENT_READ_CACHE_SECONDS old",
                                          error.__class__.__name__)


def charge(config_key: str, cost: int, *, key: str | None = None, suffix: str = "-Lines") -> None:
    """Count `cost` units of a second limit for this caller, or for `key` (spec 002's log lines per
    minute, set by `config_key`); past it, 429 with that window's headers. Its state rides along as
    X-RateLimit-*<suffix>."""
    call = observe.current_call()
    try:
        outcome = MachineBlueprint._windows(config_key, f"api/{config_key}").hit(
            key or call.principal.rate_key or client_ip(), cost)
    except STORAGE_ERRORS as error:
        current_app.logger.error("rate-limit storage unavailable: %s", error.__class__.__name__)
        raise Unavailable("The rate-limit store is unreachable; try again shortly.") from None
    if not outcome.allowed:
        call.rate_headers = {}  # the refusing window speaks in the unsuffixed headers
        raise _too_many(outcome)
    call.rate_headers.update({f"{name}{suffix}": value for name, value in outcome.headers().items()})


def family() -> Family | None:
    """The family answering this request: its blueprint's (or the view's choice), else by path."""
    call = observe.current_call()
    return call.family if call is not None else registry().family_for_path(request.path)


def use_family(chosen: Family) -> None:
    """Answer this request in another family's envelope (a URL that two specs share)."""
    observe.current_call().family = chosen


def respond(error: DomainError, *, stack_trace: str | None = None):
    """The error in the family's envelope, with its status and headers; noted for the logs."""
    call = observe.current_call()
    if call is not None:
        observe.failed(call, error, stack_trace)
    response = jsonify((family() or GUI).render(error))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response
