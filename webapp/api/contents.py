"""Spec 001 §3.3: a tenant's documents — list, upload (multipart, streamed to disk, typed by
content, 100 MB), delete. Spec 001's shapes; errors {"detail", "error_code", "timestamp"}."""

from __future__ import annotations

from typing import Literal

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field, RootModel

from webapp.api.credentials import PERSON_OR_AGENT
from webapp.documents import service
from webapp.documents.models import Document
from webapp.errors import BadRequest, Forbidden
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.declarations import Reply, body_limit, operation, requires
from webapp.machine.families import RAG
from webapp.machine.inputs import parse_query
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip

TAGS = ("Documents (spec 001)",)
MULTIPART_SLACK = 1024 * 1024  # the form's other fields and boundaries, beyond the file itself
bp = MachineBlueprint("api_contents", __name__, family=RAG, credentials=[PERSON_OR_AGENT],
                      rate_limits="API_RATE_LIMITS")
# Uploads count apart: 10 a minute per caller (spec 001 §6).
uploads = MachineBlueprint("api_contents_upload", __name__, family=RAG, credentials=[PERSON_OR_AGENT],
                           rate_limits="UPLOAD_RATE_LIMITS")


class ContentsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    skip: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=100, ge=1, le=1000)
    file_type: Literal["pdf", "txt", "docx"] | None = None
    status: Literal["pending", "processing", "completed", "failed"] | None = None
    search: str = Field(default="", max_length=200)


class ContentItem(BaseModel):
    id: str
    file_name: str
    file_type: str
    title: str
    status: str
    file_size: int
    created_at: str
    progress: int = Field(description="Ingest progress, 0-100 (an addition to spec 001)")
    failure_reason: str | None = None


class ContentList(RootModel[list[ContentItem]]):
    """Spec 001 answers the list as a bare JSON array."""


class UploadForm(BaseModel):
    file: bytes = Field(description="PDF, DOCX or UTF-8 text, at most 100 MB; the type is read from the contents")
    title: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    tags: str | None = Field(default=None, description="Comma-separated", max_length=1000)


class Deleted(BaseModel):
    message: str


def acting_person(*, administering: bool = False):
    """The active person the credential speaks for: spec 001's resources belong to their organisation.
    `administering`: a change only the organisation's administrators make, and only signed in (a
    JWT) -- a personal token is an agent's, and does not administer the organisation."""
    principal = current_call().principal
    user = service.member(principal.user_id)
    if user is None:
        raise Forbidden("Documents belong to an organisation: sign in as a person (POST /api/v1/auth/login).",
                        code="PERMISSION_DENIED")
    if administering and principal.kind != "user":
        raise Forbidden("Administering the organisation needs a sign-in (POST /api/v1/auth/login), not a token.",
                        code="PERMISSION_DENIED")
    return user


def _item(document: Document) -> dict:
    return {"id": str(document.id), "file_name": document.file_name, "file_type": document.file_type,
            "title": document.title, "status": document.status, "file_size": document.file_size,
            "created_at": document.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "progress": document.progress,
            "failure_reason": document.failure_reason}


@bp.get("/api/v1/contents")
@requires()
@operation("The organisation's documents, newest first", "listContents", query=ContentsQuery, tags=TAGS,
           responses={200: Reply("The documents", ContentList)},
           errors={403: "PERMISSION_DENIED: a credential of no one", 400: "VALIDATION_ERROR: a filter is not valid"})
def list_contents():
    query = parse_query(ContentsQuery)
    documents = service.list_documents(acting_person(), service.DocumentFilter(query.file_type, query.status, query.search),
                                       skip=query.skip, limit=query.limit)
    return jsonify([_item(document) for document in documents])


@uploads.post("/api/v1/contents/upload")
@requires()
@body_limit(100 * 1024 * 1024 + MULTIPART_SLACK)
@operation("Upload a document (organisation admins)", "uploadContent", form=UploadForm, tags=TAGS,
           responses={201: Reply("Stored; ingest follows (status pending)", ContentItem)},
           errors={400: "VALIDATION_ERROR / UNSUPPORTED_FILE_TYPE: no file, an empty one, or not PDF, DOCX or text",
                   403: "PERMISSION_DENIED: not an administrator of the organisation",
                   413: "FILE_TOO_LARGE: over 100 MB"})
def upload_content():
    actor = acting_person(administering=True)
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Send the file as multipart/form-data in a field named 'file'.", code="VALIDATION_ERROR",
                         details={"field": "file"})
    form = request.form
    document = service.store_upload(actor, upload.stream, upload.filename or "", title=form.get("title"),
                                    description=form.get("description", ""), tags=form.get("tags", ""),
                                    ip=client_ip())
    current_call().target = f"document {document.id}"
    response = jsonify(_item(document))
    response.status_code = 201
    return response


@bp.delete("/api/v1/contents/<file_id>")
@requires()
@operation("Delete a document, its file and its index entries (organisation admins)", "deleteContent", tags=TAGS,
           responses={200: Reply("Deleted", Deleted)},
           errors={403: "PERMISSION_DENIED: not an administrator of the organisation",
                   404: "RESOURCE_NOT_FOUND: no such document in this organisation"})
def delete_content(file_id: str):
    current_call().target = f"document {file_id[:40]}"
    service.delete_document(acting_person(administering=True), file_id, ip=client_ip())
    return jsonify(message="ファイルが削除されました")  # spec 001's words, as its clients expect them
