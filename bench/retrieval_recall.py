"""How well each way of indexing Japanese finds the passage that answers a question.

    .venv/bin/python bench/retrieval_recall.py

On tests/data/retrieval_ja.json (30 passages, 44 questions in everyday wording), three SQLite FTS5
set-ups rank every passage for every question with bm25:

- unicode61: FTS5's default tokenizer, as a baseline (it splits on script changes only);
- trigram: FTS5's trigram tokenizer, the question sent as the OR of its trigrams;
- sudachi: SudachiPy's words (webapp/documents/terms.py) over unicode61, the question as the OR of
  its terms -- what the application uses, on SQLite and (as tsvector) on PostgreSQL.

Prints recall@1, recall@5 and the mean reciprocal rank of each; then the application's own search
(webapp/documents/search.py) on SQLite and on a throwaway PostgreSQL 15 cluster (tests/postgres.py)
with --with-postgres.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.documents.terms import document_terms, query_terms  # noqa: E402

DATA = ROOT / "tests" / "data" / "retrieval_ja.json"
_PUNCTUATION = re.compile(r"[\s\W_]+")


def _quoted(words) -> str:
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def _trigrams(question: str) -> list[str]:
    compact = _PUNCTUATION.sub("", question.lower())
    return list(dict.fromkeys(compact[i:i + 3] for i in range(max(0, len(compact) - 2))))


def _plain_words(question: str) -> list[str]:
    return [w for w in _PUNCTUATION.split(question.lower()) if w]


METHODS = {
    "unicode61": ("unicode61", lambda text: text, _plain_words),
    "trigram": ("trigram", lambda text: text, _trigrams),
    "sudachi": ("unicode61", document_terms, query_terms),
}


def evaluate(method: str, data: dict) -> dict:
    tokenizer, index_text, question_words = METHODS[method]
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE p USING fts5(name UNINDEXED, body, tokenize='{tokenizer}')")
    db.executemany("INSERT INTO p (name, body) VALUES (?, ?)",
                   [(name, index_text(text)) for name, text in data["passages"].items()])
    ranks = []
    for question, answer in data["questions"]:
        words = question_words(question)
        found = [row[0] for row in db.execute(
            "SELECT name FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 20", (_quoted(words),))] if words else []
        ranks.append(found.index(answer) + 1 if answer in found else None)
    total = len(ranks)
    return {"recall@1": sum(1 for r in ranks if r == 1) / total,
            "recall@5": sum(1 for r in ranks if r and r <= 5) / total,
            "mrr": sum(1 / r for r in ranks if r) / total}


def application(database_url: str, data: dict) -> dict:
    """The same questions through the application's search, on a migrated database."""
    import tempfile
    import uuid

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.accounts.models import Tenant
    from webapp.db.orm import db
    from webapp.documents.models import Chunk, Document
    from webapp.documents.search import search

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(env={"APP_ENV": "testing", "SECRET_KEY": "x" * 40, "DATABASE_URL": database_url,
                              "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "JOBS_URL": f"sqlite:///{tmp}/j.db"})
        with app.app_context():
            upgrade()
            tenant = Tenant(name="Recall")
            db.session.add(tenant)
            db.session.flush()
            document = Document(tenant_id=tenant.id, file_name="h.txt", stored_name=uuid.uuid4().hex, file_type="txt",
                                file_size=1, sha256="0" * 64, title="h", status="completed")
            db.session.add(document)
            db.session.flush()
            for ordinal, (name, text) in enumerate(data["passages"].items()):
                db.session.add(Chunk(document_id=document.id, tenant_id=tenant.id, ordinal=ordinal, heading=name,
                                     text=text, terms=document_terms(text)))
            db.session.commit()
            ranks = []
            for question, answer in data["questions"]:
                found = [p.heading for p in search(tenant.id, question, limit=20)]
                ranks.append(found.index(answer) + 1 if answer in found else None)
            db.engine.dispose()
    total = len(ranks)
    return {"recall@1": sum(1 for r in ranks if r == 1) / total,
            "recall@5": sum(1 for r in ranks if r and r <= 5) / total, "mrr": sum(1 / r for r in ranks if r) / total}


def main() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    print(f"{len(data['passages'])} passages, {len(data['questions'])} questions")
    for method in METHODS:
        figures = evaluate(method, data)
        print(f"{method:10} " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    if "--with-postgres" in sys.argv:
        import tempfile

        from tests.postgres import PostgresServer

        with tempfile.TemporaryDirectory() as tmp:
            figures = application(f"sqlite:///{tmp}/recall.db", data)
        print("app/sqlite " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))
        cluster = PostgresServer()
        try:
            figures = application(cluster.start(), data)
        finally:
            cluster.stop()
        print("app/pg     " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
