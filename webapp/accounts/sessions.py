"""Starting and ending a browser session (Flask-Login), with session rotation at sign-in."""

from flask import session
from flask_login import login_user, logout_user

KEPT_ACROSS_LOGIN = ("lang",)


def start_session(user, *, remember: bool = False) -> None:
    """Drop everything the anonymous session held (fixation defence), keep the language choice."""
    kept = {k: session[k] for k in KEPT_ACROSS_LOGIN if k in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember, fresh=True)


def end_session() -> None:
    """Forget this browser's sign-in, remember-me cookie included.

    Flask-Login marks the remember cookie for deletion in the session, so the session is cleared
    first and logout_user() runs last; the other way round the mark is erased with the rest and
    the cookie signs the browser straight back in.
    """
    kept = {k: session[k] for k in KEPT_ACROSS_LOGIN if k in session}
    session.clear()
    session.update(kept)
    logout_user()
