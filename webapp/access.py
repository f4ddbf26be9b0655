"""Access rules shared by blueprints: checked in the view layer, never around a template block."""

from flask import abort
from flask_login import current_user, login_required


def admin_only(blueprint) -> None:
    """Every view of `blueprint`: anonymous -> sign-in page, signed in but not admin -> 403."""

    @blueprint.before_request
    @login_required
    def require_admin():
        if not current_user.is_admin:
            abort(403)
