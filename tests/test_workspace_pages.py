"""The Workspace pages: sessions created, renamed, closed and deleted from the browser; the terminal
page loads xterm.js with its own content policy; the transcript, the search (highlights and facets)
and the settings; another person's session is a 404 everywhere."""

from __future__ import annotations

import json
import re

from tests.conftest import post, register
from webapp.db.orm import db


def session_ids(app, username="alice"):
    from webapp.accounts.models import User
    from webapp.chats.models import ChatSession

    with app.app_context():
        person = db.session.scalar(db.select(User).where(User.username == username))
        return [str(s.id) for s in db.session.scalars(db.select(ChatSession).where(ChatSession.user_id == person.id))]


def add_output(app, session_id, content, role="assistant"):
    from webapp.chats.models import ChatSession
    from webapp.workspace import service

    with app.app_context():
        session = db.session.get(ChatSession, service.parse_id(session_id))
        message = service.add_message(session, role, content, format="ansi",
                                      meta={"chunks": [[0, "2026-11-28T10:00:00.000Z"]]})
        db.session.commit()
        return str(message.uid)


def test_a_session_is_created_renamed_closed_and_deleted(app, client):
    register(client)
    page = client.get("/workspace").get_data(as_text=True)
    assert "Start a session" in page and 'href="/workspace"' in page  # in the navigation
    created = post(client, "/workspace/sessions", {"title": "DB マイグレーション"})
    [session_id] = session_ids(app)
    assert created.status_code == 303 and created.location == f"/workspace/{session_id}"

    terminal = client.get(f"/workspace/{session_id}")
    html = terminal.get_data(as_text=True)
    assert "DB マイグレーション" in html and 'id="ws-terminal"' in html and 'id="ws-approval"' in html
    policy = terminal.headers["Content-Security-Policy"]
    assert "/static/vendor/xterm.js" in html and "/static/vendor/xterm.css" in html  # ASSET_MODE=local
    assert "style-src" in policy and "'unsafe-inline'" in policy.split("style-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]

    assert post(client, f"/workspace/{session_id}/rename", {"title": "Renamed"}).status_code == 303
    assert "Renamed" in client.get(f"/workspace/{session_id}").get_data(as_text=True)
    assert post(client, f"/workspace/{session_id}/close").status_code == 303
    closed = client.get(f"/workspace/{session_id}").get_data(as_text=True)
    assert "This session is closed" in closed and 'id="ws-form"' not in closed
    assert post(client, f"/workspace/{session_id}/delete").status_code == 303
    assert session_ids(app) == [] and client.get(f"/workspace/{session_id}").status_code == 404


def test_the_terminal_starts_from_the_stored_output(app, client):
    register(client)
    post(client, "/workspace/sessions", {"title": "t"})
    [session_id] = session_ids(app)
    add_output(app, session_id, "\x1b[32mready\x1b[0m</script><b>x</b>\r\n> ")
    html = client.get(f"/workspace/{session_id}").get_data(as_text=True)
    raw = re.search(r'<script type="application/json" id="ws-screen">(.*?)</script>', html, re.S).group(1)
    screen = json.loads(raw)  # the output cannot close the script element early
    assert screen == {"output": "\x1b[32mready\x1b[0m</script><b>x</b>\r\n> ", "since": "2026-11-28T10:00:00.000Z"}


def test_another_persons_session_is_not_found_anywhere(app, client):
    register(client)
    post(client, "/workspace/sessions", {"title": "secret plans"})
    [session_id] = session_ids(app)
    post(client, "/auth/logout")
    register(client, "bob@example.com", "bob")
    for url in (f"/workspace/{session_id}", f"/workspace/{session_id}/transcript"):
        response = client.get(url)
        assert response.status_code == 404 and "secret plans" not in response.get_data(as_text=True)
    for action in ("rename", "close", "delete"):
        assert post(client, f"/workspace/{session_id}/{action}", {"title": "mine"}).status_code == 404
    assert session_ids(app, "alice") == [session_id]
    assert client.post(f"/workspace/{session_id}/delete").status_code == 400  # no CSRF token


def test_search_highlights_and_filters_by_session_and_day(app, client):
    register(client)
    for title in ("first", "second"):
        post(client, "/workspace/sessions", {"title": title})
    first, second = session_ids(app)
    uid = add_output(app, first, "\x1b[1mデータベースのマイグレーション\x1b[0m finished")
    add_output(app, second, "the migration <script>alert(1)</script> failed")
    page = client.get("/workspace/search?q=マイグレーション migration").get_data(as_text=True)
    assert "2 messages found" in page and "<mark>マイグレーション</mark>" in page and "<mark>migration</mark>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert f'href="/workspace/{first}/transcript#m-{uid}"' in page
    assert "2026-" in page and f"session={first}" in page  # facets: sessions and days
    only = client.get(f"/workspace/search?q=migration&session={second}").get_data(as_text=True)
    assert "1 message found" in only and "マイグレーション" not in only.split("found")[1]
    transcript = client.get(f"/workspace/{first}/transcript").get_data(as_text=True)
    assert f'id="m-{uid}"' in transcript and "データベースのマイグレーション finished" in transcript
    assert "\x1b" not in transcript
    assert client.get("/workspace/search?q=x&start=not-a-date").status_code == 200


def test_settings_are_saved_and_bad_values_are_explained(app, client):
    from webapp.accounts.models import User
    from webapp.workspace import settings

    register(client)
    page = client.get("/workspace/settings").get_data(as_text=True)
    assert 'name="fontSize" ' in page and 'value="14"' in page
    saved = post(client, "/workspace/settings", {"theme": "dark", "fontSize": "18", "trustAllTools": "y",
                                                 "timeout": "600", "model": "gpt-4o", "agent": "builtin"})
    assert saved.status_code == 303
    with app.app_context():
        person = db.session.scalar(db.select(User).where(User.username == "alice"))
        assert settings.settings_of(person) == {"theme": "dark", "fontSize": 18, "enableSounds": False,
                                               "autoSave": False, "amazonQSettings": {
                                                   "trustAllTools": True, "timeout": 600, "model": "gpt-4o",
                                                   "agent": "builtin"}}
    refused = post(client, "/workspace/settings", {"theme": "dark", "fontSize": "99", "timeout": "600", "agent": ""})
    assert refused.status_code == 200 and "Number must be between 8 and 32" in refused.get_data(as_text=True)


def test_from_the_cdn_the_policy_names_exactly_the_terminal_files(app_env):
    from webapp import create_app
    from webapp.web.assets import asset_url

    app = create_app(env={**app_env, "ASSET_MODE": "cdn"})
    client = app.test_client()
    register(client)
    post(client, "/workspace/sessions", {"title": "t"})
    [session_id] = session_ids(app)
    response = client.get(f"/workspace/{session_id}")
    policy, html = response.headers["Content-Security-Policy"], response.get_data(as_text=True)
    with app.test_request_context():
        for name in ("xterm", "xterm-fit", "socketio", "htmx"):
            assert asset_url(name) in policy.split("script-src")[1].split(";")[0] and asset_url(name) in html
        assert asset_url("xterm-css") in policy.split("style-src")[1].split(";")[0]
