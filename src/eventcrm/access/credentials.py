"""Turning a bearer credential into an Actor: an API key, or a JWT when configured.

A credential that looks like an API key (``ecrm_...``) is checked as one and
nothing else; any other is a JWT, if an identity provider is configured.
Every refusal is ``Unauthenticated``: missing, malformed, unknown, revoked or
expired alike answer 401.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from eventcrm.access import keys
from eventcrm.access.domain import Actor
from eventcrm.access.jwt_verifier import JwtVerifier
from eventcrm.errors import DomainError, Unauthenticated
from eventcrm.kit.clock import Clock
from eventcrm.storage.ports import Storage

log = structlog.get_logger(__name__)

_UNKNOWN_KEY = "Unknown API key."


class Authenticator:
    def __init__(
        self,
        *,
        storage: Storage,
        clock: Clock,
        jwt: JwtVerifier | None = None,
        last_used: keys.LastUsedThrottle | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._jwt = jwt
        self._last_used = last_used or keys.LastUsedThrottle()

    async def authenticate(self, credential: str) -> Actor:
        if keys.looks_like_key(credential):
            return await self._api_key(credential)
        if self._jwt is not None:
            return await self._jwt.verify(credential)
        raise Unauthenticated("The credential is not an API key (ecrm_...).")

    async def _api_key(self, credential: str) -> Actor:
        parts = keys.split(credential)
        if parts is None:
            raise Unauthenticated(_UNKNOWN_KEY)
        prefix, secret = parts
        async with self._storage.unit_of_work(write=False) as uow:
            key = await uow.api_keys.get(prefix)
        if key is None or not keys.secret_matches(secret, key.secret_digest):
            raise Unauthenticated(_UNKNOWN_KEY)
        now = self._clock.now()
        if key.revoked_at is not None:
            raise Unauthenticated("This API key has been revoked.")
        if not key.usable_at(now):
            raise Unauthenticated("This API key has expired.")
        if self._last_used.due(prefix, now, key.last_used_at):
            await self._touch(prefix, now)
        return key.actor()

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
