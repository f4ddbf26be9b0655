"""Admin → Users: search, filters, pagination, activate/deactivate, admin rights, pre-provisioning."""

import re

import pytest

from tests.conftest import csrf_token, logout, post, register, users_by_email
from webapp.accounts.models import User
from webapp.audit.models import AuditEvent
from webapp.db.orm import db

HX = {"HX-Request": "true"}


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="user-([0-9a-f-]+)"', html)


def names(html: str) -> list[str]:
    return re.findall(r"<td data-label=\"User\"><div><a href=\"[^\"]+\"><strong>([^<]+)</strong>", html)


def add_users(app, count: int, **fields):
    from webapp.accounts.service import new_user

    with app.app_context():
        for n in range(count):
            new_user(email=f"user{n:02d}@example.com", username=f"user{n:02d}", display_name=f"user{n:02d}", **fields)
        db.session.commit()


def test_non_admin_gets_403_and_anonymous_is_sent_to_sign_in(client):
    register(client, "admin@example.com", "admin")
    logout(client)
    register(client, "bob@example.com", "bob")
    for path in ("/admin/users", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 403 and "You do not have access" in response.get_data(as_text=True)
    token = csrf_token(client)
    assert client.post("/admin/users/preprovision", data={"csrf_token": token, "platform": "github",
                                                           "login": "x"}).status_code == 403
    logout(client)
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.location == "/auth/login?next=%2Fadmin%2Fusers"


def test_full_page_and_htmx_fragment_from_the_same_url(admin_client):
    page = admin_client.get("/admin/users")
    assert "<html" in page.get_data(as_text=True) and "Reserve a login" in page.get_data(as_text=True)
    fragment = admin_client.get("/admin/users", headers=HX)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "<table" in html and "admin@example.com" in html
    assert "HX-Request" in fragment.headers["Vary"]
    # Boosted navigation and history restore get the full page.
    assert "<html" in admin_client.get("/admin/users", headers={**HX, "HX-History-Restore-Request": "true"}).get_data(as_text=True)


def test_search_filters_and_pagination(admin_client, app):
    add_users(app, 25)
    with app.app_context():
        db.session.execute(db.update(User).where(User.username == "user07").values(active=False))
        db.session.commit()
    html = admin_client.get("/admin/users?q=USER0", headers=HX).get_data(as_text=True)
    assert len(row_ids(html)) == 10 and "10 users" in html
    html = admin_client.get("/admin/users?active=no", headers=HX).get_data(as_text=True)
    assert names(html) == ["user07"]
    html = admin_client.get("/admin/users?admin=yes", headers=HX).get_data(as_text=True)
    assert names(html) == ["admin"]
    first = admin_client.get("/admin/users", headers=HX).get_data(as_text=True)
    second = admin_client.get("/admin/users?page=2", headers=HX).get_data(as_text=True)
    assert len(row_ids(first)) == 20 and len(row_ids(second)) == 6
    assert not set(row_ids(first)) & set(row_ids(second))
    assert "Page 1 of 2" in first and 'href="/admin/users?page=2"' in first
    assert row_ids(admin_client.get("/admin/users?page=99", headers=HX).get_data(as_text=True)) == []


def test_platform_filter(admin_client, app):
    post(admin_client, "/admin/users/preprovision", {"platform": "gitlab", "login": "gl_person"})
    post(admin_client, "/admin/users/preprovision", {"platform": "github", "login": "gh-person"})
    assert names(admin_client.get("/admin/users?platform=gitlab", headers=HX).get_data(as_text=True)) == ["gl_person"]
    assert names(admin_client.get("/admin/users?platform=github", headers=HX).get_data(as_text=True)) == ["gh-person"]
    assert names(admin_client.get("/admin/users?platform=local", headers=HX).get_data(as_text=True)) == ["admin"]
    html = admin_client.get("/admin/users?q=gl_p", headers=HX).get_data(as_text=True)
    assert names(html) == ["gl_person"]


def test_deactivate_and_reactivate_swaps_just_the_row(admin_client, app):
    register(admin_client.application.test_client(), "bob@example.com", "bob")
    bob = users_by_email(app)["bob@example.com"]
    response = post(admin_client, f"/admin/users/{bob.id}/active/0", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.startswith(f'<tr id="user-{bob.id}" class="inactive">')
    assert "Activate" in html and not users_by_email(app)["bob@example.com"].active
    post(admin_client, f"/admin/users/{bob.id}/active/1", headers=HX)
    assert users_by_email(app)["bob@example.com"].active
    with app.app_context():
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("admin.%"))
                                                        .order_by(AuditEvent.id))]
    assert actions == ["admin.user.deactivate", "admin.user.activate"]


