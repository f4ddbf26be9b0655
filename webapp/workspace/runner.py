"""Agent processes (spec 004): one per agent session, in a pseudo-terminal, in the worker that
started it.

The agent is AGENT_COMMAND (a CLI coding agent installed on the host, or this repository's own),
run as the server's user in its own directory under AGENT_WORKDIR (one per session), with
TERM=xterm-256color and the PTY sized by `resize`. What it prints is sent to the session's room as
spec 004 `message` events as it comes (ANSI kept) and stored in the transcript by the worker's
writer (writer.py: about every second, with the other agents' output). The agent is `processing`
from a person's message until it prints its prompt (AGENT_PROMPT_PATTERN at the end of its output)
or stays quiet for AGENT_IDLE_SECONDS; a message that takes longer than the person's timeout setting
is interrupted like `cancel` (SIGINT, then SIGTERM after AGENT_CANCEL_GRACE seconds) and reported as
AQ003; output beyond AGENT_MAX_OUTPUT_BYTES ends the agent, and so does AGENT_LINGER_SECONDS without
use (the next message starts another). An agent that exits by itself ends with an `error` event
(AQ002, retryable): the next message starts a new one. Nothing waits on an agent while holding a
database transaction.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import os
import re
import shlex
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp.chats.models import ChatSession
from webapp.db.orm import db
from webapp.extensions import socketio_of
from webapp.workspace import approval, replay, service, writer
from webapp.workspace.agents import Agent, event
from webapp.workspace.terminal import AgentBusy, Terminal

READ_BYTES = 65536


_AGENTS: dict[uuid.UUID, Agent] = {}
_GUARD = threading.Lock()


def running(session_id: uuid.UUID) -> Agent | None:
    agent = _AGENTS.get(session_id)
    return agent if agent is not None and agent.process.isalive() else None


def sessions_of(person_id) -> list[uuid.UUID]:
    """The person's sessions whose agents run in this worker."""
    return [agent.session_id for agent in list(_AGENTS.values()) if agent.person_id == person_id]


BUILT_IN = [sys.executable, "-m", "webapp.workspace.agent"]
ROOT = Path(__file__).resolve().parents[2]


def _command(app: Flask, choice: str) -> tuple[list[str], str]:
    """The command line and approval profile of the person's chosen agent: one of AGENT_CHOICES,
    "builtin", or ("") the instance's AGENT_COMMAND, the built-in agent when that names none."""
    config = app.config
    if choice == "builtin":
        return BUILT_IN, "agentdesk"
    chosen = config["AGENT_CHOICES"].get(choice) if choice else None
    line, profile = (chosen["command"], chosen["approval"]) if chosen else (config["AGENT_COMMAND"], "")
    try:
        return shlex.split(line) or BUILT_IN, profile or config["AGENT_APPROVAL"]
    except ValueError as error:
        raise AgentMissing(f"agent command: {error}") from None


def start(app: Flask, session: ChatSession, locale: str, *, choice: str = "", cols: int = 120,
          rows: int = 32) -> Agent:
    """The session's agent (the person's `choice`), started now in its own directory (AQ001 when it
    cannot be started)."""
    command, profile_name = _command(app, choice)
    workdir = Path(app.config["AGENT_WORKDIR"]) / session.user_id.hex / session.id.hex
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "LANG": "C.UTF-8",
           "TERM": "xterm-256color", "AGENTDESK_SESSION": str(session.id), "PYTHONUNBUFFERED": "1"}
    if app.config["AGENT_PASS_ENV"]:
        env.update({name: os.environ[name] for name in app.config["AGENT_PASS_ENV"] if name in os.environ})
    if command == BUILT_IN:  # our own code reads the database like the app; its commands get none of this
        env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "AGENTDESK_LOCALE": locale}
    try:
        profile = approval.profile(profile_name, "" if command == BUILT_IN else app.config["AGENT_APPROVAL_QUESTION"])
    except (KeyError, re.error) as error:
        raise AgentMissing(f"AGENT_APPROVAL: {error}") from None
    try:
        process = Terminal(command, cwd=str(workdir), env=env, rows=rows, cols=cols)
    except OSError as error:
        raise AgentMissing(str(error)) from None
    agent = Agent(app=app, session_id=session.id, person_id=session.user_id, locale=locale, process=process,
                  profile=profile)
    with _GUARD:
        already = _AGENTS.get(session.id)
        if already is not None and already.process.isalive():  # two tabs asked at once: one agent
            process.terminate(force=True)
            process.close()
            return already
        _AGENTS[session.id] = agent
    _stop_at_exit()
    writer.watch(agent)
    socketio_of(app).start_background_task(_read, agent)
    return agent


