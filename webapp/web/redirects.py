"""Where a page may send the browser next: local paths only."""

from urllib.parse import urlsplit


def is_safe_next(target: str | None) -> bool:
    """True only for a local path: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return False
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in target)


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default
