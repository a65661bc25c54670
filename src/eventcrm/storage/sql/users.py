"""The SQL user repository."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.events.domain import EventStatus
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Condition, Node
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import RegistrationStatus
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import (
    FieldMap,
    compile_filter,
    keyset_rows,
    one_of,
    one_of_param,
    sort_columns,
)
from eventcrm.storage.sql.tables import events, registrations, users
from eventcrm.storage.sql.writes import if_exists, write_or_raise
from eventcrm.users.domain import User
from eventcrm.users.errors import UserEmailTaken, UserIdTaken

_OPTIONAL_TEXT = (
    "email",
    "phone_number",
    "avatar",
    "gender",
    "job_title",
    "company",
    "city",
    "state",
)


def _has_registration(
    *, status: RegistrationStatus | None = None, checked_in: bool | None = None
) -> Callable[[Condition], sa.ColumnElement[bool]]:
    """A predicate: the user has a matching registration for one of the given events."""
    r = registrations
    extra: list[sa.ColumnElement[bool]] = []
    if status is not None:
        extra.append(r.c.status == status.value)
    if checked_in is not None:
        extra.append(r.c.status == RegistrationStatus.REGISTERED.value)
        extra.append(r.c.checked_in_at.is_not(None) if checked_in else r.c.checked_in_at.is_(None))

    def predicate(cond: Condition) -> sa.ColumnElement[bool]:
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        return sa.exists().where(r.c.user_id == users.c.id, one_of(r.c.event_id, values), *extra)

    return predicate


def _has_role(cond: Condition) -> sa.ColumnElement[bool]:
    """A predicate: the user holds one of the roles in some live, not cancelled event."""
    roles = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    return sa.exists().where(
        registrations.c.user_id == users.c.id,
        one_of(registrations.c.role, roles),
        registrations.c.status == RegistrationStatus.REGISTERED.value,
        events.c.id == registrations.c.event_id,
        events.c.deleted_at.is_(None),
        # As eventsHosted / eventsAttended: a cancelled event was neither hosted nor attended.
        events.c.status != EventStatus.CANCELLED.value,
    )


USER_FIELDS = FieldMap(
    columns={c.name: c for c in users.columns if c.name != "avatar"},
    # Every free-text field: the filter language compares text case-insensitively
    # (and SQLite's LIKE ignores ASCII case while PostgreSQL's does not, so an
    # unfolded text field would differ by backend). The id is a reference,
    # compared exactly with eq/in only, so its primary-key index serves it.
    folded=frozenset(
        {"first_name", "last_name", "email", "phone_number", "gender"}
        | {"job_title", "company", "city", "state"}
    ),
    empty_is_null=frozenset(_OPTIONAL_TEXT),
    predicates={
        "role": _has_role,
        "registered_for": _has_registration(status=RegistrationStatus.REGISTERED),
        "waitlisted_for": _has_registration(status=RegistrationStatus.WAITLISTED),
        "checked_in_for": _has_registration(checked_in=True),
        "not_checked_in_for": _has_registration(checked_in=False),
    },
)


#: Built once (a registration batch runs it): the counters of the people named.
_ADJUST_COUNTERS = (
    users.update()
    .where(one_of_param(users.c.id, "user_ids"))
    .values(
        events_hosted=users.c.events_hosted + sa.bindparam("hosted", type_=sa.Integer()),
        events_attended=users.c.events_attended + sa.bindparam("attended", type_=sa.Integer()),
    )
)


def _to_row(user: User) -> dict[str, Any]:
    row = {c.name: getattr(user, c.name) for c in users.columns}
    for name in _OPTIONAL_TEXT:
        row[name] = row[name] or ""
    return row


def row_to_user(row: sa.Row[Any]) -> User:
    data = dict(row._mapping)
    for name in _OPTIONAL_TEXT:
        data[name] = data[name] or None
    return User(**{c.name: data[c.name] for c in users.columns})


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        await write_or_raise(
            self._conn,
            users.insert().values(_to_row(user)),
            on_conflict=if_exists(
                users.c.id == user.id, UserIdTaken(user.id), else_=UserEmailTaken(user.email or "")
            ),
        )

    async def get(self, user_id: str) -> User | None:
        row = (await self._conn.execute(users.select().where(users.c.id == user_id))).first()
        return row_to_user(row) if row else None

    async def replace(self, user: User) -> None:
        row = _to_row(user)
        del row["id"], row["created_at"], row["created_by"]
        del row["events_hosted"], row["events_attended"]
        await write_or_raise(
            self._conn,
            users.update().where(users.c.id == user.id).values(row),
            on_conflict=UserEmailTaken(user.email or ""),
        )

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
        query = sa.select(users).where(compile_filter(where, USER_FIELDS))
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        return KeysetPage([row_to_user(r) for r in rows], next_key)

    async def count(self, *, where: Node | None) -> int:
        query = (
            sa.select(sa.func.count()).select_from(users).where(compile_filter(where, USER_FIELDS))
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def get_by_email(self, email: str) -> User | None:
        # lower() on both sides, as the unique index uq_users_email_lower is built.
        query = users.select().where(
            users.c.email != "", sa.func.lower(users.c.email) == sa.func.lower(email)
        )
        row = (await self._conn.execute(query)).first()
        return row_to_user(row) if row else None

    async def existing_ids(self, user_ids: Sequence[str]) -> set[str]:
        if not user_ids:
            return set()
        query = sa.select(users.c.id).where(one_of(users.c.id, user_ids))
        return set((await self._conn.execute(query)).scalars())

    async def adjust_counters(
        self, user_ids: Sequence[str], *, hosted: int = 0, attended: int = 0
    ) -> None:
        if not user_ids or (hosted == 0 and attended == 0):
            return
        await self._conn.execute(
            _ADJUST_COUNTERS, {"user_ids": list(user_ids), "hosted": hosted, "attended": attended}
        )

    async def adjust_counters_for_event(self, event_id: str, *, sign: int) -> None:
        r = registrations
        of_event = sa.select(r.c.user_id).where(
            r.c.event_id == event_id, r.c.status == RegistrationStatus.REGISTERED.value
        )
        hosting = of_event.where(r.c.role.in_(["owner", "host"]))
        attending = of_event.where(r.c.role == "attendee")
        await self._conn.execute(
            users.update()
            .where(users.c.id.in_(hosting))
            .values(events_hosted=users.c.events_hosted + sign)
        )
        await self._conn.execute(
            users.update()
            .where(users.c.id.in_(attending))
            .values(events_attended=users.c.events_attended + sign)
        )
