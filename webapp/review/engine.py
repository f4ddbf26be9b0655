"""Review one source file: run the analysers for the rules in force, then merge, de-duplicate and
word the findings in the requester's language. Every `codeline` is a line of the submitted source."""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp.offload import offload
from webapp.review import analysers, llm_pass, rules as rulebook
from webapp.review.languages import Language
from webapp.review.rules import Rule
from webapp.review.structure import analyse


MAX_POINTS = 500  # a review that finds more lists the first ones (by line) and says so
# lizard reads about 200 KB a second: past this, complexity is left out (with a note) rather than
# holding a worker for seconds. Structure, patterns and ruff still read the whole file.
COMPLEXITY_MAX_CHARS = 256 * 1024


@dataclass
class Review:
    language: Language
    lines: int
    rules_version: int
    points: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0

    @property
    def result(self) -> str:
        return "NG" if self.points else "OK"

    def as_spec(self) -> dict:
        """spec 003's response body (plus `notes` when a pass had to be skipped)."""
        body = {"review_result": self.result}
        if self.points:
            body["review_points"] = self.points
        if self.notes:
            body["notes"] = self.notes
        return body


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _word(template: str, values: dict) -> str:
    try:
        return string.Formatter().vformat(template, (), _Blank(values))
    except Exception:  # noqa: BLE001 (rules.parse refuses such texts; one saved before that rule is shown as written)
        return template


def source_lines(source: str) -> list[str]:
    """The lines as tree-sitter, ruff and lizard count them: split on \\n only (str.splitlines would
    also split on form feeds, \\u2028 and lone \\r, and every later line number would be off)."""
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _analyse(source: str, lines: list[str], language: Language, applicable: list) -> tuple:
    """tree-sitter, the patterns and lizard: pure computation, no Flask, no database."""
    structure = analyse(source.encode(), language)
    findings = analysers.structural(applicable, structure, language) + analysers.patterns(applicable, lines)
    failed, skipped = [], len(source) > COMPLEXITY_MAX_CHARS
    try:
        if not skipped:
            findings += analysers.complexity(applicable, source, language)
    except Exception as error:  # noqa: BLE001 (an analyser's crash costs its findings, not the review)
        failed.append(("lizard", error))
    return structure, findings, failed, skipped


def review(source: str, language: Language, *, locale: str) -> Review:
    started = time.perf_counter()
    ruleset = rulebook.current()
    applicable = [rule for rule in ruleset.rules if rule.applies_to(language.key)]
    lines = source_lines(source)
    outcome = Review(language=language, lines=len(lines), rules_version=ruleset.version)
    structure, findings, failed, skipped = offload(_analyse, source, lines, language, applicable)
    if language.key == "python":
        try:
            findings += analysers.ruff(applicable, source)  # a subprocess: waiting on it yields to other requests
        except Exception as error:  # noqa: BLE001
            failed.append(("ruff", error))
    with force_locale(locale):
        if skipped:
            outcome.notes.append(str(_l("Complexity was not measured: the file is over %(size)s KB.",
                                        size=COMPLEXITY_MAX_CHARS // 1024)))
        for tool, error in failed:
            current_app.logger.warning("review: %s failed: %s", tool, error)
            outcome.notes.append(str(_l("The %(tool)s pass failed; its findings are missing.", tool=tool)))
        findings += _llm_findings(outcome, ruleset, lines, language, locale)
        outcome.points = _points(findings, structure, len(lines), locale, str(_l("(top level)")))
        if len(outcome.points) > MAX_POINTS:
            outcome.notes.append(str(_l("Only the first %(count)s findings are listed; fix those and review again.",
                                        count=MAX_POINTS)))
            del outcome.points[MAX_POINTS:]
    outcome.latency_ms = round((time.perf_counter() - started) * 1000)
    return outcome


LLM_RULE_ID = "llm"


def _llm_findings(outcome: Review, ruleset, lines: list[str], language: Language, locale: str) -> list:
    found = llm_pass.run(lines, language, list(ruleset.categories), locale)
    if found is None:
        return []
    if found.note:
        outcome.notes.append(found.note)
    outcome.model, outcome.tokens_in, outcome.tokens_out = found.model, found.tokens_in, found.tokens_out
    placeholder = Rule(id=LLM_RULE_ID, category="", check="llm", text={})
    return [analysers.Finding(placeholder, f.line, location=f.location.strip(), category=f.category,
                              text={"overview": f.overview, "details": f.details, "suggestion": f.suggestion})
            for f in found.findings]


def _points(findings, structure, line_count: int, locale: str, top_level: str) -> list[dict]:
    """Findings as review_points, by line. Two passes reporting the same category on the same line
    (the secret pattern and ruff's S105, or the LLM) say one thing: the rules' own checks speak
    first, then ruff, then the LLM."""
    points, seen, covered = [], set(), {}
    order = {"ruff": 1, "llm": 2}
    for finding in sorted(findings, key=lambda f: (f.line, order.get(f.rule.check, 0), f.rule.id)):
        if not 1 <= finding.line <= line_count:
            continue  # never point at a line the caller did not send
        if finding.text is not None:
            words = finding.text
        else:
            template = finding.rule.text.get(locale) or finding.rule.text["en"]
            words = {name: _word(template[name], finding.values) for name in ("overview", "details", "suggestion")}
        category = finding.category or finding.rule.category
        key = (finding.line, finding.rule.id, words["overview"])
        first = covered.setdefault((finding.line, category), finding.rule.id)
        if key in seen or first != finding.rule.id:
            continue
        seen.add(key)
        scope = structure.enclosing(finding.line)
        points.append({"location": finding.location or (scope.name if scope else top_level), "codeline": finding.line,
                       "category": category, **words, "rule": finding.rule.id})
    return points
