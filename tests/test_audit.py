"""The audit log records security events, and admins can filter it."""

import re
from datetime import datetime, timedelta, timezone

from tests.conftest import login, logout, register, users_by_email
from webapp.audit.models import AuditEvent
from webapp.db.orm import db

HX = {"HX-Request": "true"}


def actions(html: str) -> list[str]:
    return re.findall(r"<td><span title=\"([a-z_.]+)\">", html)


def test_every_security_event_is_recorded_with_ip(admin_client, app):
    logout(admin_client)
    login(admin_client, "admin", "Wrong-1-password")
    login(admin_client, "admin")
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        seen = [(e.action, e.outcome, e.actor_label) for e in rows]
        assert all(e.ip_address == "127.0.0.1" for e in rows)
    assert seen == [("auth.register", "success", "admin@example.com"), ("auth.logout", "success", "admin@example.com"),
                    ("auth.login", "failure", "admin"), ("auth.login", "success", "admin@example.com")]


def test_audit_page_filters_by_action_actor_outcome_and_date(admin_client, app):
    logout(admin_client)
    login(admin_client, "ghost@example.com", "Wrong-1-password")
    login(admin_client, "admin")
    with app.app_context():
        old = AuditEvent(action="auth.login", actor_label="old@example.com", ip_address="10.0.0.1",
                         created_at=datetime(2026, 1, 15, 12, tzinfo=timezone.utc))
        db.session.add(old)
        db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "<html" in page and actions(page)[0] == "auth.login" and len(actions(page)) == 5
    assert actions(admin_client.get("/admin/audit?action=auth.logout", headers=HX).get_data(as_text=True)) == ["auth.logout"]
    failures = admin_client.get("/admin/audit?outcome=failure", headers=HX).get_data(as_text=True)
    assert actions(failures) == ["auth.login"] and "ghost@example.com" in failures
    assert len(actions(admin_client.get("/admin/audit?actor=GHOST", headers=HX).get_data(as_text=True))) == 1
    january = admin_client.get("/admin/audit?since=2026-01-01&until=2026-01-31", headers=HX).get_data(as_text=True)
    assert "old@example.com" in january and len(actions(january)) == 1
    today = datetime.now(timezone.utc).date()
    recent = admin_client.get(f"/admin/audit?since={today - timedelta(days=1)}", headers=HX).get_data(as_text=True)
    assert "old@example.com" not in recent and len(actions(recent)) == 4
    # A malformed date is ignored rather than failing the page.
    assert admin_client.get("/admin/audit?since=yesterday").status_code == 200


def test_admin_changes_are_audited_with_target(admin_client, app):
    from tests.conftest import post

    register(app.test_client(), "bob@example.com", "bob")
    bob = users_by_email(app)["bob@example.com"]
    post(admin_client, f"/admin/users/{bob.id}/admin/1", headers=HX)
    post(admin_client, f"/admin/users/{bob.id}/admin/0", headers=HX)
    html = admin_client.get("/admin/audit?action=admin.", headers=HX).get_data(as_text=True)
    assert actions(html) == ["admin.user.revoke_admin", "admin.user.grant_admin"]
    assert html.count("bob@example.com") == 2


def test_api_calls_filter_by_token_and_export_as_csv(admin_client, app):
    import csv
    import io

    from tests.api_helpers import OPENAI, bearer, make_token, make_user, set_config

    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    first_id, first = make_token(app)
    _, second = make_token(app)
    api = app.test_client()
    api.get("/v1/users/github/octo/llm-config", headers=bearer(first))
    api.get("/v1/users/github/nobody/llm-config", headers=bearer(second))
    html = admin_client.get(f"/admin/audit?token={first_id}", headers=HX).get_data(as_text=True)
    assert actions(html) == ["api.get_llm_config"] and "github:octo" in html and "github:nobody" not in html
    response = admin_client.get("/admin/audit/export.csv?action=api.")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["action"], r["target"], r["status_code"]) for r in rows] == [
        ("api.get_llm_config", "github:nobody", "404"), ("api.get_llm_config", "github:octo", "200")]
    assert all(r["latency_ms"] != "" and r["ip_address"] == "127.0.0.1" for r in rows)


def test_csv_export_is_admin_only(client):
    register(client, "admin@example.com", "admin")
    logout(client)
    register(client, "bob@example.com", "bob")
    assert client.get("/admin/audit/export.csv").status_code == 403
