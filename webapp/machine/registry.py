"""Which URLs are machine URLs, and which family answers for them: derived from the registered
machine blueprints, in this one place (the cookie session, the browser limiter, the error pages
and the OpenAPI coverage test all ask here)."""

from __future__ import annotations

from flask import current_app, request

from webapp.machine.families import Family, family_by_space


class MachineRegistry:
    """The machine blueprints of one app and the URL prefixes their routes live under."""

    def __init__(self):
        # How calls are audited, wired by create_app: each authenticated call on its own row, refused
        # anonymous ones counted per address and minute.
        self.record_call = None
        self.record_refused = None
        # How two one-row lookups go to the database in one statement (the database layer's together()).
        self.together = None
        self.blueprints: dict[str, object] = {}  # registered name -> blueprint
        self._exact: dict[str, Family] = {}  # routes without variables: the whole path
        self._prefixes: list[tuple[str, Family]] = []  # routes with variables: the text before the first one
        self._startswith: tuple[str, ...] = ()

    def add(self, blueprint, app, registered_name: str) -> None:
        self.blueprints[registered_name] = blueprint
        for rule in self.rules(app, registered_name):
            static, variable, _ = rule.rule.partition("<")
            if variable:
                self._prefixes.append((static, blueprint.family))
            else:
                self._exact[rule.rule] = blueprint.family
        self._prefixes.sort(key=lambda item: -len(item[0]))
        self._startswith = tuple(prefix for prefix, _ in self._prefixes)

    def rules(self, app, registered_name: str | None = None) -> list:
        """The URL rules served by machine blueprints (by the one registered under that name, if given)."""
        names = {registered_name} if registered_name is not None else set(self.blueprints)
        return [rule for rule in app.url_map.iter_rules() if rule.endpoint.rpartition(".")[0] in names]

    def blueprint_for(self, endpoint: str):
        return self.blueprints[endpoint.rpartition(".")[0]]

    def is_machine_path(self, path: str) -> bool:
        """A route of a machine blueprint, or anywhere in a family's URL space (an unknown /v1/... too)."""
        return path in self._exact or path.startswith(self._startswith) or family_by_space(path) is not None

    def family_for_path(self, path: str) -> Family | None:
        """The family of the route prefix holding `path`, else of the URL space holding it."""
        family = self._exact.get(path)
        if family is not None:
            return family
        for prefix, family in self._prefixes:
            if path.startswith(prefix):
                return family
        return family_by_space(path)


def init_app(app, *, record_call, record_refused, together) -> None:
    """Plug the features the platform serves into it: how each call is audited, and how a
    credential's lookup and a view's are fetched in one round trip."""
    machine = registry(app)
    machine.record_call, machine.record_refused, machine.together = record_call, record_refused, together


def registry(app=None) -> MachineRegistry:
    app = app or current_app
    found = app.extensions.get("machine")
    if found is None:
        found = app.extensions["machine"] = MachineRegistry()
    return found


def is_machine_request() -> bool:
    """A call to a machine API: no cookie session, no browser limiter.

    Decided by path, because Flask opens the session before it matches the URL; once per request
    (the session, the input guard and the limiter's hooks all ask).
    """
    environ = request.environ
    found = environ.get("agentdesk.machine")
    if found is None:
        found = environ["agentdesk.machine"] = registry().is_machine_path(request.path)
    return found
