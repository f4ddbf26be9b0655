"""Access rules shared by blueprints: checked in the view layer, never around a template block."""

from flask import abort
from flask_login import current_user, login_required


def require_sign_in(blueprint, *, admin_when=lambda: False) -> None:
    """Every view of `blueprint` needs a signed-in user (else the sign-in page), and an admin
    whenever `admin_when()` says so for this request (else 403)."""

    @blueprint.before_request
    @login_required
    def check_access():
        if admin_when() and not current_user.is_admin:
            abort(403)


def admin_only(blueprint) -> None:
    require_sign_in(blueprint, admin_when=lambda: True)
