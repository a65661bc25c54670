"""Turning a bearer credential into an Actor: an API key, or a JWT when configured.

A credential that looks like an API key (``ecrm_...``) is checked as one and
nothing else; any other is a JWT, if an identity provider is configured.
Every refusal is ``Unauthenticated``: missing, malformed, unknown, revoked or
expired alike answer 401.

A key that checked out is remembered for a few seconds (``VerifiedKeys``), so a
busy caller does not cost a database read per request. Revoking a key, or
deleting the contact an organizer key acts for, forgets it at once in the
process that did it (``forget``); another process may accept it until its
entry expires, ``EVENTCRM_API_KEY_CACHE_SECONDS`` at most (docs/security.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from eventcrm.access import keys
from eventcrm.access.domain import Actor, ApiKey
from eventcrm.access.jwt_verifier import JwtVerifier
from eventcrm.errors import DomainError, Unauthenticated
from eventcrm.kit.clock import Clock
from eventcrm.storage.ports import Storage

log = structlog.get_logger(__name__)

_UNKNOWN_KEY = "Unknown API key."


class VerifiedKeys:
    """API keys whose secret matched, for ``ttl`` seconds, keyed by the SHA-256 of
    the whole credential (the secret itself is not kept). Only usable keys are
    remembered; an expiry is still checked on every request."""

    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[bytes, tuple[float, ApiKey]] = {}
        #: Counts ``forget`` calls: a key read before one is not remembered after it.
        self.generation = 0

    @staticmethod
    def _slot(credential: str) -> bytes:
        return hashlib.sha256(credential.encode()).digest()

    def get(self, credential: str) -> ApiKey | None:
        slot = self._slot(credential)
        entry = self._entries.get(slot)
        if entry is None:
            return None
        until, key = entry
        if self._monotonic() >= until:
            del self._entries[slot]
            return None
        return key

    def put(self, credential: str, key: ApiKey, *, read_at_generation: int) -> None:
        """Remember ``key``, read from the database when ``generation`` was
        ``read_at_generation``: unless a ``forget`` came in between (the read
        may predate the revocation it was for)."""
        if self.ttl <= 0 or read_at_generation != self.generation:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # bounded memory: the next requests read the database
        self._entries[self._slot(credential)] = (self._monotonic() + self.ttl, key)

    def forget(self, *, prefix: str | None = None, user_id: str | None = None) -> None:
        """Drop the entries of a key (by prefix), or of every key acting for a contact."""
        self.generation += 1
        self._entries = {
            slot: (until, key)
            for slot, (until, key) in self._entries.items()
            if key.prefix != prefix and (user_id is None or key.user_id != user_id)
        }


class Authenticator:
    def __init__(
        self,
        *,
        storage: Storage,
        clock: Clock,
        jwt: JwtVerifier | None = None,
        last_used: keys.LastUsedThrottle | None = None,
        verified: VerifiedKeys | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._jwt = jwt
        self._last_used = last_used or keys.LastUsedThrottle()
        # None: every request reads its key from the database.
        self._verified = verified or VerifiedKeys(0)

    async def authenticate(self, credential: str) -> Actor:
        if keys.looks_like_key(credential):
            return await self._api_key(credential)
        if self._jwt is not None:
            return await self._jwt.verify(credential)
        raise Unauthenticated("The credential is not an API key (ecrm_...).")

    def forget(self, *, prefix: str | None = None, user_id: str | None = None) -> None:
        """Stop accepting a remembered key now: it was revoked, or the contact
        it acts for deleted. The next request reads it from the database."""
        self._verified.forget(prefix=prefix, user_id=user_id)

    async def _api_key(self, credential: str) -> Actor:
        now = self._clock.now()
        key = self._verified.get(credential)
        if key is None:
            key = await self._check(credential, now)
        elif not key.usable_at(now):
            raise Unauthenticated("This API key has expired.")
        if self._last_used.due(key.prefix, now, key.last_used_at):
            await self._touch(key.prefix, now)
        return key.actor()

    async def _check(self, credential: str, now: datetime) -> ApiKey:
        """The stored key of a credential whose secret matches, if usable."""
        parts = keys.split(credential)
        if parts is None:
            raise Unauthenticated(_UNKNOWN_KEY)
        prefix, secret = parts
        generation = self._verified.generation
        async with self._storage.unit_of_work(write=False) as uow:
            key = await uow.api_keys.get(prefix)
        if key is None or not keys.secret_matches(secret, key.secret_digest):
            raise Unauthenticated(_UNKNOWN_KEY)
        if key.revoked_at is not None:
            raise Unauthenticated("This API key has been revoked.")
        if not key.usable_at(now):
            raise Unauthenticated("This API key has expired.")
        self._verified.put(credential, key, read_at_generation=generation)
        return key

    async def _touch(self, prefix: str, now: datetime) -> None:
        # Bookkeeping, not a condition of the request: a busy database skips it.
        try:
            async with self._storage.unit_of_work(write=True) as uow:
                await uow.api_keys.touch(prefix, at=now, unless_since=now - self._last_used.every)
                await uow.commit()
        except DomainError as exc:
            log.warning("api_key_last_used_not_recorded", prefix=prefix, error=exc.code)
            return
        self._last_used.written(prefix, now)

    async def close(self) -> None:
        if self._jwt is not None:
            await self._jwt.close()
