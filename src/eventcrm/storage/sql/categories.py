"""The SQL category repository."""

from __future__ import annotations

import sqlalchemy as sa

from eventcrm.categories.domain import Category
from eventcrm.categories.errors import CategoryIdTaken, CategoryInUse, CategoryNameTaken
from eventcrm.storage.sql.named import SqlNamedRepository
from eventcrm.storage.sql.tables import categories, events


class SqlCategoryRepository(SqlNamedRepository[Category]):
    table = categories
    model = Category
    id_taken = CategoryIdTaken
    name_taken = CategoryNameTaken
    optional_text = ("description",)
    folded_name = True

    async def delete(self, category_id: str) -> bool:
        used = await self._conn.scalar(
            sa.select(sa.func.count()).where(events.c.category_id == category_id)
        )
        if used:
            raise CategoryInUse(category_id, int(used))
        return await super().delete(category_id)
