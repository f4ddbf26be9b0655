"""The languages the review understands: names callers may send, and how tree-sitter shapes each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    key: str  # what rules.json's "languages" and "patterns" name
    title: str  # as spec 003 writes it ("TypeScript")
    grammar: str  # tree-sitter-language-pack's name
    lizard_name: str  # a file name whose extension tells lizard the language
    extensions: tuple[str, ...]
    functions: frozenset[str]  # node types that are functions or methods
    classes: frozenset[str]
    nesting: frozenset[str]  # control structures that count towards nesting depth
    unnamed_naming: frozenset[str] = frozenset()  # function nodes the naming rule skips (constructors)


_JS_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration", "method_definition",
                           "function_expression", "arrow_function"})
_JS_NESTING = frozenset({"if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement",
                         "switch_statement", "try_statement"})
_JS_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "interface_declaration"})

LANGUAGES = {
    language.key: language for language in (
        Language("python", "Python", "python", "review.py", (".py", ".pyi"),
                 frozenset({"function_definition"}), frozenset({"class_definition"}),
                 frozenset({"if_statement", "for_statement", "while_statement", "try_statement", "with_statement",
                            "match_statement"})),
        Language("typescript", "TypeScript", "typescript", "review.ts", (".ts", ".mts", ".cts"),
                 _JS_FUNCTIONS, _JS_CLASSES, _JS_NESTING),
        Language("tsx", "TSX", "tsx", "review.tsx", (".tsx",), _JS_FUNCTIONS, _JS_CLASSES, _JS_NESTING),
        Language("javascript", "JavaScript", "javascript", "review.js", (".js", ".mjs", ".cjs", ".jsx"),
                 _JS_FUNCTIONS, _JS_CLASSES, _JS_NESTING),
        Language("go", "Go", "go", "review.go", (".go",),
                 frozenset({"function_declaration", "method_declaration", "func_literal"}), frozenset({"type_spec"}),
                 frozenset({"if_statement", "for_statement", "expression_switch_statement", "type_switch_statement",
                            "select_statement"})),
        Language("java", "Java", "java", "Review.java", (".java",),
                 frozenset({"method_declaration", "constructor_declaration", "lambda_expression"}),
                 frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}),
                 frozenset({"if_statement", "for_statement", "enhanced_for_statement", "while_statement",
                            "do_statement", "switch_expression", "try_statement", "try_with_resources_statement"}),
                 unnamed_naming=frozenset({"constructor_declaration"})),
    )
}
ALIASES = {"py": "python", "python3": "python", "ts": "typescript", "js": "javascript", "jsx": "javascript",
           "node": "javascript", "nodejs": "javascript", "ecmascript": "javascript", "golang": "go"}


def find(name) -> Language | None:
    """"Python", "typescript", "TS", "golang" ... -> the Language, or None if not supported."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower().replace(" ", "")
    return LANGUAGES.get(ALIASES.get(key, key))


def by_extension(filename: str) -> Language | None:
    lowered = filename.lower()
    return next((lang for lang in LANGUAGES.values() if lowered.endswith(lang.extensions)), None)


def supported_titles() -> str:
    return ", ".join(lang.title for lang in LANGUAGES.values())
