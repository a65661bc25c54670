"""The SQL store of idempotent responses."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.storage.ports import StoredResponse
from eventcrm.storage.sql.tables import idempotency_keys as keys


class SqlIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock(self, *, scope: str, key: str) -> bool:
        if self._conn.dialect.name != "postgresql":
            # SQLite: a write transaction (BEGIN IMMEDIATE) holds the database's
            # only write lock, so another process's request with this key waits
            # for this one to commit and then finds its response.
            return True
        # A transaction-scoped advisory lock, released by commit or rollback; a
        # 64-bit digest collision of two keys only makes one wait its turn.
        digest = hashlib.sha256(f"{scope}\n{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        taken = await self._conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(lock_id)))
        return bool(taken)

    async def get(self, *, scope: str, key: str, now: datetime) -> StoredResponse | None:
        query = sa.select(keys).where(
            keys.c.scope == scope, keys.c.key == key, keys.c.expires_at > now
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return StoredResponse(
            request_hash=m["request_hash"],
            status_code=m["status_code"],
            headers=tuple((str(name), str(value)) for name, value in m["headers"]),
            body=bytes(m["body"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
        )

    async def put(self, *, scope: str, key: str, response: StoredResponse) -> None:
        # An expired row the worker has not purged yet gives way to the new one.
        await self._conn.execute(
            keys.delete().where(
                keys.c.scope == scope,
                keys.c.key == key,
                keys.c.expires_at <= response.created_at,
            )
        )
        await self._conn.execute(
            keys.insert().values(
                scope=scope,
                key=key,
                request_hash=response.request_hash,
                status_code=response.status_code,
                headers=[list(pair) for pair in response.headers],
                body=response.body,
                created_at=response.created_at,
                expires_at=response.expires_at,
            )
        )

    async def purge_expired(self, *, now: datetime, limit: int) -> int:
        batch = (
            sa.select(keys.c.scope, keys.c.key)
            .where(keys.c.expires_at <= now)
            .order_by(keys.c.expires_at)
            .limit(limit)
        )
        result = await self._conn.execute(
            keys.delete().where(sa.tuple_(keys.c.scope, keys.c.key).in_(batch))
        )
        return result.rowcount
