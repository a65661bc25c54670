"""The SQL user repository."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import FieldMap, after_key, compile_filter, order_by, sort_columns
from eventcrm.storage.sql.tables import USER_TEXT_COLUMNS, users
from eventcrm.users.domain import User
from eventcrm.users.errors import UserEmailTaken, UserIdTaken

_OPTIONAL_TEXT = ("phone_number", "avatar", "gender", "job_title", "company", "city", "state")

USER_FIELDS = FieldMap(
    columns={c.name: c for c in users.columns if c.name != "avatar"},
    # Every text field, id included: the filter language compares text
    # case-insensitively, and SQLite's LIKE ignores ASCII case while
    # PostgreSQL's does not, so an unfolded field would differ by backend.
    folded=frozenset(USER_TEXT_COLUMNS),
    empty_is_null=frozenset(_OPTIONAL_TEXT),
)


def _to_row(user: User) -> dict[str, Any]:
    row = {c.name: getattr(user, c.name) for c in users.columns}
    for name in _OPTIONAL_TEXT:
        row[name] = row[name] or ""
    return row


def _to_user(row: sa.Row[Any]) -> User:
    data = dict(row._mapping)
    for name in _OPTIONAL_TEXT:
        data[name] = data[name] or None
    return User(**{c.name: data[c.name] for c in users.columns})


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(users.insert().values(_to_row(user)))
        except IntegrityError:
            if await self.get(user.id) is not None:
                raise UserIdTaken(user.id) from None
            raise UserEmailTaken(user.email) from None

    async def get(self, user_id: str) -> User | None:
        row = (await self._conn.execute(users.select().where(users.c.id == user_id))).first()
        return _to_user(row) if row else None

    async def replace(self, user: User) -> None:
        row = _to_row(user)
        del row["id"], row["created_at"], row["events_hosted"], row["events_attended"]
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(users.update().where(users.c.id == user.id).values(row))
        except IntegrityError:
            raise UserEmailTaken(user.email) from None

    async def delete(self, user_id: str) -> bool:
        result = await self._conn.execute(users.delete().where(users.c.id == user_id))
        return result.rowcount > 0

    async def list(
        self,
        *,
        where: Node | None,
        sort: Sequence[SortKey],
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[User]:
        keys = sort_columns(sort, USER_FIELDS)
        query = (
            sa.select(users, *(expr.label(f"_k{i}") for i, (expr, _) in enumerate(keys)))
            .where(compile_filter(where, USER_FIELDS))
            .order_by(*order_by(keys))
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(after_key(keys, after))
        rows = (await self._conn.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_key = tuple(rows[-1]._mapping[f"_k{i}"] for i in range(len(keys))) if more else None
        return KeysetPage([_to_user(r) for r in rows], next_key)

    async def count(self, *, where: Node | None) -> int:
        query = (
            sa.select(sa.func.count()).select_from(users).where(compile_filter(where, USER_FIELDS))
        )
        return int((await self._conn.execute(query)).scalar_one())
