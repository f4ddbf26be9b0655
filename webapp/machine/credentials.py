"""Credentials a machine blueprint accepts; each turns what the request presents into a Principal.

A credential reads its header (None: not presented) and verifies what it read (None: not
valid). A blueprint tries its credentials in order; the first one presented decides.
"""

from __future__ import annotations

import hmac
from typing import Callable

from flask import current_app

from webapp.principal import ANONYMOUS, Principal

# verify(raw, kinds) -> Principal | None: how a feature checks its tokens (tokens.service.authenticate).
TokenCheck = Callable[[str, frozenset], "Principal | None"]


def bearer_value(headers) -> str | None:
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if value and scheme.lower() == "bearer" else None


class Credential:
    """Base: `scheme` is the OpenAPI security scheme this credential is documented as."""

    scheme_name: str = ""
    scheme: dict = {}
    public = False

    def read(self, headers) -> str | None:
        raise NotImplementedError

    def verify(self, raw: str) -> Principal | None:
        raise NotImplementedError

    def open_in(self, app) -> bool:
        """Whether this app lets callers through without presenting anything (for the document)."""
        return self.public

    def prefetch(self, raw: str):
        """The lookup verify(raw) will make, to send ahead with the view's own; None for none."""
        return None


class BearerToken(Credential):
    """`Authorization: Bearer <token>`: a token of one of `kinds`, checked by `check`."""

    scheme_name = "bearerAuth"
    scheme = {"type": "http", "scheme": "bearer",
              "description": "A service or personal token (Admin → Service tokens, or Tokens)."}

    def __init__(self, check: TokenCheck, *kinds: str, lookup=None):
        self.check, self.kinds, self.lookup = check, frozenset(kinds), lookup

    def read(self, headers) -> str | None:
        return bearer_value(headers)

    def verify(self, raw: str) -> Principal | None:
        return self.check(raw, self.kinds)

    def prefetch(self, raw: str):
        return self.lookup(raw) if self.lookup else None


class ApiKeyHeader(Credential):
    """A key in its own header: spec 001's tenant `X-API-Key` (widget), spec 003's `x-api-key` (usage)."""

    def __init__(self, header: str, check: TokenCheck, *kinds: str):
        self.header, self.check, self.kinds = header, check, frozenset(kinds)
        self.scheme_name = f"{'-'.join(sorted(kinds))}Key"
        self.scheme = {"type": "apiKey", "in": "header", "name": header}

    def read(self, headers) -> str | None:
        return headers.get(self.header) or None

    def verify(self, raw: str) -> Principal | None:
        return self.check(raw.strip(), self.kinds)


class ConfiguredSecret(Credential):
    """`Authorization: Bearer <the value of a config key>`; open to anyone while the key is empty."""

    scheme_name = "metricsToken"
    scheme = {"type": "http", "scheme": "bearer", "description": "METRICS_TOKEN, when it is set."}

    def __init__(self, config_key: str):
        self.config_key = config_key

    def read(self, headers) -> str | None:
        if not current_app.config[self.config_key]:
            return ""  # presented nothing, needed nothing
        return bearer_value(headers) or None

    def open_in(self, app) -> bool:
        return not app.config[self.config_key]

    def verify(self, raw: str) -> Principal | None:
        expected = current_app.config[self.config_key]
        if not expected:
            return ANONYMOUS
        if hmac.compare_digest(raw.encode(), expected.encode()):
            return Principal(kind="operator", label=self.config_key)
        return None


class Public(Credential):
    """No credential: anyone may call (health, the OpenAPI document)."""

    public = True

    def read(self, headers) -> str | None:
        return ""

    def verify(self, raw: str) -> Principal | None:
        return ANONYMOUS


PUBLIC = Public()


def authenticate(credentials, headers) -> tuple[Principal | None, bool]:
    """(principal, presented): the first credential the request presents decides.

    (None, True): something was presented and it is not valid; (None, False): nothing presented
    and no credential lets the caller in without one.
    """
    for credential in credentials:
        raw = credential.read(headers)
        if raw is None:
            continue
        return credential.verify(raw), not credential.public
    return None, False
