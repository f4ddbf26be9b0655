"""Spec 001 §3.3 documents: upload (streamed, typed by content, 100 MB), list, delete, tenant-scoped."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.api_helpers import bearer
from webapp import create_app
from webapp.db.orm import db
from webapp.documents.models import Document

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "社内規程: 有給休暇は入社 6 か月後に付与されます。\nLeave is granted after six months.\n".encode()


def docx_bytes(with_document: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        if with_document:
            archive.writestr("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p>"
                                                  "</w:body></w:document>")
    return buffer.getvalue()


@pytest.fixture
def setup(app_env, tmp_path):
    app = create_app(env={**app_env, "UPLOAD_DIR": str(tmp_path / "uploads"), "UPLOAD_MAX_BYTES": "50000"})
    client = app.test_client()

    def person(email: str, username: str, tenant: str) -> dict:
        created = client.post("/api/v1/auth/register", json={"email": email, "username": username,
                                                             "password": "Password123", "tenant_name": tenant})
        assert created.status_code == 201, created.json
        token = client.post("/api/v1/auth/login", json={"email": email, "password": "Password123"}).json
        return bearer(token["access_token"])

    admin = person("admin@example.com", "admin_a", "Company A")  # the first account: organisation admin
    member = person("member@example.com", "member_b", "Company B")
    return app, client, admin, member, tmp_path / "uploads"


def upload(client, headers, data: bytes, name="document.pdf", **fields):
    return client.post("/api/v1/contents/upload", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), **fields})


def rows(app) -> list[Document]:
    with app.app_context():
        return list(db.session.scalars(db.select(Document)))


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize("data, name, file_type", [
    (PDF, "report.pdf", "pdf"), (docx_bytes(), "memo.docx", "docx"), (TEXT, "rules.txt", "txt"),
    (PDF, "named-wrongly.txt", "pdf"), (TEXT, "looks-like.pdf", "txt"),
])
def test_the_type_comes_from_the_contents(setup, data, name, file_type):
    app, client, admin, _, folder = setup
    answer = upload(client, admin, data, name, title="規程", tags="hr, policy")
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert (body["file_type"], body["file_name"], body["title"], body["status"], body["file_size"]) == (
        file_type, name, "規程", "pending", len(data))
    [stored] = stored_files(folder)
    assert stored.read_bytes() == data and name not in str(stored)  # kept under a generated name
    assert oct(stored.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("data, name, code", [
    (b"", "empty.txt", "VALIDATION_ERROR"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image.pdf", "UNSUPPORTED_FILE_TYPE"),
    (docx_bytes(with_document=False), "not-word.docx", "UNSUPPORTED_FILE_TYPE"),
    (b"PK\x03\x04 broken zip", "broken.docx", "UNSUPPORTED_FILE_TYPE"),
    ("caf\xe9".encode("latin-1") * 10, "latin1.txt", "UNSUPPORTED_FILE_TYPE"),
    ("plain text ending in caf\xe9".encode("latin-1"), "ends-badly.txt", "UNSUPPORTED_FILE_TYPE"),
])
def test_bad_files_are_refused_and_nothing_is_kept(setup, data, name, code):
    app, client, admin, _, folder = setup
    answer = upload(client, admin, data, name)
    assert answer.status_code == 400 and answer.json["error_code"] == code, answer.json
    assert set(answer.json) == {"detail", "error_code", "timestamp"}
    assert rows(app) == [] and stored_files(folder) == []


def test_over_the_limit_is_413_while_streaming(setup):
    app, client, admin, _, folder = setup
    answer = upload(client, admin, TEXT * 1000, "big.txt")  # ~100 KB against a 50 KB limit
    assert answer.status_code == 413 and answer.json["error_code"] == "FILE_TOO_LARGE"
    assert rows(app) == [] and stored_files(folder) == []


def test_path_like_names_are_only_data(setup):
    app, client, admin, _, folder = setup
    for name in ("../../etc/passwd", "..\\..\\boot.ini", "/abs/path/x.txt"):
        answer = upload(client, admin, TEXT, name)
        assert answer.status_code == 201
        assert "/" not in answer.json["file_name"] and "\\" not in answer.json["file_name"]
    assert all(p.parent.parent == folder for p in stored_files(folder)) and len(stored_files(folder)) == 3


def test_nul_in_text_fields_is_400_and_control_characters_leave_the_name(setup):
    app, client, admin, _, folder = setup
    answer = upload(client, admin, TEXT, "x.txt", title="a\x00b")
    assert answer.status_code == 400 and answer.json["error_code"] == "VALIDATION_ERROR"
    assert rows(app) == [] and stored_files(folder) == []
    named = upload(client, admin, TEXT, "re\x07port\x1b[31m.txt")
    assert named.status_code == 201 and named.json["file_name"] == "report[31m.txt"


def test_no_file_field_and_no_person_are_refused(setup):
    app, client, admin, _, _ = setup
    missing = client.post("/api/v1/contents/upload", headers=admin, content_type="multipart/form-data",
                          data={"document": (io.BytesIO(TEXT), "x.txt")})
    assert missing.status_code == 400 and "'file'" in missing.json["detail"]
    service_token = app.test_cli_runner().invoke(args=["tokens", "create", "--kind", "service", "--name", "s"])
    anyone = upload(client, bearer(service_token.output.strip().splitlines()[-1]), TEXT, "x.txt")
    assert anyone.status_code == 403 and anyone.json["error_code"] == "PERMISSION_DENIED"
    assert client.get("/api/v1/contents").status_code == 401


def test_list_filters_and_stays_in_the_tenant(setup):
    app, client, admin, member, _ = setup
    upload(client, admin, PDF, "a.pdf", title="Annual report")
    upload(client, admin, TEXT, "b.txt", title="休暇規程")
    listed = client.get("/api/v1/contents", headers=admin).json
    assert [item["title"] for item in listed] == ["休暇規程", "Annual report"]
    assert set(listed[0]) >= {"id", "file_name", "file_type", "title", "status", "file_size", "created_at"}
    assert [i["title"] for i in client.get("/api/v1/contents?file_type=pdf", headers=admin).json] == ["Annual report"]
    assert [i["title"] for i in client.get("/api/v1/contents?search=休暇", headers=admin).json] == ["休暇規程"]
    assert client.get("/api/v1/contents?search=%25", headers=admin).json == []  # % is a character, not a wildcard
    assert len(client.get("/api/v1/contents?skip=1&limit=1", headers=admin).json) == 1
    assert client.get("/api/v1/contents?limit=1001", headers=admin).status_code in (400, 422)
    assert client.get("/api/v1/contents?status=done", headers=admin).status_code in (400, 422)
    assert client.get("/api/v1/contents", headers=member).json == []  # another organisation sees nothing


def test_delete_removes_the_file_and_only_an_admin_of_the_tenant_may(setup):
    app, client, admin, member, folder = setup
    document_id = upload(client, admin, TEXT, "b.txt").json["id"]
    from webapp.accounts.models import User

    with app.app_context():  # an OPERATOR may not delete (not even in their own organisation)
        db.session.scalars(db.select(User).where(User.email == "member@example.com")).one().role = "OPERATOR"
        db.session.commit()
    assert client.delete(f"/api/v1/contents/{document_id}", headers=member).status_code == 403
    with app.app_context():  # an admin of another organisation gets a 404 for it
        db.session.scalars(db.select(User).where(User.email == "member@example.com")).one().role = "ADMIN"
        db.session.commit()
    other = client.delete(f"/api/v1/contents/{document_id}", headers=member)
    assert other.status_code == 404 and other.json["error_code"] == "RESOURCE_NOT_FOUND"
    assert client.delete("/api/v1/contents/not-a-uuid", headers=admin).status_code == 404
    gone = client.delete(f"/api/v1/contents/{document_id}", headers=admin)
    assert gone.status_code == 200 and gone.json["message"]
    assert rows(app) == [] and stored_files(folder) == []
    assert client.delete(f"/api/v1/contents/{document_id}", headers=admin).status_code == 404


def test_uploads_are_limited_apart_from_other_calls(app_env, tmp_path):
    app = create_app(env={**app_env, "UPLOAD_DIR": str(tmp_path / "uploads"), "UPLOAD_RATE_LIMITS": "2/minute"})
    client = app.test_client()
    client.post("/api/v1/auth/register", json={"email": "admin@example.com", "username": "admin_a",
                                               "password": "Password123", "tenant_name": "Company A"})
    admin = bearer(client.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": "Password123"}
                               ).json["access_token"])
    assert [upload(client, admin, TEXT, "a.txt").status_code for _ in range(3)] == [201, 201, 429]
    refused = upload(client, admin, TEXT, "a.txt")
    assert refused.json["error_code"] == "RATE_LIMIT_EXCEEDED" and int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/contents", headers=admin).status_code == 200  # listing is counted apart
    assert len(rows(app)) == 2
