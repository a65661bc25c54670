"""Use cases of API keys: create (the key is returned once), list, get, revoke.

Only administrators manage keys. The first administrator key of a new
installation is created without a caller (``create_first_admin_key``), by the
command line, which is trusted as the machine's operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from eventcrm.access import keys
from eventcrm.access.domain import Actor, ApiKey, Role
from eventcrm.access.errors import ApiKeyNotFound, ApiKeyPrefixTaken
from eventcrm.access.schemas import ApiKeyCreate, ApiKeyListParams
from eventcrm.errors import FieldProblem, Forbidden, InvalidInput
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.pagination import ListResult, page_in_order
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.ports import UnitOfWork

_SORT = (SortKey("created_at"),)
#: A fresh prefix collides once in ~10^14 draws; a few retries settle it.
_PREFIX_ATTEMPTS = 3
FIRST_KEY_NAME = "first admin key"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    #: The whole key: returned this once, never stored.
    plaintext: str


class ApiKeyService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        cursors: CursorCodec,
        on_revoked: Callable[[str], None] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cursors = cursors
        #: Told the prefix of a key once its revocation is committed (this
        #: process's authenticator forgets it).
        self._on_revoked = on_revoked

    async def create(self, *, actor: Actor, data: ApiKeyCreate) -> CreatedKey:
        _require_admin(actor)
        await self._check(data)
        return await self._insert(data)

    async def list(self, *, actor: Actor, params: ApiKeyListParams) -> ListResult[ApiKey]:
        _require_admin(actor)
        repo = self._uow.api_keys
        return await page_in_order(
            lambda limit, after: repo.list(limit=limit, after=after),
            cursors=self._cursors,
            listing="api-keys",
            sort=_SORT,
            limit=params.limit,
            cursor=params.cursor,
        )

    async def get(self, *, actor: Actor, prefix: str) -> ApiKey:
        _require_admin(actor)
        key = await self._uow.api_keys.get(prefix)
        if key is None:
            raise ApiKeyNotFound(prefix)
        return key

    async def revoke(self, *, actor: Actor, prefix: str) -> None:
        """Revoke at once (revoking a revoked key changes nothing)."""
        _require_admin(actor)
        if not await self._uow.api_keys.revoke(prefix, at=self._clock.now()):
            raise ApiKeyNotFound(prefix)
        if self._on_revoked is not None:
            on_revoked = self._on_revoked

            async def revoked() -> None:
                on_revoked(prefix)

            self._uow.after_commit(revoked)

    async def create_first_admin_key(self) -> CreatedKey | None:
        """An administrator key, if no key exists at all (a new installation)."""
        if await self._uow.api_keys.any():
            return None
        return await self._insert(ApiKeyCreate(name=FIRST_KEY_NAME, role=Role.ADMIN))

    async def _check(self, data: ApiKeyCreate) -> None:
        if data.role is Role.ORGANIZER:
            if data.user_id is None:
                _refuse("userId", "an organizer key needs the contact it acts for (userId)")
            elif await self._uow.users.get(data.user_id) is None:
                _refuse("userId", f"no contact with id {data.user_id!r}")
        elif data.user_id is not None:
            _refuse("userId", "only organizer keys act for a contact")
        if data.expires_at is not None and data.expires_at <= self._clock.now():
            _refuse("expiresAt", "expiresAt must be in the future")

    async def _insert(self, data: ApiKeyCreate) -> CreatedKey:
        for attempt in range(_PREFIX_ATTEMPTS):
            new = keys.new_key()
            key = ApiKey(
                prefix=new.prefix,
                name=data.name,
                role=data.role,
                secret_digest=new.secret_digest,
                user_id=data.user_id,
                created_at=self._clock.now(),
                expires_at=data.expires_at,
            )
            try:
                await self._uow.api_keys.add(key)
            except ApiKeyPrefixTaken:
                if attempt + 1 == _PREFIX_ATTEMPTS:
                    raise
                continue
            return CreatedKey(key=key, plaintext=new.plaintext)
        raise AssertionError("unreachable")


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators manage API keys.")


def _refuse(field: str, message: str) -> NoReturn:
    raise InvalidInput(message, [FieldProblem(("body", field), message)])
