"""Agent output in the transcript (webapp/workspace/transcript.py, words.py): pieces of several
sessions are stored together; English and Japanese output become searchable once the job has cut them
into words (queued, or found by the sweeper); output for a deleted session is dropped; an ASCII search
and ASCII output are cut the same way."""

from __future__ import annotations

import time

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


def test_output_is_searchable_once_the_job_has_cut_it_into_words_input_at_once(app, alice):
    from webapp.workspace import transcript

    person_id, session_id = alice
    with app.app_context():
        stored = transcript.store([(session_id, "user", "デプロイして", None),
                                   (session_id, "assistant", "\x1b[32mRunning migration 0013\x1b[0m\r\n", [[0, "x"]]),
                                   (session_id, "assistant", "データベースの移行が完了しました\r\n", [[0, "y"]])])
    assert stored == {session_id}
    assert found(app, person_id, "デプロイ") == ["デプロイして"]
    assert found(app, person_id, "Migration 0013") == []  # not cut into words yet
    assert found(app, person_id, "移行") == []
    with app.app_context():
        transcript.index(str(session_id))
    assert found(app, person_id, "Migration 0013") == ["Running migration 0013\n"]
    assert found(app, person_id, "移行") == ["データベースの移行が完了しました\n"]


def test_the_sweeper_indexes_what_no_job_did_and_text_without_words_is_not_redone(app, alice, monkeypatch):
    from webapp.chats.models import ChatMessage
    from webapp.workspace import transcript

    monkeypatch.setattr(transcript, "INDEX_BATCH", 2)  # and across batches
    person_id, session_id = alice
    with app.app_context():
        transcript.store([(session_id, "assistant", "休暇の申請\r\n", [[0, "x"]]),
                          (session_id, "assistant", "――――\r\n", [[0, "y"]]),  # no words in it
                          (session_id, "user", "vacation request", None)])
        transcript.sweep()
        assert sorted(db.session.scalars(db.select(ChatMessage.terms))) == [" ", "vacation request", "休暇 申請"]
    assert found(app, person_id, "休暇") == ["休暇の申請\n"]


def test_output_for_a_deleted_session_is_dropped_and_the_others_kept(app, alice):
    from webapp.accounts.service import find_user
    from webapp.chats.models import ChatMessage
    from webapp.workspace import service, transcript

    person_id, session_id = alice
    with app.app_context():
        other = service.create_session(find_user(person_id), title="kept").id
        service.delete_session(find_user(person_id), session_id)
        assert transcript.store([(session_id, "assistant", "late output", [[0, "x"]]),
                                 (other, "assistant", "on time", [[0, "y"]])]) == {other}
        assert list(db.session.scalars(db.select(ChatMessage.content))) == ["on time"]


@pytest.mark.parametrize("text", ["Running migration 0013_add_users... OK", "I can't find v2.5.1 in HTTP/1.1 logs",
                                  "error: cannot open 'src/main.rs'"])
def test_an_ascii_search_finds_every_word_of_ascii_output(text):
    from webapp.workspace.words import search_terms, transcript_terms

    stored = set(transcript_terms(text).split())
    assert search_terms(text) and set(search_terms(text)) <= stored


def _agent(app, person_id, session_id, *pieces):
    from webapp.workspace.agents import Agent

    agent = Agent(app=app, session_id=session_id, person_id=person_id, locale="en", process=None)
    agent.pending = list(pieces)
    agent.pending_bytes = sum(len(text) for text, _ in pieces)
    return agent


def test_a_round_stores_every_agents_output_and_keeps_what_the_database_refused(app, alice, monkeypatch):
    from webapp.accounts.service import find_user
    from webapp.chats.models import ChatMessage
    from webapp.workspace import service, transcript, writer

    person_id, session_id = alice
    with app.app_context():
        other = service.create_session(find_user(person_id), title="second").id
    first = _agent(app, person_id, session_id, ("one ", "2026-11-29T00:00:00.000001Z"),
                   ("two", "2026-11-29T00:00:00.000002Z"))
    second = _agent(app, person_id, other, ("three", "2026-11-29T00:00:00.000003Z"))
    rounds = writer.Writer()
    rounds.agents |= {first, second}
    monkeypatch.setattr(writer, "STORE_BYTES", 4)  # "one " alone, then "two" with "three"
    real, calls = transcript.store, []

    def refuse_the_first(pieces):
        calls.append(pieces)
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return real(pieces)

    monkeypatch.setattr(transcript, "store", refuse_the_first)
    rounds._round()
    assert [text for text, _ in first.pending] == ["one ", "two"]  # refused, and "two" waits behind it
    assert (second.pending, second.pending_bytes) == ([], 0)  # the others went on
    second.pending.append(("four", "2026-11-29T00:00:00.000004Z"))
    rounds._round()  # the next round stores them, with what came meanwhile
    assert first.pending == second.pending == [] and first.pending_bytes == 0

    def stored(session):
        with app.app_context():
            return [(row.content, row.meta["chunks"], row.terms) for row in db.session.execute(
                db.select(ChatMessage.content, ChatMessage.meta, ChatMessage.terms)
                .where(ChatMessage.session_id == session).order_by(ChatMessage.id))]
    assert stored(session_id) == [("one ", [[0, "2026-11-29T00:00:00.000001Z"]], ""),
                                  ("two", [[0, "2026-11-29T00:00:00.000002Z"]], "")]
    assert stored(other) == [("three", [[0, "2026-11-29T00:00:00.000003Z"]], ""),
                             ("four", [[0, "2026-11-29T00:00:00.000004Z"]], "")]


