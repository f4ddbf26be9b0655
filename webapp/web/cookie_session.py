"""Cookie sessions for people; none at all for machine calls."""

from flask.sessions import SecureCookieSessionInterface

from webapp.machine.registry import is_machine_request


class BrowserSessionInterface(SecureCookieSessionInterface):
    """Machine API requests get a null session: no cookie parsed, signed or sent, no `Vary: Cookie`."""

    def open_session(self, app, request):
        if is_machine_request():
            return self.make_null_session(app)
        return super().open_session(app, request)
