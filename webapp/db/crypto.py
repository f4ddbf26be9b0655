"""Provider secrets at rest: Fernet tokens under a MultiFernet (newest key first, rotatable)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from webapp.config import ConfigError


class SecretBox:
    """Encrypts with the newest key, decrypts with any configured key."""

    def __init__(self, keys: list[str]):
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError):
            raise ConfigError("ENCRYPTION_KEYS must be comma-separated Fernet keys "
                              "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')") from None
        # Agents read the same few keys all day: remember recent ciphertext -> plaintext pairs
        # (bounded; the plaintext lives in this process's memory either way while it is used).
        self.decrypt = lru_cache(maxsize=4096)(self._decrypt)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def _decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key (a no-op in meaning, a new ciphertext in fact)."""
        return self._fernet.rotate(token.encode()).decode()


# Every column holding Fernet tokens, as (model, attribute name): `flask keys rotate` re-encrypts them all.
ENCRYPTED_COLUMNS: list[tuple[type, str]] = []


def encrypted_column(model: type, attribute: str) -> None:
    """Declare where a model keeps encrypted secrets (next to the model, once)."""
    ENCRYPTED_COLUMNS.append((model, attribute))


def init_app(app) -> None:
    if not app.config["ENCRYPTION_KEYS"]:
        raise ConfigError("ENCRYPTION_KEYS is empty")
    app.extensions["secret_box"] = SecretBox(app.config["ENCRYPTION_KEYS"])


def box() -> SecretBox:
    return current_app.extensions["secret_box"]


def mask_secret(secret: str | None) -> str:
    """`sk-proj-abcdef...wxyz` -> `sk-proj-****...wxyz` (ASCII, as spec 000 §5.1's example): enough to
    recognise, never enough to use."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "****"
    head = secret[:8]
    prefix = head[: head.rfind("-") + 1] if "-" in head else secret[:3]
    return f"{prefix}****...{secret[-4:]}"


__all__ = ["ENCRYPTED_COLUMNS", "SecretBox", "InvalidToken", "box", "encrypted_column", "init_app", "mask_secret"]
