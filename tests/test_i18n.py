"""Japanese and English: every message translated, preference first, then Accept-Language."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo

from tests.conftest import csrf_token, register

ROOT = Path(__file__).resolve().parent.parent


def extracted_messages() -> set[str]:
    method_map = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_user_facing_message_has_a_japanese_translation():
    with open(ROOT / "webapp/translations/ja/LC_MESSAGES/messages.mo", "rb") as fh:
        catalog = read_mo(fh)
    translated = {(m.id[0] if isinstance(m.id, (tuple, list)) else m.id) for m in catalog if m.id and m.string}
    missing = sorted(extracted_messages() - translated)
    assert missing == [], f"run `make messages`, translate these in messages.po: {missing}"


def test_accept_language_picks_the_language(client):
    assert "サインイン" in client.get("/auth/login", headers={"Accept-Language": "ja,en;q=0.5"}).get_data(as_text=True)
    html = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in to AgentDesk" in html and '<html lang="en">' in html


def test_default_is_japanese_when_the_browser_names_neither(client):
    html = client.get("/auth/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "AgentDesk にサインイン" in html and '<html lang="ja">' in html


def test_switcher_sets_the_language_for_anonymous_visitors(client):
    response = client.post("/language", data={"lang": "ja", "next": "/auth/login", "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.location == "/auth/login"
    assert "AgentDesk にサインイン" in client.get("/auth/login").get_data(as_text=True)


def test_signed_in_preference_is_stored_and_beats_the_browser(client, app):
    register(client)
    client.post("/language", data={"lang": "ja", "next": "/", "csrf_token": csrf_token(client)})
    fresh = app.test_client()
    fresh.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    from tests.conftest import login

    login(fresh)
    home = fresh.get("/").get_data(as_text=True)
    assert '<h1>ホーム</h1>' in home and 'class="whoami">alice<' in home


def test_switcher_refuses_unknown_languages_and_foreign_next(client):
    token = csrf_token(client)
    response = client.post("/language", data={"lang": "xx", "next": "https://evil.example/", "csrf_token": token})
    assert response.location == "/"
    assert "Sign in to AgentDesk" in client.get("/auth/login").get_data(as_text=True)


def test_field_errors_are_translated(client):
    from tests.conftest import post

    response = post(client, "/auth/register", {"email": "bad", "username": "a", "password": "x", "confirm": "x"},
                    headers={"Accept-Language": "ja"})
    html = response.get_data(as_text=True)
    assert "正しいメールアドレスを入力してください。" in html and "英数字とアンダースコアで 3〜100 文字にしてください。" in html
