"""The SQL category repository."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.categories.domain import Category
from eventcrm.categories.errors import CategoryIdTaken, CategoryInUse, CategoryNameTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import keyset_rows
from eventcrm.storage.sql.tables import categories, events


def _to_category(row: sa.Row[Any]) -> Category:
    m = row._mapping
    return Category(
        id=m["id"],
        name=m["name"],
        description=m["description"] or None,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _to_row(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "name": category.name,
        "description": category.description or "",
        "created_at": category.created_at,
        "updated_at": category.updated_at,
    }


class SqlCategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, category: Category) -> None:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(categories.insert().values(_to_row(category)))
        except IntegrityError:
            if await self.get(category.id) is not None:
                raise CategoryIdTaken(category.id) from None
            raise CategoryNameTaken(category.name) from None

    async def get(self, category_id: str) -> Category | None:
        query = categories.select().where(categories.c.id == category_id)
        row = (await self._conn.execute(query)).first()
        return _to_category(row) if row else None

    async def replace(self, category: Category) -> None:
        row = _to_row(category)
        del row["id"], row["created_at"]
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    categories.update().where(categories.c.id == category.id).values(row)
                )
        except IntegrityError:
            raise CategoryNameTaken(category.name) from None

    async def delete(self, category_id: str) -> bool:
        used = await self._conn.scalar(
            sa.select(sa.func.count()).where(events.c.category_id == category_id)
        )
        if used:
            raise CategoryInUse(category_id, int(used))
        result = await self._conn.execute(categories.delete().where(categories.c.id == category_id))
        return result.rowcount > 0

    async def list(
        self, *, limit: int, after: tuple[KeyValue, ...] | None = None
    ) -> KeysetPage[Category]:
        keys = [(sa.func.lower(categories.c.name), False), (categories.c.id, False)]
        query = sa.select(categories)
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        return KeysetPage([_to_category(r) for r in rows], next_key)
