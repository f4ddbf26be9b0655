"""rules.json: the review's categories and rules. A default ships beside this file; admins save new
versions from the browser, each validated first (a broken file is refused with the reason and the
line, and the version in force stays); the newest saved version is in force."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.db.orm import db
from webapp.errors import ValidationFailed
from webapp.review.models import ReviewRuleSet

DEFAULT_PATH = Path(__file__).with_name("rules.default.json")
CHECKS = {
    "function_length": "max", "nesting_depth": "max", "cyclomatic_complexity": "max", "parameter_count": "max",
    "line_length": "max", "function_name": "patterns", "class_name": "patterns", "pattern": "pattern", "ruff": "select",
}
TEXT_FIELDS = ("overview", "details", "suggestion")
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    check: str
    text: dict  # locale -> {overview, details, suggestion}
    max: int | None = None
    pattern: re.Pattern | None = None
    patterns: dict = field(default_factory=dict)  # language (or "default") -> compiled pattern
    conventions: dict = field(default_factory=dict)
    languages: tuple = ()
    options: dict = field(default_factory=dict)  # ruff: select, ignore, categories

    def applies_to(self, language: str) -> bool:
        return not self.languages or language in self.languages

    def for_language(self, table: dict, language: str):
        return table.get(language, table.get("default"))


@dataclass(frozen=True)
class RuleSet:
    version: int  # 0: the shipped default
    categories: dict  # id -> {locale: name}
    rules: tuple[Rule, ...]
    source: str


class RulesInvalid(ValidationFailed):
    code = "RULES_INVALID"

    def __init__(self, reason, line: int | None):
        message = _l("Line %(line)s: %(reason)s", line=line, reason=reason) if line else reason
        super().__init__(message, field="content", details={"line": line})
        self.line = line


def _element_lines(text: str, key: str) -> list[int]:
    """The line on which each element of the top-level array `key` starts (for error messages)."""
    match = re.search(r'"%s"\s*:\s*\[' % re.escape(key), text)
    if not match:
        return []
    decoder, lines, index = json.JSONDecoder(), [], match.end()
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return lines
        lines.append(text.count("\n", 0, index) + 1)
        try:
            _, index = decoder.raw_decode(text, index)
        except ValueError:
            return lines


def parse(text: str, version: int = 0) -> RuleSet:
    """Validate rules.json text into a RuleSet, or raise RulesInvalid naming the reason and the line."""
    if len(text.encode()) > MAX_BYTES:
        raise RulesInvalid(_l("The file is larger than 256 KB."), None)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RulesInvalid(_l("This is not valid JSON: %(reason)s", reason=getattr(error, "msg", str(error))),
                           getattr(error, "lineno", None)) from None
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list) \
            or not isinstance(data.get("rules"), list):
        raise RulesInvalid(_l('The file must be an object with a "categories" list and a "rules" list.'), 1)
    category_lines, rule_lines = _element_lines(text, "categories"), _element_lines(text, "rules")
    categories = {}
    for index, item in enumerate(data["categories"]):
        line = category_lines[index] if index < len(category_lines) else None
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            raise RulesInvalid(_l('Each category needs an "id" (the name review_points carry).'), line)
        names = item.get("name", {})
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise RulesInvalid(_l('A category\'s "name" maps languages to names: {"ja": "…", "en": "…"}.'), line)
        categories[item["id"]] = names
    if not categories:
        raise RulesInvalid(_l("Define at least one category."), 1)
    rules, seen = [], set()
    for index, item in enumerate(data["rules"]):
        line = rule_lines[index] if index < len(rule_lines) else None
        rule = _rule(item, categories, line)
        if rule.id in seen:
            raise RulesInvalid(_l('Two rules have the id "%(id)s".', id=rule.id), line)
        seen.add(rule.id)
        rules.append(rule)
    return RuleSet(version=version, categories=categories, rules=tuple(rules), source=text)


def _rule(item, categories: dict, line: int | None) -> Rule:
    if not isinstance(item, dict):
        raise RulesInvalid(_l("Each rule is an object."), line)
    rule_id, check, category = item.get("id"), item.get("check"), item.get("category")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RulesInvalid(_l('Each rule needs an "id".'), line)
    if check not in CHECKS:
        raise RulesInvalid(_l('Rule "%(id)s": "check" must be one of %(checks)s.', id=rule_id,
                              checks=", ".join(sorted(CHECKS))), line)
    if category not in categories:
        raise RulesInvalid(_l('Rule "%(id)s": category "%(category)s" is not one of the categories.', id=rule_id,
                              category=category), line)
    text = item.get("text")
    if not isinstance(text, dict) or "en" not in text or not all(
            isinstance(t, dict) and all(isinstance(t.get(f), str) for f in TEXT_FIELDS) for t in text.values()):
        raise RulesInvalid(_l('Rule "%(id)s": "text" needs "en" (and may have "ja"), each with overview, details '
                              'and suggestion.', id=rule_id), line)
    for texts in text.values():
        for name in TEXT_FIELDS:
            _check_template(rule_id, texts[name], line)
    options = {"id": rule_id, "category": category, "check": check, "text": text}
    needs = CHECKS[check]
    try:
        if needs == "max":
            if not isinstance(item.get("max"), int) or item["max"] < 1:
                raise RulesInvalid(_l('Rule "%(id)s": "max" must be a whole number of at least 1.', id=rule_id), line)
            options["max"] = item["max"]
        elif needs == "pattern":
            options["pattern"] = re.compile(str(item.get("pattern") or ""))
            if not item.get("pattern"):
                raise RulesInvalid(_l('Rule "%(id)s": give a "pattern".', id=rule_id), line)
        elif needs == "patterns":
            patterns = item.get("patterns")
            conventions = item.get("conventions") or {}
            if not isinstance(patterns, dict) or "default" not in patterns or not _strings(patterns) \
                    or not isinstance(conventions, dict) or not _strings(conventions):
                raise RulesInvalid(_l('Rule "%(id)s": "patterns" maps languages (and "default") to patterns.',
                                      id=rule_id), line)
            options["patterns"] = {lang: re.compile(p) for lang, p in patterns.items()}
            options["conventions"] = dict(conventions)
        else:  # ruff
            select_, ignore, mapped = item.get("select"), item.get("ignore", []), item.get("categories") or {}
            if not isinstance(select_, list) or not isinstance(ignore, list) or not all(
                    isinstance(s, str) and re.fullmatch(r"[A-Z]+[0-9]*", s) for s in select_ + ignore):
                raise RulesInvalid(_l('Rule "%(id)s": "select" and "ignore" list ruff codes such as "F" or "E711".',
                                      id=rule_id), line)
            if not isinstance(mapped, dict) or not _strings(mapped):
                raise RulesInvalid(_l('Rule "%(id)s": "categories" maps ruff code prefixes to categories.',
                                      id=rule_id), line)
            options["options"] = {"select": select_, "ignore": ignore, "categories": dict(mapped)}
            unknown = [c for c in options["options"]["categories"].values() if c not in categories]
            if unknown:
                raise RulesInvalid(_l('Rule "%(id)s": category "%(category)s" is not one of the categories.',
                                      id=rule_id, category=unknown[0]), line)
    except re.error as error:
        raise RulesInvalid(_l('Rule "%(id)s": the pattern is not a valid regular expression (%(reason)s).',
                              id=rule_id, reason=str(error)), line) from None
    languages = item.get("languages", [])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise RulesInvalid(_l('Rule "%(id)s": "languages" is a list of language names.', id=rule_id), line)
    options["languages"] = tuple(x.lower() for x in languages)
    return Rule(**options)


def _strings(mapping: dict) -> bool:
    return all(isinstance(key, str) and isinstance(value, str) for key, value in mapping.items())


def _check_template(rule_id: str, template: str, line: int | None) -> None:
    """Texts name values as plain {placeholders}; anything else ({value[0]}, a stray brace) would
    fail when a review words the finding, so it is refused here instead."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        fields = None
    if fields is None or not all(name.isidentifier() for name in fields):
        raise RulesInvalid(_l('Rule "%(id)s": a text has a brace that is not a {placeholder}: %(text)s. Write '
                              'placeholders as {name}, and a literal brace as {{ or }}.', id=rule_id,
                              text=template[:80]), line)


# --- Versions ---------------------------------------------------------------------------------

_cache: dict = {}


def current() -> RuleSet:
    """The rules in force: the newest saved version, else the shipped default (parsed once per version)."""
    row = db.session.execute(select(ReviewRuleSet.id, ReviewRuleSet.created_at)
                             .order_by(ReviewRuleSet.id.desc()).limit(1)).first()
    version = row[0] if row else 0
    key = (id(current_app._get_current_object()), version, row[1] if row else None)
    found = _cache.get(key)
    if found is None:
        text = db.session.get(ReviewRuleSet, version).content if version else DEFAULT_PATH.read_text()
        found = parse(text, version)
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = found
    return found


def save(actor, text: str) -> ReviewRuleSet:
    """Validate and store a new version (RulesInvalid leaves the current one in force)."""
    parse(text)
    row = ReviewRuleSet(content=text, created_by_id=actor.id if actor else None)
    db.session.add(row)
    db.session.commit()
    return row


def version(number: int) -> ReviewRuleSet | None:
    return db.session.get(ReviewRuleSet, number)


def versions(limit: int = 20) -> list[ReviewRuleSet]:
    return list(db.session.scalars(select(ReviewRuleSet).order_by(ReviewRuleSet.id.desc()).limit(limit)))
