"""Tool approval (spec 004): an agent's approval question, read from its terminal output, becomes a
`tool_approval_request`; the person's decision is typed back as the agent's own answer.

Each agent prints its question its own way, so the recognition is a profile per agent (the
AGENT_APPROVAL setting names one; AGENT_APPROVAL_QUESTION replaces its question for an agent of
one's own). Shipped:

- `agentdesk`: this repository's built-in agent (and the test agent) prints
  `Tool: …`, `Command: …`, `Purpose: …`, `Risk: low|medium|high`, then `Allow this tool? [y/n] `.
- `amazon-q`: Amazon Q Developer CLI's `🛠️  Using tool: execute_bash`, `I will run the following
  shell command:` (the command on the next line), `↳ Purpose: …`, then `Allow this action? Use 't'
  to trust (always allow) this tool for the session. [y/n/t]:`.

The risk is never lower than this module's own reading of the command: an agent (or the model
behind it) that calls `rm -rf` low risk still gets a high-risk card.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

RISKS = ("low", "medium", "high")
LIMITS = {"name": 100, "command": 4000, "purpose": 500}


@dataclass(frozen=True)
class Profile:
    question: re.Pattern  # the approval question, at the end of the output so far
    name: re.Pattern  # each field's last match before the question, in group "v"
    command: re.Pattern
    purpose: re.Pattern
    risk: re.Pattern | None
    yes: str = "y"
    no: str = "n"


def _line(label: str) -> re.Pattern:
    """A field on a line of its own (after a prompt's "> " at most): a "Command:" inside another
    field's text (a purpose that says "Command: ls") is not one."""
    return re.compile(rf"^(?:> )?[ \t⚙●↳⋮]*{label}:[ \t]*(?P<v>[^\n]*)$", re.M)


PROFILES = {
    "agentdesk": Profile(question=re.compile(r"Allow this tool\? \[y/n\][ \t]*\Z"), name=_line("Tool"),
                         command=_line("Command"), purpose=_line("Purpose"), risk=_line("Risk")),
    "amazon-q": Profile(
        question=re.compile(r"Allow this action\? Use 't' to trust \(always allow\) this tool for the session\. "
                            r"\[y/n/t\]:\s*(?:>[ \t]*)?\Z"),
        name=re.compile(r"Using tool: (?P<v>[\w.-]+)"),
        # Every line of the command, up to Q's "⋮" line: a command of several lines is shown whole.
        command=re.compile(r"I will run the following shell command:[ \t]*\n(?P<v>.+?)\n[ \t]*⋮", re.S),
        purpose=_line("Purpose"), risk=None),
}


def profile(name: str, question: str = "") -> Profile:
    """The named profile, with its question replaced when one is given (ValueError for a bad name)."""
    chosen = PROFILES[name]
    if question:
        chosen = Profile(re.compile(question), chosen.name, chosen.command, chosen.purpose, chosen.risk,
                         chosen.yes, chosen.no)
    return chosen


def asked(chosen: Profile, text: str) -> dict | None:
    """The tool the agent asks to run, when `text` (its output without ANSI since its last question)
    ends with the approval question: {name, command, purpose, risk}."""
    question = chosen.question.search(text)
    if question is None:
        return None
    before = text[:question.start()]
    names = list(chosen.name.finditer(before))
    if names:  # the fields of this request only: what follows its tool line
        before = before[names[-1].start():]

    def last(pattern: re.Pattern | None, field: str) -> str:
        found = list(pattern.finditer(before)) if pattern is not None else []
        value = found[-1].group("v").strip() if found else ""
        return "".join(c for c in value if c.isprintable() or (c == "\n" and field == "command"))

    def shown(value: str, field: str) -> str:
        return value if len(value) <= LIMITS[field] else value[:LIMITS[field]] + "…"

    claimed = last(chosen.risk, "risk").lower() if chosen.risk is not None else "low"  # then ours alone
    command = last(chosen.command, "command")
    risk = higher(claimed if claimed in RISKS else "medium", risk_of(command))
    if len(command) > LIMITS["command"]:
        risk = higher(risk, "medium")  # the card cannot show all of it
    return {"name": shown(last(chosen.name, "name"), "name") or "tool", "command": shown(command, "command"),
            "purpose": shown(last(chosen.purpose, "purpose"), "purpose"), "risk": risk}


def higher(a: str, b: str) -> str:
    return max(a, b, key=RISKS.index)


READ_ONLY = {"ls", "cat", "head", "tail", "grep", "egrep", "rg", "pwd", "echo", "wc", "which", "stat", "du", "df",
             "date", "whoami", "uname", "file", "diff", "id", "true"}
READ_ONLY_GIT = {"status", "log", "diff", "show", "blame", "ls-files", "rev-parse"}
LISTING_GIT = {"branch", "remote"}  # low only when they list: no arguments but -a, -r, -v, --list
DANGEROUS = {"sudo", "su", "doas", "dd", "mkfs", "shutdown", "reboot", "halt", "poweroff", "kill", "killall",
             "pkill", "chown", "eval", "crontab", "iptables", "useradd", "userdel", "passwd"}
_SEGMENTS = re.compile(r"\|\||&&|[|;&\n]|\$\(|`")
# Options of read-only programs that run another program or write a file (rg --pre, git diff --output ...).
_RUNS_OR_WRITES = re.compile(r"^--?(pre|compress-program|open-files-in-pager|output|o|exec|ext-diff|textconv)\b")


def risk_of(command: str) -> str:
    """low for commands that only read inside the working directory (ls, cat, grep, git status ...),
    high for ones that delete, escalate, download-and-run or rewrite history, medium for the rest:
    writing, installing, running code, or reaching outside the working directory (an absolute path,
    ~, .., a variable: the server's own files are the same user's)."""
    if not command.strip():
        return "medium"
    if re.search(r"\b(curl|wget)\b[^|]*\|\s*(ba|z)?sh\b", command) or re.search(r":\(\)\s*\{", command) or \
            re.search(r"[<>]\(", command):
        return "high"
    risk = "low"
    for segment in _SEGMENTS.split(command):
        try:
            words = shlex.split(segment)
        except ValueError:
            return "high"  # unbalanced quotes: unreadable, so not trusted
        if not words:
            continue
        program, args = words[0].rsplit("/", 1)[-1], words[1:]
        flags = "".join(a for a in args if a.startswith("-") and not a.startswith("--"))
        if program in DANGEROUS or program.startswith("mkfs"):
            return "high"
        if program == "rm" and ("r" in flags or "f" in flags or "--recursive" in args or "--force" in args):
            return "high"
        if program in ("chmod", "chgrp") and ("R" in flags or "--recursive" in args):
            return "high"
        if program == "git" and args and args[0] in ("push", "reset", "clean") and \
                ({"--force", "-f", "--hard", "-fd", "-fdx"} & set(args) or args[0] == "clean"):
            return "high"
        if program == "git" and args and args[0] == "branch" and {"-D", "--delete", "-d", "-M", "-m"} & set(args):
            return "high"
        if program == "find" and {"-delete", "-exec", "-execdir", "-ok"} & set(args):
            risk = higher(risk, "medium")
        elif program == "git" and args and (args[0] in READ_ONLY_GIT or (
                args[0] in LISTING_GIT and set(args[1:]) <= {"-a", "-r", "-v", "--list"})):
            pass
        elif program not in READ_ONLY:
            risk = higher(risk, "medium")
        if any(_RUNS_OR_WRITES.match(arg) for arg in args) or any(
                arg.startswith(("/", "~")) or ".." in arg.split("/") or "$" in arg for arg in words):
            risk = higher(risk, "medium")
    if ">" in command.replace("2>&1", "").replace(">&2", ""):
        risk = higher(risk, "medium")  # writes a file
    return risk