@functools.cache
def _stop_at_exit() -> None:
    import atexit

    atexit.register(stop_all)  # a worker that stops ends its agents


def stop(session_id: uuid.UUID) -> None:
    """End the session's agent, if this worker runs it (the session was deleted): quietly."""
    agent = _AGENTS.get(session_id)
    if agent is not None and agent.process.isalive():
        agent.cancelled_at = time.monotonic()
        agent.process.terminate(force=True)


class AgentMissing(Exception):
    """AGENT_COMMAND could not be started."""


class NotWaiting(Exception):
    """No approval request of that id is waiting (answered already, or the agent moved on)."""


def send(agent: Agent, text: str, *, timeout: int, trust_all: bool = False) -> None:
    agent.last_sent = time.monotonic()
    agent.deadline = agent.last_sent + timeout
    agent.cancelled_at = None
    agent.trust_all = trust_all
    agent.sent += 1
    agent.set_status("processing")
    line = text.replace("\r\n", "\n").replace("\n", "\r") + "\r"
    if agent.prompts == 0 and agent.app.config["AGENT_PROMPT_PATTERN"]:
        agent.queued.append(line)  # it is still starting: typed once it asks (its startup prompt)
        return
    agent.process.write(line.encode())
    agent.awaiting_prompt = True


def record_input(agent: Agent, session: ChatSession, text: str) -> None:
    """What reached the agent, in the transcript in its place among the output: by the writer's next
    round, which starts now (or at once, when the agent's reader has stored its last output)."""
    with agent.lock:
        if not agent.ended:
            agent.pending.append((text, None))
            agent.pending_bytes += len(text)
            writer.nudge(agent, now=True)
            return
    service.record_input(session, text)


def _type_queued(agent: Agent) -> None:
    lines, agent.queued = agent.queued, []
    agent.process.write("".join(lines).encode())
    agent.awaiting_prompt = True


def answer(agent: Agent, request_id: str, approved: bool) -> dict:
    """The person's decision on the waiting request, typed as the agent's own answer; the request."""
    with agent.lock:
        request = agent.request
        if request is None or request["requestId"] != request_id:
            raise NotWaiting(request_id)
        agent.process.write(((agent.profile.yes if approved else agent.profile.no) + "\r").encode())
        agent.request = None  # only once the answer reached the agent: otherwise it can be answered again
    if agent.deadline is not None:  # the time spent deciding is the person's, not the agent's
        agent.deadline += time.monotonic() - agent.waiting_since
    agent.set_status("processing")
    return request


def resize(agent: Agent, cols: int, rows: int) -> None:
    agent.process.setwinsize(rows, cols)


def cancel(agent: Agent) -> None:
    """SIGINT now; SIGTERM if it is still working after the grace period (checked by the reader)."""
    if agent.process.isalive():
        agent.cancelled_at = time.monotonic()
        if agent.request is not None:  # a cancelled question is not answered any more
            agent.request = None
            agent.set_status("processing")
        agent.process.kill(signal.SIGINT)


def stop_all() -> None:
    for agent in list(_AGENTS.values()):
        if agent.process.isalive():
            agent.process.terminate(force=True)
    writer.stop()  # the last round, for what they printed and what people typed


QUESTION_SETTLE = 0.3  # seconds of quiet after an approval question before it counts as asked


@dataclass
class _Reading:
    decoder: object
    prompt: re.Pattern | None
    tail: str = ""  # the output's end: for the prompt and the approval question
    asking: str = ""  # the output since the last question or prompt: the request's fields
    question: tuple | None = None  # (tool, when): asked, unless more output follows within QUESTION_SETTLE


