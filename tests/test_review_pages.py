"""Admin → Review rules (validated, versioned, in force at once) and the review page."""

from __future__ import annotations

import base64
import json

from tests.conftest import post, register
from webapp.review.rules import DEFAULT_PATH

SOURCE = "def incNumber(a, b):\n    return a / b\n"


def default_rules() -> dict:
    return json.loads(DEFAULT_PATH.read_text())


def save(client, content: str):
    return post(client, "/admin/review-rules", {"content": content})


def test_a_broken_file_is_refused_with_its_line_and_the_rules_stay(app, admin_client):
    assert "long-function" in admin_client.get("/admin/review-rules").text
    broken = save(admin_client, '{\n  "categories": [\n    {"id": "A"}\n  ],\n  "rules": [,]\n}')
    assert broken.status_code == 422 and "Line 5" in broken.text and "not valid JSON" in broken.text
    rules = default_rules()
    rules["rules"][3]["category"] = "Nonsense"
    text = json.dumps(rules, indent=2, ensure_ascii=False)
    rows = text.splitlines()
    after = rows.index('  "rules": [')
    starts = [n + 1 for n, row in enumerate(rows) if n > after and row == "    {"]  # where each rule starts
    unknown = save(admin_client, text)
    assert unknown.status_code == 422
    assert f"Line {starts[3]}:" in unknown.text and "Nonsense" in unknown.text
    bad_pattern = default_rules()
    bad_pattern["rules"][6]["pattern"] = "(unclosed"
    assert "not a valid regular expression" in save(admin_client, json.dumps(bad_pattern)).text
    assert "No saved versions" in admin_client.get("/admin/review-rules").text  # nothing was saved


def test_a_saved_version_is_in_force_at_once(app, admin_client):
    rules = default_rules()
    rules["categories"].append({"id": "可読性", "name": {"ja": "可読性", "en": "Readability (ja)"}})
    for rule in rules["rules"]:
        if rule["id"] == "function-naming":
            rule["category"] = "可読性"
    assert save(admin_client, json.dumps(rules, ensure_ascii=False)).status_code == 302
    page = admin_client.get("/admin/review-rules")
    assert "Version 1" in page.text
    assert json.loads(admin_client.get("/admin/review-rules/1").data)["categories"][-1]["id"] == "可読性"
    key = usage_key(app)
    answer = app.test_client().post("/codereview", json={"source_base64": base64.b64encode(SOURCE.encode()).decode(),
                                                         "language": "python"}, headers={"x-api-key": key})
    naming = [p for p in answer.json["review_points"] if p["rule"] == "function-naming"]
    assert [p["category"] for p in naming] == ["可読性"]


def usage_key(app) -> str:
    app.test_client().post("/usagekey", json={"username": "Tom", "email": "tom@example.com"})
    approved = app.test_cli_runner().invoke(args=["usage-keys", "approve", "tom@example.com"])
    return approved.output.strip().splitlines()[-1]


def test_only_admins_edit_rules(app, client):
    register(client, "admin@example.com", "admin")
    member = app.test_client()
    register(member, "member@example.com", "member")
    assert member.get("/admin/review-rules").status_code == 403
    assert save(member, json.dumps(default_rules())).status_code == 403


def test_the_review_page_annotates_lines(app, admin_client):
    assert 'id="review-source"' in admin_client.get("/review").text
    answer = post(admin_client, "/review", {"source": SOURCE, "language": "python"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert "incNumber" in answer.text and 'href="#src-1"' in answer.text and 'id="src-1" class="flagged"' in answer.text
    assert "&lt;" not in SOURCE and "Readability" in answer.text
    empty = post(admin_client, "/review", {"source": "  ", "language": "python"}, headers={"HX-Request": "true"})
    assert empty.status_code == 422 and "Paste some code" in empty.text
    unknown = post(admin_client, "/review", {"source": "x", "language": "cobol"}, headers={"HX-Request": "true"})
    assert unknown.status_code == 422
    assert admin_client.post("/review", data={"source": SOURCE, "language": "python"}).status_code == 400  # no CSRF


def test_hostile_source_is_shown_as_text(app, admin_client):
    hostile = "def f():\n    return '<script>alert(1)</script>'  # TODO\n"
    answer = post(admin_client, "/review", {"source": hostile, "language": "python"}, headers={"HX-Request": "true"})
    assert "<script>alert(1)</script>" not in answer.text and "&lt;script&gt;" in answer.text


def test_rules_that_would_fail_a_review_later_are_refused_now(app, admin_client):
    """Each of these was a 500 on save, or a 500 on every review that used the rule."""
    def rules_with(change) -> str:
        rules = default_rules()
        change({rule["id"]: rule for rule in rules["rules"]})
        return json.dumps(rules)

    for change in (lambda r: r["ruff"].update(ignore=5), lambda r: r["ruff"].update(ignore=None),
                   lambda r: r["ruff"].update(categories=["x"]), lambda r: r["function-naming"].update(conventions="xy"),
                   lambda r: r["function-naming"]["patterns"].update(default=5),
                   lambda r: r["long-function"]["text"]["en"].update(overview="{value[0]} lines"),
                   lambda r: r["long-function"]["text"]["en"].update(overview="a { b")):
        answer = save(admin_client, rules_with(change))
        assert answer.status_code == 422, answer.text[:200]
    assert "No saved versions" in admin_client.get("/admin/review-rules").text


def test_line_numbers_count_newlines_only(app):
    from webapp.review import engine, languages

    with app.app_context():
        source = "x = 1\x0c\n# TODO one\ns = '\u2028'  # TODO two\n"
        points = engine.review(source, languages.find("python"), locale="en").points
        assert sorted(p["codeline"] for p in points if p["rule"] == "todo") == [2, 3]


def test_a_review_lists_at_most_500_findings_and_says_so(app):
    from webapp.review import engine, languages

    with app.app_context():
        source = "".join(f"def f{i}():  # TODO\n    pass\n" for i in range(800))
        result = engine.review(source, languages.find("python"), locale="en")
        assert len(result.points) == 500 and any("first 500 findings" in note for note in result.notes)
