"""E-mail end to end: a real SMTP server on loopback, a real Huey consumer, the whole usage-key flow."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, post, register
from tests.gunicorn_server import free_port
from tests.smtp_server import SmtpServer, html_of, text_of
from webapp import create_app
from webapp.db.orm import db
from webapp.jobs import jobs_of
from webapp.mail.models import MailMessage

KEY = re.compile(r"adk_usg_[A-Za-z0-9]+_[A-Za-z0-9]+")
LINK = re.compile(r"https?://\S+")


class Consumer:
    """`python -m webapp.jobs`, as make run starts it."""

    def __init__(self, env: dict, log: Path):
        self.log = log.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "webapp.jobs", "--max-delay", "0.2"], cwd=ROOT,
                                        env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def mail_env(request, app_env, tmp_path):
    """The consumer on Huey's SQLite file (make run) and on Redis (several hosts)."""
    port = free_port()
    queue = f"sqlite:///{tmp_path / 'jobs.sqlite3'}" if request.param == "sqlite-queue" \
        else request.getfixturevalue("redis_url")
    env = {**app_env, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_RETRY_SECONDS": "0.5",
           "MAIL_TIMEOUT": "5", "JOBS_URL": queue, "MAIL_DEFAULT_SENDER": "AgentDesk <desk@example.com>"}
    jobs_of(create_app(env=env)).huey.flush()  # nothing left over from another test's queue
    consumer = Consumer(env, tmp_path / "consumer.log")
    yield env, port
    consumer.stop()


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_request_admin_mail_approve_reveal_review(mail_env):
    env, port = mail_env
    smtp = SmtpServer(port).start()
    try:
        app = create_app(env=env)
        admin = app.test_client()
        admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        assert register(admin, "admin@example.com", "admin").status_code == 302  # the first account: admin
        requester = app.test_client()
        asked = requester.post("/usagekey", json={"username": "Tom Hanks", "email": "tomtom@example.com"},
                               headers={"Accept-Language": "ja"})
        assert asked.json == {"status": "PENDING"}

        [to_admin] = smtp.inbox.wait_for(to="admin@example.com")
        assert to_admin["From"] == "AgentDesk <desk@example.com>"
        assert "Tom Hanks" in to_admin["Subject"]
        assert "tomtom@example.com" in text_of(to_admin) and "tomtom@example.com" in html_of(to_admin)
        approval_page = admin.get(path_of(LINK.search(text_of(to_admin)).group(0)))
        assert approval_page.status_code == 200 and "Tom Hanks" in approval_page.text
        key_id = int(re.search(r'id="key-(\d+)"', approval_page.text).group(1))
        assert post(admin, f"/admin/usage-keys/{key_id}/approve", {f"key{key_id}-quota": "3"}).status_code == 302

        [to_requester] = smtp.inbox.wait_for(to="tomtom@example.com")
        # (strip: the encoded subject is folded after "Subject:", which parsers keep as a leading space)
        assert to_requester["Subject"].strip() == "コードレビュー用のキーの準備ができました"  # asked in Japanese
        plain, html = text_of(to_requester), html_of(to_requester)
        assert not KEY.search(plain + html)  # the key is never in a mail
        link = path_of(LINK.search(plain).group(0))
        assert link in html
        visitor = app.test_client()
        shown = post(visitor, link)
        raw = KEY.search(shown.text).group(0)
        assert post(visitor, link).status_code == 410  # once only

        with app.app_context():  # delivered: the one-time link no longer sits in the database
            message = db.session.scalars(db.select(MailMessage).where(MailMessage.kind == "usage_key.approved")).one()
            assert message.status == "sent" and link not in message.text_body + message.html_body
        reviewed = requester.post("/codereview", json={"source_base64": "ZGVmIGYoKTogcGFzcwo=", "language": "Python"},
                                  headers={"x-api-key": raw})
        assert reviewed.status_code == 200 and reviewed.json["review_result"] in ("OK", "NG")
    finally:
        smtp.stop()


def test_a_dead_smtp_server_never_fails_the_request_and_the_mail_arrives_later(mail_env):
    env, port = mail_env
    app = create_app(env=env)
    register(app.test_client(), "admin@example.com", "admin")
    started = time.monotonic()
    asked = app.test_client().post("/usagekey", json={"username": "Tom", "email": "tom@example.com"})
    assert asked.json == {"status": "PENDING"}
    assert time.monotonic() - started < 2  # nothing waited for SMTP

    def message() -> MailMessage:
        with app.app_context():
            return db.session.scalars(db.select(MailMessage)).one()

    deadline = time.monotonic() + 20
    while message().attempts < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    failing = message()
    assert failing.status in ("retrying", "sending") and failing.attempts >= 2
    assert "Connection refused" in failing.last_error or "ConnectionRefused" in failing.last_error

    smtp = SmtpServer(port).start()  # the server comes back
    try:
        [arrived] = smtp.inbox.wait_for(to="admin@example.com", timeout=30)
        assert "Tom" in arrived["Subject"]
        deadline = time.monotonic() + 10
        while message().status != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert message().status == "sent"
    finally:
        smtp.stop()


def test_without_smtp_admins_read_the_outbox(app, admin_client):
    admin_client.post("/usagekey", json={"username": "Tom", "email": "tom@example.com"})
    outbox = admin_client.get("/admin/outbox")
    assert outbox.status_code == 200 and "No SMTP server is configured" in outbox.text
    message_id = re.search(r"/admin/outbox/(\d+)", outbox.text).group(1)
    page = admin_client.get(f"/admin/outbox/{message_id}")
    assert "Tom" in page.text and "/admin/usage-keys?tab=pending" in page.text
    member = app.test_client()
    register(member, "member@example.com", "member")
    assert member.get("/admin/outbox").status_code == 403
    assert member.get(f"/admin/outbox/{message_id}").status_code == 403
