"""`flask --app wsgi users create ...` exactly as DESIGN.md writes it."""

from tests.conftest import login
from webapp.accounts.models import User
from webapp.db.orm import db


def test_users_create_with_admin_and_identities(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Ops@Example.com", "--password", "Sup3rSecret",
                                 "--username", "ops", "--admin", "--github", "OpsBot", "--gitlab", "ops-gl"])
    assert result.exit_code == 0, result.output
    assert "Created admin ops@example.com (github:OpsBot, gitlab:ops-gl)" in result.output
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert user.is_admin and user.username == "ops"
        assert {(i.platform, i.login, i.provider_user_id) for i in user.identities} == {
            ("github", "OpsBot", None), ("gitlab", "ops-gl", None)}
    assert login(client, "ops", "Sup3rSecret").location == "/"


def test_users_create_refuses_bad_input_and_writes_nothing(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["users", "create", "a@example.com", "--password", "Sup3rSecret"])
    cases = [
        (["users", "create", "not-an-email", "--password", "Sup3rSecret"], "valid e-mail"),
        (["users", "create", "b@example.com", "--password", "weak"], "at least 8"),
        (["users", "create", "A@example.com", "--password", "Sup3rSecret"], "already exists"),
        (["users", "create", "c@example.com", "--password", "Sup3rSecret", "--github", "bad login"], "exactly as on"),
        (["users", "create", "d@example.com", "--password", "Sup3rSecret", "--username", "x"], "3 to 100"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
