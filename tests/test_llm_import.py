"""`flask --app wsgi llm-config import CONFIG_YAML --platform P --username U` for legacy config.yaml files."""

import pytest

from tests.api_helpers import bearer, make_token, make_user
from webapp.accounts.models import Identity, User
from webapp.db.orm import db
from webapp.llm_configs.models import LLMConfig

LEGACY = """\
llm:
  provider: "lmstudio"
  function_calling: true
  openai:
    api_key: "sk-proj-legacy0123456789abcdefWXYZ"
    base_url: "https://api.openai.com/v1"
    model: "gpt-4o"
    max_token: 40960
  lmstudio:
    base_url: "localhost:1234"
    context_length: 32768
    model: "qwen3-30b-a3b-mlx"
  ollama:
    endpoint: "http://localhost:11434"
    model: "qwen3-30b-a3b-mlx"
    max_token: 32768
max_llm_process_num: 500
system_prompt: |
  あなたは優秀なコーディングアシスタントです。
github:
  owner: notfolder
"""


def run(app, tmp_path, text, *args):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["llm-config", "import", str(path), *args])


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(db.select(db.func.count()).select_from(m)) for m in (User, Identity, LLMConfig))


def test_import_creates_a_reserved_login_and_the_api_serves_it(app, tmp_path):
    make_user(app, "admin@example.com", admin=True)
    result = run(app, tmp_path, LEGACY, "--platform", "github", "--username", "notfolder")
    assert result.exit_code == 0, result.output
    assert "Imported LLM settings for github:notfolder (login reserved" in result.output
    _, raw = make_token(app)
    data = app.test_client().get("/v1/users/github/notfolder/llm-config", headers=bearer(raw)).json["data"]
    assert data["llm_config"] == {"provider": "lmstudio", "function_calling": True, "openai": None, "ollama": None,
                                  "lmstudio": {"base_url": "localhost:1234", "context_length": 32768,
                                               "model": "qwen3-30b-a3b-mlx"}}
    assert data["max_llm_process_num"] == 500 and data["system_prompt"].startswith("あなたは優秀な")
    with app.app_context():
        row = db.session.scalar(db.select(LLMConfig))
        assert row.openai_model == "gpt-4o" and row.openai_api_key.startswith("gAAAA")


def test_import_into_an_existing_user(app, tmp_path):
    user_id = make_user(app, "octo@example.com", gitlab="octo")
    assert run(app, tmp_path, LEGACY, "--platform", "gitlab", "--username", "OCTO").exit_code == 0
    with app.app_context():
        assert db.session.scalar(db.select(LLMConfig.user_id)) == user_id
    assert counts(app) == (1, 1, 1)


@pytest.mark.parametrize("text, message", [
    ("llm: [unclosed", "not valid YAML (line 1"),
    ("just a string", "no `llm:` section"),
    ("llm:\n  provider: claude\n", "Unknown provider 'claude'"),
    ("llm:\n  provider: ollama\n  ollama:\n    max_token: lots\n", "whole number"),
    ("llm:\n  provider: ollama\n  function_calling: maybe\n", "true or false"),
    ("llm:\n  provider: ollama\n  ollama: nope\n", "must be a mapping"),
])
def test_bad_files_get_a_clear_error_and_change_nothing(app, tmp_path, text, message):
    before = counts(app)
    result = run(app, tmp_path, text, "--platform", "github", "--username", "someone")
    assert result.exit_code != 0 and message in result.output, result.output
    assert counts(app) == before


def test_bad_login_is_refused(app, tmp_path):
    result = run(app, tmp_path, LEGACY, "--platform", "github", "--username", "not valid")
    assert result.exit_code != 0 and "exactly as on GitHub" in result.output
