"""Logging: readable lines for the app, bare JSON lines for the access log (spec 000 §11.2)."""

import logging
import sys

_configured = False


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
