"""Principal: who is calling a machine API, whatever credential they presented."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """One caller: a token (service, personal, widget, usage), a signed-in user (JWT), or nobody.

    `rate_key` is the identity per-caller rate limits count against (None: count per address);
    `label` is what the audit log shows; `token_id` fills the audit row's token column.
    """

    kind: str
    label: str
    scopes: frozenset[str] = frozenset()
    user_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    token_id: int | None = None
    rate_key: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Principal(kind="anonymous", label="anonymous")
