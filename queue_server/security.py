"""Credential hashing: slow hashes for passwords, SHA-256 for random keys.

Device keys and API tokens are 32+ random bytes, so a fast hash is enough to
make a stolen database useless while keeping lookups by hash indexable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

MIN_KEY_LENGTH = 16


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
