"""The analysers: each turns a source file into Findings for the rules of its kind.

Structure (tree-sitter): long functions, deep nesting, naming. Complexity and parameters: lizard.
Python: ruff. Every language: the patterns of rules.json (secrets, TODO/FIXME) and line length.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field

import lizard
from ruff.__main__ import find_ruff_bin

from webapp.review.languages import Language
from webapp.review.rules import Rule
from webapp.review.structure import Structure

MAX_PATTERN_LINE = 4000  # characters of a line the patterns look at (minified code has endless lines)
RUFF_TIMEOUT = 20


@dataclass
class Finding:
    rule: Rule
    line: int
    values: dict = field(default_factory=dict)  # what the rule's texts name: {name}, {value}, {max} ...
    location: str = ""  # the enclosing function/type, filled in by the engine when empty
    category: str = ""  # a rule may file a finding elsewhere (ruff's code prefixes)
    text: dict | None = None  # overview, details, suggestion as written (the LLM's), instead of the rule's


def structural(rules: list[Rule], structure: Structure, language: Language) -> list[Finding]:
    found = []
    for rule in rules:
        if rule.check == "function_length":
            found += [Finding(rule, f.start, {"name": f.name, "value": f.lines, "max": rule.max}, f.name)
                      for f in structure.functions if f.name and f.lines > rule.max]
        elif rule.check == "nesting_depth":
            found += [Finding(rule, f.depth_line, {"name": f.name or "(anonymous)", "value": f.depth, "max": rule.max},
                              f.name) for f in structure.functions if f.depth > rule.max]
        elif rule.check in ("function_name", "class_name"):
            found += _naming(rule, structure, language)
    return found


def _naming(rule: Rule, structure: Structure, language: Language) -> list[Finding]:
    pattern = rule.for_language(rule.patterns, language.key)
    convention = rule.for_language(rule.conventions, language.key) or pattern.pattern
    scopes = structure.functions if rule.check == "function_name" else structure.classes
    found = []
    for scope in scopes:
        simple = scope.name.rpartition(".")[2]
        if not simple or scope.node_type in language.unnamed_naming or pattern.fullmatch(simple):
            continue
        found.append(Finding(rule, scope.name_line, {"name": simple, "convention": convention,
                                                     "language": language.title}, scope.name))
    return found


def complexity(rules: list[Rule], source: str, language: Language) -> list[Finding]:
    """Cyclomatic complexity and parameter counts per function, from lizard."""
    wanted = [r for r in rules if r.check in ("cyclomatic_complexity", "parameter_count")]
    if not wanted:
        return []
    functions = lizard.analyze_file.analyze_source_code(language.lizard_name, source).function_list
    found = []
    for rule in wanted:
        for function in functions:
            value = function.cyclomatic_complexity if rule.check == "cyclomatic_complexity" else \
                function.parameter_count
            if value > rule.max:
                found.append(Finding(rule, function.start_line, {"name": function.name, "value": value,
                                                                 "max": rule.max}))
    return found


def patterns(rules: list[Rule], lines: list[str]) -> list[Finding]:
    found = []
    for rule in rules:
        if rule.check == "line_length":
            found += [Finding(rule, number, {"value": len(text), "max": rule.max})
                      for number, text in enumerate(lines, 1) if len(text) > rule.max]
        elif rule.check == "pattern":
            for number, text in enumerate(lines, 1):
                match = rule.pattern.search(text[:MAX_PATTERN_LINE])
                if match:
                    matched = match.group(0)[:60]
                    found.append(Finding(rule, number, {"name": match.groupdict().get("name") or matched,
                                                        "match": matched}))
    return found


def ruff(rules: list[Rule], source: str) -> list[Finding]:
    """Python through ruff (its JSON output), each code filed under the category its prefix maps to."""
    found = []
    for rule in rules:
        if rule.check != "ruff":
            continue
        command = [find_ruff_bin(), "check", "--isolated", "--no-cache", "--output-format", "json",
                   "--stdin-filename", "review.py", "--select", ",".join(rule.options["select"])]
        if rule.options["ignore"]:
            command += ["--ignore", ",".join(rule.options["ignore"])]
        completed = subprocess.run([*command, "-"], input=source.encode(), capture_output=True,
                                   timeout=RUFF_TIMEOUT, check=False)
        if completed.returncode not in (0, 1):
            raise AnalyserFailed(f"ruff exited with {completed.returncode}")
        for item in json.loads(completed.stdout or b"[]"):
            code = item.get("code") or "syntax"
            fix = (item.get("fix") or {}).get("message") or item.get("url") or ""
            found.append(Finding(rule, (item.get("location") or {}).get("row") or 1,
                                 {"code": code, "message": item.get("message", ""), "fix": fix},
                                 category=_ruff_category(rule, code)))
    return found


def _ruff_category(rule: Rule, code: str) -> str:
    categories = rule.options["categories"]
    prefix = max((p for p in categories if code.startswith(p)), key=len, default=None)
    return categories[prefix] if prefix else rule.category


class AnalyserFailed(RuntimeError):
    pass
