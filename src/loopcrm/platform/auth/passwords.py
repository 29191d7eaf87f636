"""Password and secret hashing.

Passwords use argon2id (slow on purpose: a stolen table stays expensive to crack). Random
secrets we generate ourselves — API tokens, session and reset tokens — carry 256 bits of
entropy, so a fast SHA-256 digest is enough and keeps lookups a single index probe.
"""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified when the email is unknown, so a failed sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash("loopcrm-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def digest(secret: str) -> str:
    """SHA-256 hex digest of a generated secret, as stored."""
    return hashlib.sha256(secret.encode()).hexdigest()
