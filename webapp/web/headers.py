"""Response headers every page and API answer carries."""

from flask import current_app, request

from webapp.web.assets import asset_sources

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _csp() -> str:
    """Built once per app: only the asset origins vary, and they come from config."""
    policy = current_app.extensions.get("agentdesk.csp")
    if policy is None:
        policy = current_app.extensions["agentdesk.csp"] = (
            f"default-src 'self'; script-src {asset_sources('htmx', 'chart', 'socketio')}; style-src 'self'; "
            "img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")
    return policy


def page_csp(*, scripts: tuple[str, ...], styles: tuple[str, ...] = (), inline_styles: bool = False) -> str:
    """The policy for a page that loads more pinned files than every page does (the workspace's
    terminal); `inline_styles` for a library that writes <style> elements (xterm.js's renderer)."""
    style = asset_sources(*styles) + (" 'unsafe-inline'" if inline_styles else "")
    return (f"default-src 'self'; script-src {asset_sources('htmx', *scripts)}; style-src {style}; "
            "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def add_security_headers(response):
    headers = response.headers
    headers.extend(ALWAYS)  # no view sets these: appended without searching for them first
    if response.mimetype == "text/html":
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = _csp()
        if request.cookies and "Cache-Control" not in headers:
            # Pages may show personal data: never keep them in shared caches.
            headers["Cache-Control"] = "private, no-store"
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
