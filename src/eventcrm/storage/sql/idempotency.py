"""The SQL store of idempotent responses."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.storage.ports import StoredResponse
from eventcrm.storage.sql.tables import idempotency_keys as keys


class SqlIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, *, scope: str, key: str) -> StoredResponse | None:
        query = sa.select(keys).where(keys.c.scope == scope, keys.c.key == key)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return StoredResponse(m["request_hash"], m["status_code"], m["body"], m["created_at"])

    async def put(self, *, scope: str, key: str, response: StoredResponse) -> None:
        await self._conn.execute(
            keys.insert().values(
                scope=scope,
                key=key,
                request_hash=response.request_hash,
                status_code=response.status_code,
                body=response.body,
                created_at=response.created_at,
            )
        )
