"""The built-in agent (`python -m webapp.workspace.agent`): the workspace's agent when AGENT_COMMAND
names none, so the workspace works with nothing installed.

It runs in the session's pseudo-terminal like any CLI agent: it prints a prompt ("> "), reads a
request, and answers through the person's own LLM settings (their own over the instance default,
the same provider code as the rest of the app). The model may propose shell commands (function
calling, one tool: run_shell); each is asked for in the `agentdesk` approval format
(workspace/approval.py) and runs only after a "y", in the session's directory, with a minimal
environment, a time limit and its output cut. With no LLM set up it says where to set one.

The runner starts it with the server's environment (it reads the database like the app does);
the commands it runs get none of it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

from webapp.workspace import approval

CYAN, BOLD, DIM, RED, RESET = "\x1b[36m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[0m"
MAX_STEPS = 8  # model turns for one request
HISTORY = 40  # messages kept for the model
COMMAND_SECONDS = 120
OUTPUT_CHARS = 16_000
MAX_COMMAND = 2000
TOOLS = [{
    "name": "run_shell",
    "description": "Run one shell command (bash, one line) in the working directory and get its exit status and "
                   "output (cut at 16,000 characters). The person approves each command before it runs.",
    "parameters": {"type": "object", "required": ["command", "purpose"], "properties": {
        "command": {"type": "string", "description": "The command line, on one line."},
        "purpose": {"type": "string", "description": "Why, in one short sentence, in the person's language."}}},
}]
SYSTEM = ("You are a coding agent working in a terminal, in the directory {cwd}. Answer briefly, in the language "
          "of the person's request. To look at or change files, call run_shell with one command at a time; "
          "plain text only, no Markdown tables.")


class Interrupted(Exception):
    pass


def _interrupted(*_):
    raise Interrupted


def main() -> None:
    from flask_babel import force_locale

    from webapp import create_app

    app = create_app()
    signal.signal(signal.SIGINT, _interrupted)
    with app.app_context(), force_locale(os.environ.get("AGENTDESK_LOCALE") or "en"):
        agent = Conversation(app, os.environ.get("AGENTDESK_SESSION", ""))
        agent.greet()
        while True:
            try:
                line = input("> ").strip()
            except Interrupted:
                print()
                continue
            except EOFError:
                return
            if not line:
                continue
            try:
                agent.request(line)
            except Interrupted:
                print("\n" + DIM + _("Interrupted.") + RESET)


def _(text: str, **values) -> str:
    from flask_babel import gettext

    return gettext(text, **values)


class Conversation:
    """One person's requests and the model's answers, tools included."""

    def __init__(self, app, session_id: str):
        self.app, self.session_id = app, session_id
        self.messages: list[dict] = []

    def settings(self):
        """The person's LLM target and system prompt, read again for each request (a person who sets
        up an LLM after the first message need not restart anything)."""
        from webapp.chats.models import ChatSession
        from webapp.db.orm import db
        from webapp.llm_configs.service import Scope, system_prompt_of, target_of

        from webapp.accounts.service import find_user

        session = db.session.get(ChatSession, _uuid(self.session_id)) if _uuid(self.session_id) else None
        person = find_user(session.user_id) if session is not None else None
        if person is None:
            return None, ""
        scope = Scope(person)
        target, prompt = target_of(scope), system_prompt_of(scope)
        db.session.remove()
        return target, prompt

    def greet(self) -> None:
        target, _prompt = self.settings()
        print(f"{BOLD}AgentDesk agent{RESET}")
        if target is None:
            return self.how_to_configure()
        note = _("Model %(model)s via %(provider)s. Ask for anything; commands run only after you approve them.",
                 model=target.model, provider=target.provider)
        print(f"{DIM}{note}{RESET}")

    def how_to_configure(self) -> None:
        from flask import url_for

        with self.app.test_request_context(base_url=self.app.config["PUBLIC_URL"]):
            where = url_for("llm_settings.page", scope="mine", _external=True)
        print(_("No language model is set up for you yet. Open LLM settings (%(url)s), choose a provider, its address "
                "and a model, save, and send your message again. Or ask an administrator to set the instance "
                "default.", url=where))

    def request(self, line: str) -> None:
        from webapp.llm_configs import providers

        target, prompt = self.settings()
        if target is None:
            return self.how_to_configure()
        self.messages = self.messages[-HISTORY:] + [{"role": "user", "content": line}]
        system = [{"role": "system", "content": "\n\n".join(p for p in (SYSTEM.format(cwd=os.getcwd()), prompt) if p)}]
        config = self.app.config
        for _step in range(MAX_STEPS):
            try:
                answer = providers.chat_tools(target, system + self.messages, TOOLS,
                                              deadline=config["AGENT_LLM_TIMEOUT"],
                                              allow_private=config["OUTBOUND_ALLOW_PRIVATE"], max_in_flight=4)
            except providers.ProviderFailed as failed:
                problem = _("The language model could not be asked (%(kind)s). Check your LLM settings, or try "
                            "again.", kind=failed.kind)
                print(f"{RED}{problem}{RESET}")
                return
            if answer.content:
                print(answer.content.strip())
            if not answer.tool_calls:
                self.messages.append({"role": "assistant", "content": answer.content})
                return
            results = [self.call(call) for call in answer.tool_calls]
            self.messages += providers.tool_turn(target, answer, results)
        print(DIM + _("Stopped after %(count)s steps; send another message to go on.", count=MAX_STEPS) + RESET)

    def call(self, call) -> str:
        """One tool call: asked for, then run if the person approves; the result for the model."""
        command = str(call.arguments.get("command") or "").strip()
        purpose = "".join(c for c in " ".join(str(call.arguments.get("purpose") or "").split())
                          if c.isprintable())[:approval.LIMITS["purpose"]]
        if call.name != "run_shell":
            return json.dumps({"error": f"no tool named {call.name!r}; the only tool is run_shell"})
        if not command or not command.isprintable() or len(command) > MAX_COMMAND:
            # What the person approves must be exactly what runs: one line of visible characters that
            # the approval card shows whole.
            return json.dumps({"error": f"give the command on one line of at most {MAX_COMMAND} characters, "
                                        "without control characters"})
        risk = approval.risk_of(command)
        print(f"{CYAN}Tool:{RESET} run_shell\nCommand: {command}\nPurpose: {purpose}\nRisk: {risk}")
        _drop_typed_ahead()
        decision = input(f"{BOLD}Allow this tool? [y/n]{RESET} ").strip().lower()
        if decision != "y":
            print(DIM + _("Not run.") + RESET)
            return json.dumps({"error": "the person did not approve this command; ask or try another way"})
        return run(command)


def _drop_typed_ahead() -> None:
    """Input that arrived before the question (a "y" meant for something else) never answers it."""
    import termios

    try:
        termios.tcflush(0, termios.TCIFLUSH)
    except (termios.error, OSError):
        pass  # not a terminal (a test's pipe): nothing typed ahead to drop


def run(command: str) -> str:
    """The command's exit status and output (shown, and cut for the model)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.getcwd(), "LANG": "C.UTF-8",
           "TERM": os.environ.get("TERM", "xterm-256color")}
    try:
        done = subprocess.run(["bash", "-c", command], cwd=os.getcwd(), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=COMMAND_SECONDS)
        output, status = (done.stdout + done.stderr).decode("utf-8", "replace"), done.returncode
    except subprocess.TimeoutExpired as expired:
        output, status = ((expired.stdout or b"") + (expired.stderr or b"")).decode("utf-8", "replace"), "timeout"
    shown = output if len(output) <= OUTPUT_CHARS else output[:OUTPUT_CHARS] + "\n…"
    print(shown, end="" if not shown or shown.endswith("\n") else "\n")
    print(f"{DIM}[exit {status}]{RESET}")
    return json.dumps({"exit_status": status, "output": shown})


def _uuid(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


if __name__ == "__main__":
    main()
