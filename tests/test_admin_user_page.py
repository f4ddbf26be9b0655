"""Admin → one user's page: attach and detach logins without OAuth, their personal tokens, what
agents receive (masked), recent activity; and `flask users link` from the shell."""

from tests.api_helpers import OPENAI, OPENAI_KEY, bearer, make_token, make_user, set_config
from tests.conftest import csrf_token, post, register
from webapp.accounts.models import Identity, User
from webapp.db.orm import db
from webapp.tokens.models import ApiToken


def identities_of(app, user_id) -> list[str]:
    with app.app_context():
        return sorted(i.user_key for i in db.session.get(User, user_id).identities)


def test_attach_a_login_then_agents_find_the_person(admin_client, app):
    bob = make_user(app, "bob@example.com")
    set_config(app, bob, OPENAI, api_key=OPENAI_KEY)
    _, raw = make_token(app)
    assert app.test_client().get("/v1/users/github/bob-gh/llm-config", headers=bearer(raw)).status_code == 404
    response = post(admin_client, f"/admin/users/{bob}/identities", {"platform": "github", "login": "bob-gh"})
    assert response.status_code == 302 and response.location == f"/admin/users/{bob}"
    assert identities_of(app, bob) == ["github:bob-gh"]
    answer = app.test_client().get("/v1/users/github/bob-gh/llm-config", headers=bearer(raw))
    assert answer.status_code == 200 and answer.json["data"]["llm_config"]["openai"]["api_key"] == OPENAI_KEY
    page = admin_client.get(f"/admin/users/{bob}").get_data(as_text=True)
    assert "github:bob-gh is attached to bob." in page
    # What agents receive: the same document, key masked, never the key itself.
    assert '&#34;api_key&#34;: &#34;sk-proj-****...WXYZ&#34;' in page and OPENAI_KEY not in page
    assert "Attached a login to a user" in page  # recent activity


def test_attach_refuses_a_taken_login_and_writes_nothing(admin_client, app):
    make_user(app, "carol@example.com", github="carol")
    bob = make_user(app, "bob@example.com")
    response = post(admin_client, f"/admin/users/{bob}/identities", {"platform": "github", "login": "Carol"})
    assert response.status_code == 422 and "github:Carol is already taken." in response.get_data(as_text=True)
    response = post(admin_client, f"/admin/users/{bob}/identities", {"platform": "github", "login": "bad login!"})
    assert response.status_code == 422 and "exactly as on GitHub" in response.get_data(as_text=True)
    assert identities_of(app, bob) == []


def test_detach_a_login_but_never_the_last_way_to_sign_in(admin_client, app):
    bob = make_user(app, "bob@example.com", github="bob-gh")
    response = post(admin_client, f"/admin/users/{bob}/identities/github/detach")
    assert response.status_code == 302 and identities_of(app, bob) == []
    with app.app_context():  # someone who signs in only through GitLab
        dana = db.session.get(User, make_user(app, "dana@example.com", gitlab="dana"))
        dana.password_hash = None
        dana.identities[0].provider_user_id = "77"
        db.session.commit()
        dana_id = dana.id
    response = post(admin_client, f"/admin/users/{dana_id}/identities/gitlab/detach")
    assert response.status_code == 302
    assert "This is the only way dana" in admin_client.get(f"/admin/users/{dana_id}").get_data(as_text=True)
    assert identities_of(app, dana_id) == ["gitlab:dana"]
    assert post(admin_client, f"/admin/users/{bob}/identities/gitlab/detach").status_code == 404


def test_personal_tokens_are_listed_and_revoked_from_the_users_page(admin_client, app):
    bob = make_user(app, "bob@example.com")
    carol = make_user(app, "carol@example.com")
    bobs, _ = make_token(app, kind="personal", owner_id=bob)
    carols, _ = make_token(app, kind="personal", owner_id=carol)
    page = admin_client.get(f"/admin/users/{bob}").get_data(as_text=True)
    assert f"/admin/users/{bob}/tokens/{bobs}/revoke" in page and f"/tokens/{carols}/" not in page
    # Carol's token through Bob's page: not found, and still active.
    assert post(admin_client, f"/admin/users/{bob}/tokens/{carols}/revoke").status_code == 404
    assert post(admin_client, f"/admin/users/{bob}/tokens/{bobs}/revoke").status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, bobs).status == "revoked"
        assert db.session.get(ApiToken, carols).status == "active"


def test_members_cannot_see_or_change_a_users_page(client, app):
    register(client, "admin@example.com", "admin")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
    bob = make_user(app, "bob@example.com")
    register(client, "eve@example.com", "eve")
    assert client.get(f"/admin/users/{bob}").status_code == 403
    assert post(client, f"/admin/users/{bob}/identities", {"platform": "github", "login": "eve-owns-bob"}
                ).status_code == 403
    assert identities_of(app, bob) == []


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/admin/users/00000000-0000-0000-0000-000000000000").status_code == 404


def test_cli_links_a_login_to_an_existing_account(app):
    bob = make_user(app, "bob@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "link", "bob@example.com", "--gitlab", "bob-lab"])
    assert result.exit_code == 0 and "Linked gitlab:bob-lab to bob@example.com" in result.output
    assert identities_of(app, bob) == ["gitlab:bob-lab"]
    taken = runner.invoke(args=["users", "link", "bob@example.com", "--gitlab", "other"])
    assert taken.exit_code != 0 and "already has a GitLab identity" in taken.output
    unknown = runner.invoke(args=["users", "link", "nobody@example.com", "--github", "x"])
    assert unknown.exit_code != 0 and "nobody@example.com" in unknown.output
    both = runner.invoke(args=["users", "link", "bob@example.com", "--github", "a", "--gitlab", "b"])
    assert both.exit_code != 0 and "exactly one" in both.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Identity)) == 1


def test_a_login_holding_an_admin_users_grant_is_not_detached(admin_client, app):
    """Its binding is what stops the next owner of a renamed login from claiming ADMIN_USERS."""
    alice = make_user(app, "alice@example.com", github="alice")
    with app.app_context():
        identity = db.session.scalar(db.select(Identity).where(Identity.login == "alice"))
        identity.provider_user_id, identity.admin_grant = "1001", "github:alice"
        db.session.commit()
    response = post(admin_client, f"/admin/users/{alice}/identities/github/detach")
    assert response.status_code == 302
    assert "holds the ADMIN_USERS entry github:alice" in admin_client.get(f"/admin/users/{alice}").get_data(as_text=True)
    assert identities_of(app, alice) == ["github:alice"]
