"""The Chat page: ask the organisation's documents; the answer streams in as the LLM writes it,
with the passages it used (expandable, linked to their files); conversations listed and continued."""

from __future__ import annotations

import json

from flask import (Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.chats import service
from webapp.errors import DomainError, NotFound
from webapp.extensions import limiter
from webapp.tenants.service import models_of
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm

bp = Blueprint("chats", __name__)
require_sign_in(bp)
MAX_QUERY = 1000


@bp.get("/chat")
@bp.get("/chat/<session_id>")
def page(session_id: str | None = None):
    current, messages = service.conversation(current_user, session_id) if session_id else (None, [])
    return render_template("chats/page.html", conversations=service.conversations(current_user), current=current,
                           messages=messages, has_llm=bool(models_of(current_user.tenant_id)))


@bp.post("/chat/ask")
@limiter.limit(lambda: current_app.config["CHAT_RATE_LIMITS"], key_func=lambda: f"chat:{current_user.id}")
def ask():
    """Server-sent events over the POST's own response: sources, deltas, then done (or error)."""
    if not ActionForm().validate_on_submit():
        return jsonify(error=str(_l("Your session expired. Reload the page and try again."))), 400
    query = request.form.get("query", "").strip()
    if not query or len(query) > MAX_QUERY or "\x00" in query:
        return jsonify(error=str(_l("Ask a question of 1 to %(max)s characters.", max=MAX_QUERY))), 400
    try:
        session_id = None
        if request.form.get("session_id"):
            session_id = service.parse_id(request.form["session_id"])
            if session_id is None:
                raise NotFound(_l("No such conversation: start a new one without session_id."))
        question = service.Question(query=query, session_id=session_id)
        events = service.ask_streaming(service.Asker(tenant_id=current_user.tenant_id, user_id=current_user.id,
                                                     locale=str(get_locale())), question)
    except DomainError as error:
        return jsonify(error=str(error.message)), error.status

    def stream():
        for event in events:
            yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@bp.post("/chat/<session_id>/delete")
def delete(session_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    service.delete_conversation(current_user, session_id)
    return redirect(url_for(".page"), 303)
