"""One table of named things (categories, email templates, segments).

Each row has a unique id and a unique name; the repository inserts, reads,
replaces and deletes by id and pages by name, then id. A subclass names its
table, its domain type and its two conflict errors, and adds what is its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.kit.cursor import KeyValue
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import keyset_rows
from eventcrm.storage.sql.writes import if_exists, write_or_raise


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


class SqlNamedRepository(Generic[N]):
    table: sa.Table
    #: The domain dataclass; its fields are the table's columns.
    model: Callable[..., N]
    id_taken: Callable[[str], Exception]
    name_taken: Callable[[str], Exception]
    #: Text columns stored as '' when absent (None in the domain value).
    optional_text: tuple[str, ...] = ()
    #: Sort by ``lower(name)``: names are unique case-insensitively.
    folded_name: bool = False

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _to_row(self, item: N) -> dict[str, Any]:
        row = {c.name: getattr(item, c.name) for c in self.table.columns}
        for name in self.optional_text:
            row[name] = row[name] or ""
        return row

    def _to_item(self, row: sa.Row[Any]) -> N:
        data = {c.name: getattr(row, c.name) for c in self.table.columns}
        for name in self.optional_text:
            data[name] = data[name] or None
        return self.model(**data)

    async def _one(self, where: sa.ColumnElement[bool]) -> N | None:
        row = (await self._conn.execute(self.table.select().where(where))).first()
        return self._to_item(row) if row else None

    async def add(self, item: N) -> None:
        await write_or_raise(
            self._conn,
            self.table.insert().values(self._to_row(item)),
            on_conflict=if_exists(
                self.table.c.id == item.id, self.id_taken(item.id), else_=self.name_taken(item.name)
            ),
        )

    async def get(self, item_id: str) -> N | None:
        return await self._one(self.table.c.id == item_id)

    async def replace(self, item: N) -> None:
        row = self._to_row(item)
        del row["id"], row["created_at"], row["created_by"]
        await write_or_raise(
            self._conn,
            self.table.update().where(self.table.c.id == item.id).values(row),
            on_conflict=self.name_taken(item.name),
        )

    async def delete(self, item_id: str) -> bool:
        result = await self._conn.execute(self.table.delete().where(self.table.c.id == item_id))
        return result.rowcount > 0

    async def list(self, *, limit: int, after: tuple[KeyValue, ...] | None = None) -> KeysetPage[N]:
        name = self.table.c.name
        keys = [
            (sa.func.lower(name) if self.folded_name else name, False),
            (self.table.c.id, False),
        ]
        rows, next_key = await keyset_rows(
            self._conn, sa.select(self.table), keys, limit=limit, after=after
        )
        return KeysetPage([self._to_item(r) for r in rows], next_key)
