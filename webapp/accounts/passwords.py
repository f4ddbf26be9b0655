"""Password hashing with Argon2id (memory-hard); parameters come from config. Hashing takes tens of
milliseconds of CPU by design: it runs off the event loop (webapp/offload.py), so a sign-in does not
hold every other connection of a gevent worker for that long."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from webapp.offload import offload

# Verified against when the account does not exist, so a miss costs as much as a hit.
_DUMMY_PASSWORD = "not-the-password-0"


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None:
        params = current_app.config["ARGON2_PARAMS"]
        hasher = PasswordHasher(**params)
        # The dummy hash first: hashing yields, and another sign-in may come meanwhile.
        current_app.extensions["password_dummy_hash"] = offload(hasher.hash, _DUMMY_PASSWORD)
        current_app.extensions["password_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return offload(_hasher().hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in roughly constant time, whether or not there is a hash to check."""
    hasher = _hasher()
    try:
        return offload(hasher.verify, password_hash or current_app.extensions["password_dummy_hash"], password) \
            and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