def test_actions_work_without_javascript(admin_client, app):
    register(admin_client.application.test_client(), "bob@example.com", "bob")
    bob = users_by_email(app)["bob@example.com"]
    response = post(admin_client, f"/admin/users/{bob.id}/admin/1", headers={"Referer": "http://localhost/admin/users?q=bob"})
    assert response.status_code == 302 and response.location == "http://localhost/admin/users?q=bob"
    assert users_by_email(app)["bob@example.com"].is_admin


def test_grant_and_revoke_admin_but_never_the_last_one(admin_client, app):
    admin = users_by_email(app)["admin@example.com"]
    response = post(admin_client, f"/admin/users/{admin.id}/admin/0", headers=HX)
    assert response.status_code == 409 and "last administrator" in response.get_data(as_text=True)
    response = post(admin_client, f"/admin/users/{admin.id}/active/0", headers=HX)
    assert response.status_code == 409 and "last active administrator" in response.get_data(as_text=True)
    assert users_by_email(app)["admin@example.com"].is_admin
    register(admin_client.application.test_client(), "bob@example.com", "bob")
    bob = users_by_email(app)["bob@example.com"]
    assert post(admin_client, f"/admin/users/{bob.id}/admin/1", headers=HX).status_code == 200
    assert post(admin_client, f"/admin/users/{admin.id}/admin/0", headers=HX).status_code == 200
    assert users_by_email(app)["bob@example.com"].is_admin
    # No longer an admin: the next request to an admin page is refused.
    assert admin_client.get("/admin/users").status_code == 403


def test_action_without_csrf_token_is_refused(admin_client, app):
    admin = users_by_email(app)["admin@example.com"]
    response = admin_client.post(f"/admin/users/{admin.id}/active/0", headers=HX)
    assert response.status_code == 400
    assert users_by_email(app)["admin@example.com"].active


def test_unknown_user_is_404(admin_client):
    response = post(admin_client, "/admin/users/00000000-0000-0000-0000-000000000000/active/0", headers=HX)
    assert response.status_code == 404


def test_preprovision_creates_a_reserved_identity_and_refreshes_the_table(admin_client, app):
    response = post(admin_client, "/admin/users/preprovision", {"platform": "github", "login": "Octo"}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "users-changed"
    assert "github:Octo is reserved" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.display_name == "Octo"))
        assert [(i.platform, i.login, i.provider_user_id) for i in user.identities] == [("github", "Octo", None)]
        assert db.session.scalar(db.select(AuditEvent.target).where(AuditEvent.action == "admin.identity.preprovision")) == "github:Octo"


@pytest.mark.parametrize("data, field, message", [
    ({"platform": "github", "login": ""}, "login", "required"),
    ({"platform": "github", "login": "bad login!"}, "login", "exactly as on GitHub"),
    ({"platform": "bitbucket", "login": "x"}, "platform", "Not a valid choice"),
    ({"platform": "github", "login": "octo"}, "login", "already taken"),
])
def test_invalid_preprovision_shows_the_error_next_to_the_field(admin_client, app, data, field, message):
    post(admin_client, "/admin/users/preprovision", {"platform": "github", "login": "Octo"})
    before = len(users_by_email(app))
    response = post(admin_client, "/admin/users/preprovision", data, headers=HX)
    assert response.status_code == 422
    errors = re.search(rf'id="{field}-error">(.*?)</ul>', response.get_data(as_text=True), re.S)
    assert errors and message in errors.group(1)
    assert len(users_by_email(app)) == before
    # Without HTMX, the whole page comes back with the same inline error.
    response = post(admin_client, "/admin/users/preprovision", data)
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error">.*?{message}', response.get_data(as_text=True), re.S)
