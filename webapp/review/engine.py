"""Review one source file: run the analysers for the rules in force, then merge, de-duplicate and
word the findings in the requester's language. Every `codeline` is a line of the submitted source."""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp.review import analysers, llm_pass, rules as rulebook
from webapp.review.languages import Language
from webapp.review.rules import Rule
from webapp.review.structure import analyse


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
    except (ValueError, IndexError, AttributeError):  # an admin's text with a stray brace: keep it as written
        return template


def review(source: str, language: Language, *, locale: str) -> Review:
    started = time.perf_counter()
    ruleset = rulebook.current()
    applicable = [rule for rule in ruleset.rules if rule.applies_to(language.key)]
    lines = source.splitlines()
    outcome = Review(language=language, lines=len(lines), rules_version=ruleset.version)
    structure = analyse(source.encode(), language)
    findings = analysers.structural(applicable, structure, language) + analysers.patterns(applicable, lines)
    with force_locale(locale):
        for name, run in (("lizard", lambda: analysers.complexity(applicable, source, language)),
                          ("ruff", lambda: analysers.ruff(applicable, source) if language.key == "python" else [])):
            try:
                findings += run()
            except Exception as error:  # noqa: BLE001 (an analyser's crash costs its findings, not the review)
                current_app.logger.warning("review: %s failed: %s", name, error)
                outcome.notes.append(str(_l("The %(tool)s pass failed; its findings are missing.", tool=name)))
        findings += _llm_findings(outcome, ruleset, lines, language, locale)
        top_level = str(_l("(top level)"))
        outcome.points = _points(findings, structure, len(lines), locale, top_level)
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
