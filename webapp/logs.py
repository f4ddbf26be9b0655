"""Logging: readable lines for the app, bare JSON lines for the access log (spec 000 §11.2)."""

import logging
import re
import sys

_configured = False

# What must never reach a log line, even inside a stack trace: tokens, provider keys, ciphertexts.
_SECRETS = re.compile(
    r"(adk_[A-Za-z]{3}_)[A-Za-z0-9_]+"  # our tokens (the kind prefix stays, to tell them apart)
    r"|(sk-)[A-Za-z0-9_-]{6,}"  # OpenAI-style provider keys
    r"|((?i:bearer)\s+)\S+"  # whatever follows Bearer
    r"|(gAAAAA)[A-Za-z0-9_=-]+"  # Fernet ciphertexts of stored keys
)


def redact(text: str) -> str:
    """`text` with every token, key and ciphertext it contains replaced by `[redacted]`."""
    return _SECRETS.sub(lambda m: f"{next(g for g in m.groups() if g is not None)}[redacted]", text)


def configure(level: str) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("agentdesk.access", "agentdesk.api_errors"):  # one JSON object a line (spec 000 §11.2)
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
