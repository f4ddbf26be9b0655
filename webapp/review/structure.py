"""A source file's structure from tree-sitter: its functions (name, lines, deepest nesting) and
types, and the innermost one around any line (a finding's `location`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter_language_pack import get_parser

from webapp.review.languages import Language


@dataclass
class Scope:
    name: str  # "area", "Shape.area"; "" for an anonymous function
    kind: str  # "function" or "class"
    node_type: str
    start: int  # 1-based lines, inclusive
    end: int
    name_line: int
    depth: int = 0  # deepest nesting of control structures inside (functions)
    depth_line: int = 0

    @property
    def lines(self) -> int:
        return self.end - self.start + 1


@dataclass
class Structure:
    scopes: list[Scope] = field(default_factory=list)
    _innermost: list[Scope | None] = field(default_factory=list)  # by line: built once, read per finding

    @property
    def functions(self) -> list[Scope]:
        return [s for s in self.scopes if s.kind == "function"]

    @property
    def classes(self) -> list[Scope]:
        return [s for s in self.scopes if s.kind == "class"]

    def enclosing(self, line: int) -> Scope | None:
        """The innermost named function or type around `line`."""
        return self._innermost[line] if 0 <= line < len(self._innermost) else None

    def _index(self, line_count: int) -> None:
        """One sweep, outer scopes first: each scope claims its lines, its inner scopes claim theirs after."""
        innermost: list[Scope | None] = [None] * (line_count + 2)
        for scope in sorted((s for s in self.scopes if s.name), key=lambda s: (s.start, -s.end)):
            end = min(scope.end, line_count + 1)
            innermost[scope.start:end + 1] = [scope] * max(0, end + 1 - scope.start)
        self._innermost = innermost


def _text(node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _name(node, language: Language) -> tuple[str, int]:
    named = node.child_by_field_name("name")
    if named is not None:
        return _text(named), named.start_point[0] + 1
    parent = node.parent  # const area = () => ..., { area: function () {...} }
    if parent is not None and parent.type in ("variable_declarator", "pair", "public_field_definition",
                                              "assignment_expression"):
        target = (parent.child_by_field_name("name") or parent.child_by_field_name("key")
                  or parent.child_by_field_name("left"))
        if target is not None and target.type in ("identifier", "property_identifier", "string"):
            return _text(target).strip("'\""), target.start_point[0] + 1
    return "", node.start_point[0] + 1


def analyse(source: bytes, language: Language) -> Structure:
    tree = get_parser(language.grammar).parse(source)
    structure = Structure()
    # (node, enclosing scopes' names, the function being measured, nesting depth inside it)
    stack = [(tree.root_node, (), None, 0)]
    while stack:
        node, names, function, depth = stack.pop()
        kind = "" if not node.is_named else "function" if node.type in language.functions \
            else "class" if node.type in language.classes else ""
        if kind:
            name, name_line = _name(node, language)
            qualified = ".".join((*names, name)) if name else ""
            scope = Scope(qualified, kind, node.type, node.start_point[0] + 1, node.end_point[0] + 1, name_line)
            structure.scopes.append(scope)
            if name:
                names = (*names, name)
            if kind == "function":
                function, depth = scope, 0
        elif function is not None and node.type in language.nesting and not (
                node.type == "if_statement" and node.parent is not None
                and node.parent.type in ("else_clause", "if_statement")):  # else-if continues a chain
            depth += 1
            if depth > function.depth:
                function.depth, function.depth_line = depth, node.start_point[0] + 1
        for child in reversed(node.children):
            stack.append((child, names, function, depth))
    structure.scopes.sort(key=lambda s: s.start)
    structure._index(tree.root_node.end_point[0] + 1)
    return structure
