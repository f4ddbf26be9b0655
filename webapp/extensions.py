"""Unbound extension instances; create_app() binds them to an application.

The SQLAlchemy instance lives in webapp/db/orm.py: only services and the database layer use it
(an import contract in .importlinter keeps it out of views, API modules and the platform layers).
"""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from webapp.db.base import managed_by_models
from webapp.remote_addr import client_ip

migrate = Migrate(compare_type=True, render_as_batch=True, include_object=managed_by_models)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()  # SMTP for the outbox's sender job (webapp/mail)
babel = Babel()
# Guards the sign-in pages; the machine APIs count per token instead (webapp/machine/ratelimit.py).
limiter = Limiter(key_func=client_ip, default_limits=[])
# Live updates to signed-in browsers: one SocketIO per app, made in create_app (Flask-SocketIO keeps
# one server, with its message queue, per instance: two apps in one process must not share it).


def socketio_of(app):
    """The app's SocketIO (webapp/live/events.py registers its handlers)."""
    return app.extensions["socketio"]
