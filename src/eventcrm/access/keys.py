"""The API key format: ``ecrm_<prefix>_<secret>``.

The prefix (8 letters and digits) is the key's visible, stored identity; the
secret is 32 random bytes (``secrets``), base64url: 43 characters. Only the
SHA-256 digest of the secret is stored. A salted slow hash (bcrypt, Argon2)
protects low-entropy passwords; a 256-bit random secret cannot be guessed, so
one fast digest is enough and keeps each request's check cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

KEY_PREFIX = "ecrm_"
_PREFIX_ALPHABET = string.ascii_letters + string.digits
_PREFIX_LENGTH = 8
_SECRET_BYTES = 32
_KEY = re.compile(rf"^({KEY_PREFIX}[A-Za-z0-9]{{{_PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})$")
#: What a stored prefix looks like (the CLI and the API name keys by it).
PREFIX_PATTERN = rf"^{KEY_PREFIX}[A-Za-z0-9]{{{_PREFIX_LENGTH}}}$"

#: ``last_used_at`` is written at most this often per key.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    #: The whole key, shown once.
    plaintext: str
    secret_digest: str


def new_key() -> NewKey:
    prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_LENGTH))
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(prefix=prefix, plaintext=f"{prefix}_{secret}", secret_digest=digest(secret))


def looks_like_key(credential: str) -> bool:
    """Whether a bearer credential is meant as an API key (rather than a JWT)."""
    return credential.startswith(KEY_PREFIX)


def split(credential: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    match = _KEY.fullmatch(credential)
    return (match[1], match[2]) if match else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    # Constant time: how much of a digest matched must not show in the timing.
    return hmac.compare_digest(digest(secret), stored_digest)


class LastUsedThrottle:
    """Remembers, in this process, when each key's ``last_used_at`` was last
    written, so a busy key costs one UPDATE a minute rather than one per request.
    The UPDATE itself is conditional too, so several processes agree."""

    def __init__(self, every: timedelta = LAST_USED_EVERY, *, max_entries: int = 10_000) -> None:
        self.every = every
        self._written: dict[str, datetime] = {}
        self._max_entries = max_entries

    def due(self, prefix: str, now: datetime, stored: datetime | None) -> bool:
        last = max(filter(None, (self._written.get(prefix), stored)), default=None)
        return last is None or now - last >= self.every

    def written(self, prefix: str, now: datetime) -> None:
        if len(self._written) >= self._max_entries:
            self._written.clear()  # bounded memory; the conditional UPDATE still throttles
        self._written[prefix] = now
