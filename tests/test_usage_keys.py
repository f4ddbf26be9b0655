"""Spec 003's usage keys: POST /usagekey, the admin's decision, the one-time link, the CLI."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner

from tests.conftest import post, register
from webapp.db.orm import db
from webapp.mail.models import MailMessage
from webapp.tokens.models import ApiToken

TOM = {"username": "Tom Hanks", "email": "tomtom@example.com"}
LINK = re.compile(r"http://\S+/usage-keys/reveal/\S+")
KEY = re.compile(r"adk_usg_[A-Za-z0-9]+_[A-Za-z0-9]+")


def mails(app, kind: str | None = None) -> list[MailMessage]:
    with app.app_context():
        query = db.select(MailMessage).order_by(MailMessage.id)
        if kind:
            query = query.where(MailMessage.kind == kind)
        return list(db.session.scalars(query))


def usage_keys(app) -> list[ApiToken]:
    with app.app_context():
        return list(db.session.scalars(db.select(ApiToken).where(ApiToken.kind == "usage").order_by(ApiToken.id)))


def ask(client, body=TOM, **headers):
    return client.post("/usagekey", json=body, headers=headers)


def approve(client, key_id: int, quota: int = 5, **extra):
    fields = {f"key{key_id}-{name}": value for name, value in {"quota": str(quota), **extra}.items()}
    return post(client, f"/admin/usage-keys/{key_id}/approve", fields)


def reveal_link(app) -> str:
    return LINK.search(mails(app, "usage_key.approved")[-1].text_body).group(0).removeprefix("http://127.0.0.1:5000")


def test_asking_twice_makes_one_request_and_tells_every_admin_once(app, admin_client):
    register(admin_client.application.test_client(), "member@example.com", "member")  # not an admin: no mail
    first, second = ask(admin_client), ask(admin_client, {"username": "Tom", "email": "TomTom@Example.com"})
    assert (first.status_code, first.json) == (200, {"status": "PENDING"})
    assert (second.status_code, second.json) == (200, {"status": "PENDING"})
    keys = usage_keys(app)
    assert [(k.status, k.contact_email, k.token_hash) for k in keys] == [("pending", "tomtom@example.com", None)]
    [message] = mails(app, "usage_key.requested")
    assert message.to_address == "admin@example.com"
    assert "Tom Hanks" in message.text_body and "/admin/usage-keys?tab=pending#key-" in message.text_body
    assert message.status == "kept"  # no SMTP configured: the outbox keeps it


@pytest.mark.parametrize("body, field", [
    ({"email": "a@example.com"}, "username"),
    ({"username": "Tom"}, "email"),
    ({"username": "", "email": "a@example.com"}, "username"),
    ({"username": "Tom", "email": "not-an-address"}, "email"),
    ({"username": "Tom\u0007", "email": "a@example.com"}, "username"),
    ({"username": "x" * 101, "email": "a@example.com"}, "username"),
    ({"username": "Tom", "email": "a@" + "x" * 300 + ".com"}, "email"),
    ([], "body"),
])
def test_bad_requests_get_400_with_what_to_fix(app, client, body, field):
    answer = client.post("/usagekey", json=body)
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["code"] == "INVALID_REQUEST"
    assert field in str(answer.json["error"])
    assert usage_keys(app) == []


def test_not_json_is_400(client):
    answer = client.post("/usagekey", data="username=Tom", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and answer.json["error"]["code"] == "INVALID_REQUEST"


def test_ten_tries_a_minute_are_allowed_then_429(client):
    answers = [ask(client, {"username": "Tom", "email": f"t{n}@example.com"}).status_code for n in range(11)]
    assert answers[:10] == [200] * 10
    assert answers[10] == 429


def test_approve_reveal_once_then_created(app, admin_client):
    ask(admin_client)
    [key] = usage_keys(app)
    page = admin_client.get("/admin/usage-keys")
    assert "Tom Hanks" in page.text and "tomtom@example.com" in page.text
    assert approve(admin_client, key.id, quota=7).status_code == 302
    [key] = usage_keys(app)
    assert (key.status, key.daily_quota, key.token_hash) == ("active", 7, None)
    [message] = mails(app, "usage_key.approved")
    assert message.to_address == "tomtom@example.com" and message.sensitive
    assert not KEY.search(message.text_body + message.html_body)  # the key is never mailed
    link = reveal_link(app)

    stranger = app.test_client()
    opened = stranger.get(link)
    assert opened.status_code == 200 and opened.headers["Cache-Control"] == "no-store"
    assert not KEY.search(opened.text)  # opening the link (a mail scanner's GET) does not use it up
    shown = post(stranger, link)
    raw = KEY.search(shown.text).group(0)
    again = post(stranger, link)
    assert again.status_code == 410 and not KEY.search(again.text)
    [key] = usage_keys(app)
    assert key.token_hash is not None and raw not in str(vars(key))
    assert ask(admin_client).json == {"status": "CREATED"}


def test_forged_and_expired_links_are_refused(app, admin_client, monkeypatch):
    ask(admin_client)
    approve(admin_client, usage_keys(app)[0].id)
    link = reveal_link(app)
    stranger = app.test_client()
    stranger.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert post(stranger, link[:-3] + "abc").status_code == 410
    assert post(stranger, link.replace("/reveal/", "/reveal/x")).status_code == 410
    signed_at = time.time()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(signed_at) + 73 * 3600)
    late = post(stranger, link)
    assert late.status_code == 410 and "expired" in late.text
    monkeypatch.undo()
    assert usage_keys(app)[0].token_hash is None  # the refusals used nothing up: the real link works
    assert KEY.search(post(stranger, link).text)


def test_a_new_link_replaces_the_old_one(app, admin_client):
    ask(admin_client)
    key_id = usage_keys(app)[0].id
    approve(admin_client, key_id)
    old = reveal_link(app)
    assert post(admin_client, f"/admin/usage-keys/{key_id}/link").status_code == 302
    new = reveal_link(app)
    assert new != old
    assert post(app.test_client(), old).status_code == 410
    assert KEY.search(post(app.test_client(), new).text)
    # Once shown, no new link: the key exists (revoke it and approve a new request instead).
    assert post(admin_client, f"/admin/usage-keys/{key_id}/link").status_code == 302
    assert len(mails(app, "usage_key.approved")) == 2


def test_reject_mails_the_reason_and_a_new_request_is_possible(app, admin_client):
    ask(admin_client)
    key = usage_keys(app)[0]
    answer = post(admin_client, f"/admin/usage-keys/{key.id}/reject",
                  {f"key{key.id}-reason": "Use the team key instead."})
    assert answer.status_code == 302
    [message] = mails(app, "usage_key.rejected")
    assert "Use the team key instead." in message.text_body
    assert usage_keys(app)[0].status == "rejected"
    assert ask(admin_client).json == {"status": "PENDING"}
    assert len(usage_keys(app)) == 2


def test_reject_needs_a_reason_and_nothing_changes(app, admin_client):
    ask(admin_client)
    key = usage_keys(app)[0]
    answer = post(admin_client, f"/admin/usage-keys/{key.id}/reject", {f"key{key.id}-reason": " "},
                  headers={"HX-Request": "true"})
    assert answer.status_code == 422 and "Tell the requester why" in answer.text
    assert usage_keys(app)[0].status == "pending" and mails(app, "usage_key.rejected") == []


def test_members_cannot_decide(app, client):
    register(client, "admin@example.com", "admin")
    ask(client)
    key = usage_keys(app)[0]
    member = app.test_client()
    register(member, "member@example.com", "member")
    assert member.get("/admin/usage-keys").status_code == 403
    assert approve(member, key.id).status_code == 403
    assert usage_keys(app)[0].status == "pending"


def test_cli_approves_and_prints_the_key_last(app, client):
    ask(client)
    result = app.test_cli_runner().invoke(args=["usage-keys", "approve", "TomTom@example.com", "--quota", "3"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert KEY.fullmatch(raw)
    [key] = usage_keys(app)
    assert (key.status, key.daily_quota) == ("active", 3)
    missing = app.test_cli_runner().invoke(args=["usage-keys", "approve", "nobody@example.com"])
    assert missing.exit_code != 0 and "No pending usage-key request" in missing.output


def test_a_bad_quota_is_refused_beside_the_field_and_nothing_is_approved(app, admin_client):
    ask(admin_client)
    key_id = usage_keys(app)[0].id
    for quota, message in (("0", "From 1 to"), ("", "Give the number of reviews"), ("lots", "Not a valid integer")):
        answer = post(admin_client, f"/admin/usage-keys/{key_id}/approve", {f"key{key_id}-quota": quota},
                      headers={"HX-Request": "true"})
        assert answer.status_code == 422 and message in answer.text
        assert f'id="key{key_id}-quota"' in answer.text and "<details class=\"decide\" open>" in answer.text
    past = post(admin_client, f"/admin/usage-keys/{key_id}/approve",
                {f"key{key_id}-quota": "5", f"key{key_id}-expires_on": "2020-01-01"}, headers={"HX-Request": "true"})
    assert past.status_code == 422 and "must be in the future" in past.text
    assert usage_keys(app)[0].status == "pending" and mails(app, "usage_key.approved") == []


def test_revoking_refuses_the_key_at_once(app, admin_client):
    ask(admin_client)
    raw = app.test_cli_runner().invoke(args=["usage-keys", "approve", TOM["email"]]).output.strip().splitlines()[-1]
    review = {"source_base64": "eCA9IDEK", "language": "Python"}
    assert admin_client.post("/codereview", json=review, headers={"x-api-key": raw}).status_code == 200
    key_id = usage_keys(app)[0].id
    assert post(admin_client, f"/admin/usage-keys/{key_id}/revoke").status_code == 302
    assert admin_client.post("/codereview", json=review, headers={"x-api-key": raw}).status_code == 403
    assert ask(admin_client).json == {"status": "PENDING"}  # a revoked key does not block a new request
    page = admin_client.get(f"/admin/usage-keys/{key_id}")
    assert page.status_code == 200 and "Reviews per day" in page.text


def test_a_signed_in_person_asks_from_their_home_page(app, client):
    register(client, "admin@example.com", "admin")
    member = app.test_client()
    member.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    register(member, "member@example.com", "member")
    assert "Request a key" in member.get("/").text
    assert post(member, "/usage-keys/request").status_code == 302
    home = member.get("/").text
    assert "Waiting for an administrator" in home and "Request a key" not in home
    [key] = usage_keys(app)
    assert (key.contact_email, key.status) == ("member@example.com", "pending") and key.user_id is not None
    [told] = mails(app, "usage_key.requested")
    assert told.to_address == "admin@example.com"
    assert member.post("/usage-keys/request").status_code == 400  # no CSRF token: refused


def test_signing_up_with_someone_elses_address_shows_none_of_their_requests(app, admin_client):
    ask(admin_client, {"username": "Victim", "email": "victim@corp.example"})
    post(admin_client, f"/admin/usage-keys/{usage_keys(app)[0].id}/reject",
         {f"key{usage_keys(app)[0].id}-reason": "internal: contractor terminated"})
    mallory = app.test_client()
    mallory.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    register(mallory, "victim@corp.example", "mallory")
    home = mallory.get("/").text
    assert "contractor terminated" not in home and "Request a key" in home


def test_addresses_that_smtp_would_mangle_are_refused(client):
    answer = ask(client, {"username": "Tëst", "email": "tëst@example.com"})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "INVALID_REQUEST"


def test_a_flood_of_requests_mails_the_admins_about_the_first_ones_only(app, admin_client, monkeypatch):
    from webapp.usage_keys import service

    monkeypatch.setattr(service, "ADMIN_MAILS_PER_HOUR", 2)
    for n in range(4):
        assert ask(admin_client, {"username": "Tom", "email": f"t{n}@example.com"}).json == {"status": "PENDING"}
    assert len(usage_keys(app)) == 4 and len(mails(app, "usage_key.requested")) == 2
