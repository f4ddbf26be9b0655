"""GitHub/GitLab sign-in through a fake provider over real HTTP (Authlib's full code flow)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import logout, oauth_sign_in, post, register
from tests.fake_idp import ProviderUser
from webapp import create_app
from webapp.accounts.models import Identity, User
from webapp.audit.models import AuditEvent
from webapp.db.orm import db

EN = {"Accept-Language": "en"}


def identities(app):
    with app.app_context():
        return {(i.platform, i.login): (i.provider_user_id, i.user_id)
                for i in db.session.scalars(db.select(Identity))}


def page(client, path="/"):
    return client.get(path, headers=EN).get_data(as_text=True)


def test_authorize_request_carries_state_and_pkce(client):
    start = client.get("/auth/github/login")
    query = parse_qs(urlsplit(start.location).query)
    assert start.location.startswith("http://127.0.0.1:")
    assert query["state"][0] and query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["redirect_uri"] == ["http://localhost/auth/github/callback"]


def test_new_github_user_is_created_signed_in_and_first_is_admin(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "Octo-Cat", "Octo Cat", "octo@example.com"))
    response = oauth_sign_in(client, "github")
    assert response.status_code == 302 and response.location == "/"
    assert 'class="whoami">Octo Cat<' in page(client)
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert user.email == "octo@example.com" and user.is_admin and user.password_hash is None
    assert identities(app) == {("github", "Octo-Cat"): ("1001", user.id)}


def test_returning_user_signs_into_the_same_account(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "octocat"))
    oauth_sign_in(client, "github")
    logout(client)
    oauth_sign_in(client, "github")
    assert 'class="whoami">octocat<' in page(client)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_renamed_login_updates_the_identity(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "oldname"))
    oauth_sign_in(client, "github")
    logout(client)
    idp.sign_in("github", ProviderUser(1001, "newname"))
    oauth_sign_in(client, "github")
    assert list(identities(app)) == [("github", "newname")]
    with app.app_context():
        renamed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "auth.identity.renamed"))
        assert renamed.details == {"from": "oldname"} and renamed.target == "github:newname"


def test_first_sign_in_claims_a_preprovisioned_identity(client, app, idp, admin_client):
    response = post(client, "/admin/users/preprovision", {"platform": "github", "login": "Hubot"})
    assert response.status_code == 302
    reserved_user = identities(app)[("github", "Hubot")][1]
    logout(client)
    idp.sign_in("github", ProviderUser(2002, "hubot", "Hu Bot"))
    assert oauth_sign_in(client, "github").location == "/"
    assert identities(app)[("github", "hubot")] == ("2002", reserved_user)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2
        assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "auth.identity.claimed"))


def test_login_owned_by_another_provider_id_is_refused_not_merged(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "alice"))
    oauth_sign_in(client, "github")
    logout(client)
    # Someone else now holds the login "alice" on GitHub (the first person renamed away).
    idp.sign_in("github", ProviderUser(3003, "alice"))
    response = oauth_sign_in(client, "github")
    assert response.status_code == 302 and response.location == "/auth/login"
    assert "belongs to a different GitHub account" in page(client, "/auth/login")
    assert client.get("/").status_code == 302
    assert identities(app)[("github", "alice")][0] == "1001"
    with app.app_context():
        refused = db.session.scalar(db.select(AuditEvent).where(AuditEvent.outcome == "failure"))
        assert refused.details["reason"] == "login_owned_by_other_account"


def test_state_mismatch_is_refused(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "alice"))
    start = client.get("/auth/github/login")
    at_provider = requests.get(start.location, allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    code = parse_qs(back.query)["code"][0]
    response = client.get(f"{back.path}?code={code}&state=forged-state")
    assert response.status_code == 302 and response.location == "/auth/login"
    assert "did not come from this browser" in page(client, "/auth/login")
    assert client.get("/").status_code == 302
    assert identities(app) == {}


def test_provider_error_callback_shows_a_fixed_message_for_the_code(client, app, idp):
    idp.deny_next["gitlab"] = "access_denied"
    response = oauth_sign_in(client, "gitlab")
    assert response.location == "/auth/login"
    shown = page(client, "/auth/login")
    assert "You declined the sign-in at GitLab." in shown and "The user has denied" not in shown
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent))
        assert (event.outcome, event.details["reason"], event.details["error"]) == (
            "failure", "provider_error", "access_denied")


def test_the_providers_error_description_never_reaches_the_page(client):
    """error_description is whatever the link's author wrote: a phishing line must not appear."""
    bait = "Your account is locked. Call +1-555-0100 or visit evil.example to unlock it"
    client.get(f"/auth/github/callback?error=weird_code&error_description={bait}")
    shown = page(client, "/auth/login")
    assert "GitHub did not sign you in. Please try again." in shown
    assert "evil.example" not in shown and "weird_code" not in shown


