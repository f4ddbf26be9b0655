"""The Documents page: drag-and-drop uploads with per-file progress, the organisation's documents
with live ingest status (server-sent events), filters, search, delete, retry, download."""

from __future__ import annotations

import json
import time

from flask import (Blueprint, Response, abort, current_app, jsonify, render_template, request, send_file,
                   stream_with_context)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.documents import service
from webapp.documents.models import FILE_TYPES, STATUSES
from webapp.errors import DomainError
from webapp.extensions import limiter
from webapp.outbound import KeyedSlots
from webapp.remote_addr import client_ip
from webapp.tenants.service import administers
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm

bp = Blueprint("documents", __name__)
require_sign_in(bp)
PAGE_SIZE = 200
STREAM_SECONDS = 300  # an event stream lasts this long at most; the browser opens another if needed
STREAMS_PER_PERSON = 4  # open status streams per person and worker (a few tabs); more are told "busy"
STREAMS = KeyedSlots()
STATUS_LABELS = {"pending": _l("Waiting"), "processing": _l("Reading"), "completed": _l("Ready"),
                 "failed": _l("Failed")}
STATUS_TONES = {"pending": "info", "processing": "warn", "completed": "ok", "failed": "off"}


def _filters() -> service.DocumentFilter:
    file_type, status = request.args.get("file_type"), request.args.get("status")
    return service.DocumentFilter(file_type if file_type in FILE_TYPES else None,
                                  status if status in STATUSES else None, request.args.get("q", "")[:200])


def _table(status_code: int = 200):
    filters = _filters()
    documents = service.list_documents(current_user, filters, limit=PAGE_SIZE)
    return render_template("documents/_table.html", documents=documents, filters=filters,
                           labels=STATUS_LABELS, tones=STATUS_TONES,
                           is_admin=administers(current_user)), status_code


@bp.get("/documents")
def page():
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "documents-table":
        return _table()
    filters = _filters()
    return render_template("documents/page.html", documents=service.list_documents(current_user, filters,
                                                                                    limit=PAGE_SIZE),
                           filters=filters, labels=STATUS_LABELS, tones=STATUS_TONES, file_types=FILE_TYPES,
                           is_admin=administers(current_user), vectors=service.embedding_progress(current_user),
                           max_bytes=current_app.config["UPLOAD_MAX_BYTES"])


@bp.post("/documents/upload")
@limiter.limit(lambda: current_app.config["UPLOAD_RATE_LIMITS"], key_func=lambda: f"upload:{current_user.id}")
def upload():
    """One file per request (the page sends each dropped file on its own, for its progress bar)."""
    request.max_content_length = current_app.config["UPLOAD_MAX_BYTES"] + 1024 * 1024
    try:
        if not ActionForm().validate_on_submit():  # reads the form: a body too large stops here (413)
            return jsonify(error=str(_l("Your session expired. Reload the page and try again."))), 400
        upload = request.files.get("file")
        if upload is None:
            return jsonify(error=str(_l("Choose a file to upload."))), 400
        document = service.store_upload(current_user, upload.stream, upload.filename or "",
                                        title=request.form.get("title") or None, ip=client_ip())
    except DomainError as error:
        return jsonify(error=str(error.message)), error.status
    return jsonify(id=str(document.id), status=document.status), 201


@bp.post("/documents/<document_id>/delete")
def delete(document_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    service.delete_document(current_user, document_id, ip=client_ip())
    return _table()


@bp.post("/documents/<document_id>/retry")
def retry(document_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.retry(current_user, document_id, ip=client_ip())
    except DomainError as error:
        if error.status != 409:
            raise
    return _table()


@bp.get("/documents/<document_id>/file")
def download(document_id: str):
    document, path = service.file_path(current_user, document_id)
    if not path.is_file():
        abort(404)
    mimetype = {"pdf": "application/pdf", "txt": "text/plain; charset=utf-8",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[document.file_type]
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=document.file_name,
                         conditional=True, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/documents/events")
@limiter.limit("60 per minute", key_func=lambda: f"document-events:{current_user.id}")
def events():
    """Server-sent events: `document` with each state change of the organisation's documents, and
    `idle` when nothing is left to read (the page closes the stream then)."""
    user = current_user._get_current_object()

    def stream():
        if not STREAMS.take(user.id, STREAMS_PER_PERSON):
            yield "event: busy\ndata: {}\n\n"
            return
        try:
            yield from follow()
        finally:
            STREAMS.give_back(user.id)

    def follow():
        seen: dict[str, service.DocumentState] = {}
        ends, quiet = time.monotonic() + STREAM_SECONDS, 0
        yield "retry: 3000\n\n"
        while time.monotonic() < ends:
            states = service.document_states(user)
            for state in states:
                if seen.get(state.id) != state:
                    seen[state.id] = state
                    yield f"event: document\ndata: {json.dumps(state.__dict__)}\n\n"
            if all(state.finished for state in states):
                yield "event: idle\ndata: {}\n\n"
                return
            quiet += 1
            if quiet % 15 == 0:
                yield ": still here\n\n"
            time.sleep(1)  # gevent's sleep under gunicorn: the worker keeps serving others

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
