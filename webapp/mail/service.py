"""Compose e-mail into the outbox and deliver it over SMTP from a background job, with retries.

A message is written in the recipient's language (plain text + HTML, from templates/mail/), stored,
and its delivery queued after the caller commits: no request ever waits for an SMTP server. The
sender claims a message by compare-and-set, so a job that runs twice sends once; a failed attempt
is retried after MAIL_RETRY_SECONDS, doubled each time, up to MAIL_MAX_ATTEMPTS; a sweeper finds
messages whose job was lost. Without MAIL_SERVER, messages are kept for admins to read.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import or_, select, update

from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.jobs import enqueue, job
from webapp.mail.models import MailMessage

DELIVERED_SENSITIVE = "(This message held a one-time link. Its text was removed after delivery.)"
STUCK_AFTER = timedelta(minutes=10)  # a send that never finished (the consumer died mid-way)
LOST_AFTER = timedelta(seconds=60)  # queued this long without being claimed: its job was lost


def public_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, built on PUBLIC_URL (a request's Host header is the caller's choice)."""
    anchor = values.pop("_anchor", None)
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def compose(kind: str, to: str, template: str, *, locale: str, subject: str, sensitive: bool = False,
            **context) -> MailMessage:
    """Add a message to the session (the caller commits, then calls `dispatch`). `subject` is a
    lazy string, rendered in `locale` like the templates mail/<template>.txt and .html."""
    locale = locale if locale in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
    # Straight from the Jinja environment: no page context (no signed-in user, no request) is needed,
    # so a job or the shell can write mail too.
    jinja = current_app.jinja_env
    with force_locale(locale):
        subject = str(subject)
        text = jinja.get_template(f"mail/{template}.txt").render(subject=subject, current_locale=locale, **context)
        html = jinja.get_template(f"mail/{template}.html").render(subject=subject, current_locale=locale, **context)
    message = MailMessage(kind=kind, to_address=to, subject=subject[:200], text_body=text, html_body=html,
                          locale=locale, sensitive=sensitive,
                          status="queued" if configured() else "kept")
    db.session.add(message)
    return message


def configured() -> bool:
    return bool(current_app.config["MAIL_SERVER"])


def dispatch(messages: list[MailMessage]) -> None:
    """After commit: queue each message's delivery, or log where a kept one can be read."""
    for message in messages:
        if message.status == "kept":
            current_app.logger.info("mail kept in the outbox (no MAIL_SERVER): #%s %s to %s; read it at %s",
                                    message.id, message.kind, message.to_address,
                                    public_url("mail.message", message_id=message.id))
        else:
            enqueue("mail.send", message.id)


def recent(limit: int = 100) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).order_by(MailMessage.id.desc()).limit(limit)))


def get(message_id: int) -> MailMessage | None:
    return db.session.get(MailMessage, message_id)


def retry(message_id: int) -> MailMessage | None:
    """An admin asks for another attempt at a failed message (or a kept one, once SMTP is configured)."""
    message = db.session.get(MailMessage, message_id)
    if message is None or message.status not in ("failed", "kept") or not configured():
        return message
    message.status, message.attempts, message.last_error, message.next_attempt_at = "queued", 0, None, None
    db.session.commit()
    dispatch([message])
    return message


@job("mail.send")
def send(message_id: int) -> None:
    claimed = db.session.execute(
        update(MailMessage).where(MailMessage.id == message_id, MailMessage.status.in_(("queued", "retrying")))
        .values(status="sending", attempts=MailMessage.attempts + 1, next_attempt_at=utcnow())).rowcount
    db.session.commit()
    if not claimed:
        return  # sent, failed for good, or another worker has it
    message = db.session.get(MailMessage, message_id)
    try:
        _deliver(message)
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        _failed(message, error)
        return
    message.status, message.sent_at, message.last_error, message.next_attempt_at = "sent", utcnow(), None, None
    if message.sensitive:
        message.text_body = message.html_body = DELIVERED_SENSITIVE
    db.session.commit()


def _deliver(message: MailMessage) -> None:
    email = EmailMultiAlternatives(message.subject, message.text_body, current_app.config["MAIL_DEFAULT_SENDER"],
                                   [message.to_address])
    email.attach_alternative(message.html_body, "text/html")
    email.send(fail_silently=False)


def _failed(message: MailMessage, error: Exception) -> None:
    config = current_app.config
    reason = f"{error.__class__.__name__}: {error}"[:500]
    current_app.logger.warning("mail #%s to %s: attempt %s failed: %s", message.id, message.to_address,
                               message.attempts, reason)
    message.last_error = reason
    if message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        message.status, message.next_attempt_at = "failed", None
        db.session.commit()
        return
    delay = config["MAIL_RETRY_SECONDS"] * 2 ** (message.attempts - 1)
    message.status, message.next_attempt_at = "retrying", utcnow() + timedelta(seconds=delay)
    db.session.commit()
    enqueue("mail.send", message.id, delay=delay)


@job("mail.sweep", every_minute=True)
def sweep() -> None:
    """Queue again what a lost job left behind: queued and never claimed, due retries, dead sends."""
    now = utcnow()
    stuck = or_(
        (MailMessage.status == "queued") & (MailMessage.created_at < now - LOST_AFTER),
        (MailMessage.status == "retrying") & (MailMessage.next_attempt_at < now - LOST_AFTER),
        (MailMessage.status == "sending") & (MailMessage.next_attempt_at < now - STUCK_AFTER))
    ids = list(db.session.scalars(select(MailMessage.id).where(stuck).limit(500)))
    if ids:
        db.session.execute(update(MailMessage).where(MailMessage.id.in_(ids), MailMessage.status == "sending")
                           .values(status="retrying"))
        db.session.commit()
    for message_id in ids:
        enqueue("mail.send", message_id)
