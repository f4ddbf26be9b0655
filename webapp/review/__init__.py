"""Code review (spec 003): rules.json, the analysers (ruff, tree-sitter, lizard, patterns) and an optional LLM pass."""