def test_linking_gitlab_to_a_github_user(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "alice"))
    oauth_sign_in(client, "github")
    assert "Link GitLab" in page(client) and "Link GitHub" not in page(client)
    idp.sign_in("gitlab", ProviderUser(77, "alice.gl"))
    response = oauth_sign_in(client, "gitlab", action="link")
    assert response.location == "/"
    html = page(client)
    assert "GitLab account alice.gl is now linked." in html and "Link GitLab" not in html
    ids = identities(app)
    assert ids[("gitlab", "alice.gl")][1] == ids[("github", "alice")][1]
    # Later, GitLab alone signs into the same account.
    logout(client)
    oauth_sign_in(client, "gitlab")
    assert 'class="whoami">alice<' in page(client)


def test_linking_an_account_that_belongs_to_someone_else_is_refused(client, app, idp):
    idp.sign_in("gitlab", ProviderUser(77, "bob"))
    oauth_sign_in(client, "gitlab")
    logout(client)
    idp.sign_in("github", ProviderUser(1001, "alice"))
    oauth_sign_in(client, "github")
    response = oauth_sign_in(client, "gitlab", action="link")  # still bob at GitLab
    assert response.location == "/"
    assert "already linked to another AgentDesk user" in page(client)
    ids = identities(app)
    assert ids[("gitlab", "bob")][1] != ids[("github", "alice")][1]


def test_link_requires_sign_in(client, app):
    register(app.test_client())  # not a new instance: a signed-out visitor is asked to sign in
    response = client.get("/auth/gitlab/link")
    assert response.status_code == 302 and response.location.startswith("/auth/login")


def test_admin_users_setting_promotes_at_sign_in(app_env, idp):
    app_env["ADMIN_USERS"] = "github:first, gitlab:Boss"
    app = create_app(env=app_env)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    idp.sign_in("github", ProviderUser(1, "first"))
    oauth_sign_in(client, "github")  # first account: admin anyway
    logout(client)
    idp.sign_in("gitlab", ProviderUser(2, "boss"))
    oauth_sign_in(client, "gitlab")
    logout(client)
    idp.sign_in("gitlab", ProviderUser(3, "worker"))
    oauth_sign_in(client, "gitlab")
    with app.app_context():
        admins = {u.identities[0].login: u.is_admin for u in db.session.scalars(db.select(User))}
    assert admins == {"first": True, "boss": True, "worker": False}


def test_github_dot_com_style_api_url(app_env, idp):
    app_env["GITHUB_API_URL"] = idp.url  # api.github.com serves /user at the root
    app = create_app(env=app_env)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    idp.sign_in("github", ProviderUser(5, "dotcom"))
    before = len(idp.requests)
    assert oauth_sign_in(client, "github").location == "/"
    assert "GET /user" in idp.requests[before:]


def test_deactivated_user_cannot_sign_in_through_a_provider(client, app, idp):
    idp.sign_in("github", ProviderUser(1001, "alice"))
    oauth_sign_in(client, "github")
    logout(client)
    with app.app_context():
        db.session.execute(db.update(User).values(active=False))
        db.session.commit()
    response = oauth_sign_in(client, "github")
    assert response.location == "/auth/login"
    assert "deactivated" in page(client, "/auth/login")


@pytest.mark.parametrize("configured, expected", [({}, ["GitHub", "GitLab"]),
                                                  ({"GITLAB_CLIENT_ID": ""}, ["GitHub"]),
                                                  ({"GITHUB_CLIENT_ID": "", "GITLAB_CLIENT_ID": ""}, [])])
def test_buttons_appear_only_for_configured_providers(app_env, configured, expected):
    app_env.update(configured)
    app = create_app(env=app_env)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get("/auth/login", headers=EN).get_data(as_text=True)
    assert [p for p in ("GitHub", "GitLab") if f"Sign in with {p}" in html] == expected
    for platform in ("github", "gitlab"):
        if platform.title().replace("hub", "Hub").replace("lab", "Lab") not in expected:
            assert client.get(f"/auth/{platform}/login").status_code == 404


def test_unreachable_provider_gets_a_clear_message(app_env, idp):
    app_env["GITHUB_API_URL"] = "http://127.0.0.1:9/api/v3"  # nothing listens on the discard port
    app = create_app(env=app_env)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    idp.sign_in("github", ProviderUser(9, "nobody"))
    response = oauth_sign_in(client, "github")
    assert response.location == "/auth/login"
    assert "Could not reach GitHub" in page(client, "/auth/login")
