"""Request facts that several layers need, computed one way."""

from urllib.parse import urlsplit

from flask import request


def client_ip() -> str:
    """The caller's address (ProxyFix has already applied TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def is_safe_next(target: str | None) -> bool:
    """True only for a local path: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return False
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in target)


def wants_json() -> bool:
    """Machine paths and clients that ask for JSON get JSON errors."""
    from webapp.api.envelopes import family_for_path

    if family_for_path(request.path) is not None:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
