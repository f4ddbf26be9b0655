"""HTMX request facts and the page-or-fragment rendering rule (STYLE.md habit 5)."""

from flask import make_response, render_template, request


def is_fragment_request() -> bool:
    """HTMX asked for a piece of the page (not a boosted navigation or a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """The same URL answers with the whole page or just the fragment HTMX will swap in."""
    response = make_response(render_template(fragment if is_fragment_request() else page, **context), status)
    response.vary.add("HX-Request")
    return response
