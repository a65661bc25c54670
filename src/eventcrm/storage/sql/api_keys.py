"""The SQL store of API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.access.domain import ApiKey, Role
from eventcrm.access.errors import ApiKeyPrefixTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import keyset_rows
from eventcrm.storage.sql.tables import api_keys
from eventcrm.storage.sql.types import UTCDateTime
from eventcrm.storage.sql.writes import write_or_raise

_ORDER = ((api_keys.c.created_at, False), (api_keys.c.prefix, False))
#: Every authenticated request runs it: built once (its cache key is memoized).
_BY_PREFIX = api_keys.select().where(api_keys.c.prefix == sa.bindparam("prefix"))


def _to_key(row: sa.Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        prefix=m["prefix"],
        name=m["name"],
        role=Role(m["role"]),
        secret_digest=m["secret_digest"],
        user_id=m["user_id"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
        last_used_at=m["last_used_at"],
    )


class SqlApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        await write_or_raise(
            self._conn,
            api_keys.insert().values(
                prefix=key.prefix,
                name=key.name,
                role=key.role.value,
                secret_digest=key.secret_digest,
                user_id=key.user_id,
                created_at=key.created_at,
                expires_at=key.expires_at,
                revoked_at=key.revoked_at,
                last_used_at=key.last_used_at,
            ),
            on_conflict=ApiKeyPrefixTaken(key.prefix),
        )

    async def get(self, prefix: str) -> ApiKey | None:
        row = (await self._conn.execute(_BY_PREFIX, {"prefix": prefix})).first()
        return _to_key(row) if row else None

    async def list(
        self, *, limit: int, after: tuple[KeyValue, ...] | None = None
    ) -> KeysetPage[ApiKey]:
        rows, next_key = await keyset_rows(
            self._conn, sa.select(api_keys), _ORDER, limit=limit, after=after
        )
        return KeysetPage([_to_key(r) for r in rows], next_key)

    async def revoke(self, prefix: str, *, at: datetime) -> bool:
        result = await self._conn.execute(
            api_keys.update()
            .where(api_keys.c.prefix == prefix)
            .values(revoked_at=sa.func.coalesce(api_keys.c.revoked_at, sa.literal(at, UTCDateTime)))
        )
        return result.rowcount > 0

    async def touch(self, prefix: str, *, at: datetime, unless_since: datetime) -> bool:
        result = await self._conn.execute(
            api_keys.update()
            .where(
                api_keys.c.prefix == prefix,
                sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < unless_since),
            )
            .values(last_used_at=at)
        )
        return result.rowcount > 0

    async def any(self) -> bool:
        return await self._conn.scalar(sa.select(api_keys.c.prefix).limit(1)) is not None