def _step(agent: Agent, state: _Reading, data: bytes | None) -> None:
    """One read's worth of work: the output sent and kept; the question, the prompt, the limits."""
    config, process = agent.app.config, agent.process
    now = time.monotonic()
    if data:
        text = state.decoder.decode(data).replace("\x00", "")
        agent.output_bytes += len(data)
        agent.last_output = now
        with agent.lock:  # a client's replay finds each piece: stored, pending, or sent after it
            stamp = agent.next_stamp()
            agent.pending.append((text, stamp))
            agent.pending_bytes += len(text)
            agent.emit("message", event("output", agent.session_id, {"content": text, "format": "ansi",
                                                                     "timestamp": stamp}))
        state.question = None  # output went on: what looked like a question was not one
        state.tail, state.asking = (state.tail + text)[-400:], (state.asking + text)[-16000:]
        seen = service.plain(state.tail)
        if agent.request is None and agent.profile is not None and agent.profile.question.search(seen):
            tool = approval.asked(agent.profile, service.plain(state.asking))
            if tool is not None:
                state.question = (tool, now)
        elif state.prompt is not None and agent.request is None and state.prompt.search(seen):
            agent.prompts, state.tail, state.asking = agent.prompts + 1, "", ""
            if agent.queued:  # its startup prompt: now the input it was sent meanwhile
                _type_queued(agent)
            elif agent.status == "processing" and agent.awaiting_prompt:
                agent.awaiting_prompt = False
                writer.store_now(agent)
                _settle(agent)
        if agent.output_bytes > config["AGENT_MAX_OUTPUT_BYTES"]:
            writer.store_now(agent)
            process.terminate(force=True)
            _say_error(agent, "AQ002", _l("The agent printed more than this server keeps (%(size)s MB) and was "
                                          "ended.", size=config["AGENT_MAX_OUTPUT_BYTES"] // (1024 * 1024)),
                       retryable=True)
    elif state.question is not None and now - state.question[1] >= QUESTION_SETTLE:
        tool, state.question, state.tail, state.asking = state.question[0], None, "", ""
        writer.store_now(agent)
        _ask(agent, tool)
    writer.nudge(agent)
    if data is None:
        return
    if agent.queued and not data and now - max(agent.started, agent.last_output) > config["AGENT_IDLE_SECONDS"]:
        _type_queued(agent)  # no prompt of the kind AGENT_PROMPT_PATTERN knows: it gets its input anyway
    if agent.status in ("idle", "waiting_approval") and agent.cancelled_at is None and \
            now - max(agent.last_output, agent.last_sent) > config["AGENT_LINGER_SECONDS"]:
        agent.cancelled_at = now  # nobody used it for long: ended quietly, the next message starts another
        process.terminate(force=True)
    if agent.status == "processing":
        if agent.cancelled_at is not None and now - agent.cancelled_at > config["AGENT_CANCEL_GRACE"]:
            process.terminate(force=True)
        elif agent.deadline is not None and now > agent.deadline and agent.cancelled_at is None:
            cancel(agent)
            _say_error(agent, "AQ003", _l("The agent took longer than your timeout setting and was interrupted."),
                       retryable=True)
        elif not data and agent.prompts == 0 and state.question is None and \
                now - max(agent.last_output, agent.last_sent) > config["AGENT_IDLE_SECONDS"]:
            # An agent with no prompt to recognise is done when it goes quiet; one with a prompt only at
            # its prompt (it may think, or run a command, in silence for minutes).
            writer.store_now(agent)
            _settle(agent)


def _settle(agent: Agent) -> None:
    agent.cancelled_at = None  # an interrupted agent that came back to its prompt is in use again
    agent.set_status("idle")


def _read(agent: Agent) -> None:
    """The agent's output, until it exits: sent, stored, watched for the prompt and the limits."""
    app, process = agent.app, agent.process
    prompt = re.compile(app.config["AGENT_PROMPT_PATTERN"]) if app.config["AGENT_PROMPT_PATTERN"] else None
    state = _Reading(decoder=codecs.getincrementaldecoder("utf-8")("replace"), prompt=prompt)
    while True:
        try:
            data = process.read(READ_BYTES, 0.2)
        except (OSError, ValueError):  # EIO: the agent closed the terminal (it exited)
            data = None
        try:
            _step(agent, state, data)
        except Exception:  # noqa: BLE001 (a database or queue failure must not orphan the agent)
            app.logger.exception("workspace: agent %s: output not handled", agent.session_id)
        if data is None or (not data and not process.isalive()):
            break
    try:
        writer.store_now(agent)
        with agent.lock:
            agent.ended = True  # input from now on is stored at once (record_input)
        if agent.pending:  # input that came meanwhile
            writer.store_now(agent)
    except Exception:  # noqa: BLE001 (as above: the agent is still ended and reported)
        app.logger.exception("workspace: agent %s: last output not stored", agent.session_id)
    for _ in range(40):  # the terminal closed: the process is exiting
        if not process.isalive():
            break
        time.sleep(0.05)
    if process.isalive():
        process.terminate(force=True)
    process.close()
    code = process.exitstatus
    agent.request = None
    with _GUARD:
        if _AGENTS.get(agent.session_id) is agent:
            del _AGENTS[agent.session_id]
    if agent.cancelled_at is None:
        _say_error(agent, "AQ002", _l("The agent stopped (exit status %(code)s). Send a message to start it again.",
                                      code=code), retryable=True)
    agent.set_status("idle")


def _say_error(agent: Agent, code: str, message, *, retryable: bool) -> None:
    with agent.app.app_context(), force_locale(agent.locale):
        agent.error(code, str(message), retryable=retryable)


def _ask(agent: Agent, tool: dict) -> None:
    """The agent asks to run a tool: approved at once when the person trusts tools and it is low risk,
    otherwise a tool_approval_request to the session's room, and the agent waits."""
    if agent.trust_all and tool["risk"] == "low":
        try:
            agent.process.write((agent.profile.yes + "\r").encode())
        except AgentBusy:
            return
        with agent.app.app_context(), force_locale(agent.locale):
            _record(agent, tool, approved=True, automatic=True)
            agent.set_status("processing", str(_l("Approved automatically (low risk): %(command)s",
                                                  command=tool["command"] or tool["name"])))
        return
    with agent.lock:
        agent.request = {"requestId": str(uuid.uuid4()), "tool": tool}
        agent.waiting_since = time.monotonic()
        agent.set_status("waiting_approval")
        agent.emit("tool_approval_request", event("tool_approval_request", agent.session_id, agent.request))


def _record(agent: Agent, tool: dict, *, approved: bool, automatic: bool) -> None:
    session = db.session.get(ChatSession, agent.session_id)
    if session is not None:
        service.record_decision(session, tool, approved=approved, automatic=automatic)


def missed(session: ChatSession, since: str | None, send, join) -> None:
    """What a client that comes back missed: the session's output after `since` (an output event's
    timestamp; all of it, the newest REPLAY_CHARS, without one), stored or not yet stored, then the
    approval request still waiting. The client joins the session's room under the agent's lock, so
    no piece is sent twice or lost between the transcript and the live events."""
    agent = _AGENTS.get(session.id)  # one that has just exited may still have output to store
    with agent.lock if agent is not None else contextlib.nullcontext():
        join()
        pieces = replay.output_since(session, since)
        if agent is not None:  # those not stored yet (or stored by now: the writer is between its steps)
            last = pieces[-1][1] if pieces else since
            pieces += [(text, stamp) for text, stamp in agent.pending
                       if stamp is not None and (last is None or stamp > last)]
        for content, stamp in replay.joined(pieces):
            send("message", event("output", session.id, {"content": content, "format": "ansi",
                                                         "timestamp": stamp}))
        if agent is not None:
            payload = {"status": agent.status}
            send("status", event("status", session.id, payload))
            if agent.request is not None:
                send("tool_approval_request", event("tool_approval_request", session.id, agent.request))
