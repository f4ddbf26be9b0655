"""The caller's network address, computed one way for the browser, the machine APIs and the limiter."""

from flask import request


def client_ip() -> str:
    """The caller's address (ProxyFix has already applied TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"