def test_a_client_coming_back_gets_each_piece_once_while_the_writer_is_between_its_steps(app, alice, monkeypatch):
    from webapp.chats.models import ChatSession
    from webapp.workspace import runner, transcript

    person_id, session_id = alice
    stamps = [f"2026-11-29T00:00:00.00000{n}Z" for n in range(1, 5)]
    with app.app_context():  # stored, and (the writer has not yet taken them out) still pending
        transcript.store([(session_id, "assistant", "ab", [[0, stamps[0]], [1, stamps[1]]])])
    agent = _agent(app, person_id, session_id, ("a", stamps[0]), ("b", stamps[1]), ("c", stamps[2]),
                   ("typed by the person", None), ("d", stamps[3]))  # input is not output: not replayed
    monkeypatch.setitem(runner._AGENTS, session_id, agent)
    with app.app_context():
        session = db.session.get(ChatSession, session_id)
        for since, expected in [(None, "abcd"), (stamps[0], "bcd"), (stamps[2], "d")]:
            sent = []
            runner.missed(session, since, lambda name, data: sent.append((name, data)), lambda: None)
            assert [data["payload"]["content"] for name, data in sent if name == "message"] == [expected]


def test_an_agent_that_settles_goes_on_only_once_its_output_is_stored(app, alice, monkeypatch):
    import threading

    from webapp.chats.models import ChatMessage
    from webapp.workspace import transcript, writer

    person_id, session_id = alice
    agent = _agent(app, person_id, session_id, ("done", "2026-11-29T00:00:00.000001Z"))
    rounds = writer.Writer()
    rounds.agents.add(agent)
    real = transcript.store
    monkeypatch.setattr(transcript, "store", lambda pieces: time.sleep(0.3) or real(pieces))
    monkeypatch.setattr(transcript, "queue", lambda session_ids: queued.extend(session_ids))
    queued = []
    thread = threading.Thread(target=rounds.run, daemon=True)
    thread.start()
    try:
        rounds.store_now(agent)
        with app.app_context():
            assert list(db.session.scalars(db.select(ChatMessage.content))) == ["done"]
        assert agent.pending == [] and queued == [session_id]  # and its terms are queued at once
    finally:
        rounds.stop()
        thread.join(5)
    assert not thread.is_alive()


def test_input_is_stored_in_its_place_among_the_output_and_at_once_after_the_agent_ended(app, alice, monkeypatch):
    from webapp.chats.models import ChatMessage, ChatSession
    from webapp.workspace import runner, writer

    person_id, session_id = alice
    agent = _agent(app, person_id, session_id, ("before\r\n", "2026-11-29T00:00:00.000001Z"))
    rounds = writer.Writer()
    rounds.agents.add(agent)
    monkeypatch.setattr(writer, "_WRITER", [rounds])
    with app.app_context():
        session = db.session.get(ChatSession, session_id)
        runner.record_input(agent, session, "run the migration")
        agent.pending.append(("after\r\n", "2026-11-29T00:00:00.000002Z"))
        rounds._round()
        agent.ended = True
        runner.record_input(agent, session, "and again")  # nothing reads the agent any more: now
        rounds._round()
        assert agent not in rounds.agents  # ended, and nothing of it waits: forgotten
        stored = db.session.execute(db.select(ChatMessage.role, ChatMessage.content, ChatMessage.format)
                                    .order_by(ChatMessage.id)).all()
    assert [tuple(row) for row in stored] == [
        ("assistant", "before\r\n", "ansi"), ("user", "run the migration", "text"), ("assistant", "after\r\n", "ansi"),
        ("user", "and again", "text")]
