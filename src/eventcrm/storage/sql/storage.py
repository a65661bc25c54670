"""The SQL implementation of the Storage port."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from eventcrm.storage.sql.uow import SqlUnitOfWork


class SqlStorage:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def unit_of_work(self, *, write: bool) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
