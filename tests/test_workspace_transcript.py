"""Agent output in the transcript (webapp/workspace/transcript.py, words.py): ASCII output is
searchable as soon as it is stored, Japanese output once the job has cut it into words (queued, or
found by the sweeper); output for a deleted session is dropped; an ASCII search and ASCII output are
cut the same way."""

from __future__ import annotations

import pytest

from webapp.db.orm import db


@pytest.fixture
def alice(app):
    from webapp.accounts.service import create_account
    from webapp.workspace import service

    with app.app_context():
        person = create_account(email="alice@example.com", password="Passw0rd!", username="alice", admin=False,
                                logins={})
        session = service.create_session(person, title="t")
        return person.id, session.id


def found(app, person_id, query):
    from webapp.accounts.service import find_user
    from webapp.workspace import service

    with app.app_context():
        return [hit.content for hit in service.search(find_user(person_id), query).hits]


def test_ascii_output_is_searchable_at_once_japanese_after_the_job(app, alice):
    from webapp.workspace import transcript

    person_id, session_id = alice
    with app.app_context():
        assert transcript.store_output(session_id, "\x1b[32mRunning migration 0013\x1b[0m\r\n", [[0, "x"]]) is None
        assert transcript.store_output(session_id, "データベースの移行が完了しました\r\n", [[0, "y"]]) is True
    assert found(app, person_id, "Migration 0013") == ["Running migration 0013\n"]
    assert found(app, person_id, "移行") == []  # not cut into words yet
    with app.app_context():
        transcript.index(str(session_id))
    assert found(app, person_id, "移行") == ["データベースの移行が完了しました\n"]


def test_the_sweeper_indexes_what_no_job_did_and_text_without_words_is_not_redone(app, alice):
    from webapp.chats.models import ChatMessage
    from webapp.workspace import transcript

    person_id, session_id = alice
    with app.app_context():
        transcript.store_output(session_id, "休暇の申請\r\n", [[0, "x"]])
        transcript.store_output(session_id, "――――\r\n", [[0, "y"]])  # no words in it
        transcript.sweep()
        assert set(db.session.scalars(db.select(ChatMessage.terms))) == {"休暇 申請", " "}
    assert found(app, person_id, "休暇") == ["休暇の申請\n"]


def test_output_for_a_deleted_session_is_dropped(app, alice):
    from webapp.accounts.service import find_user
    from webapp.chats.models import ChatMessage
    from webapp.workspace import service, transcript

    person_id, session_id = alice
    with app.app_context():
        service.delete_session(find_user(person_id), session_id)
        assert transcript.store_output(session_id, "late output", [[0, "x"]]) is False
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) == 0


@pytest.mark.parametrize("text", ["Running migration 0013_add_users... OK", "I can't find v2.5.1 in HTTP/1.1 logs",
                                  "error: cannot open 'src/main.rs'"])
def test_an_ascii_search_finds_every_word_of_ascii_output(text):
    from webapp.workspace.words import search_terms, transcript_terms

    stored = set(transcript_terms(text).split())
    assert search_terms(text) and set(search_terms(text)) <= stored
