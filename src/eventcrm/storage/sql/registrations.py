"""The SQL registration repository."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.kit.cursor import KeyValue
from eventcrm.registrations.domain import (
    Participant,
    Registration,
    RegistrationStatus,
    Role,
    UserEvent,
)
from eventcrm.registrations.errors import AlreadyRegistered
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import keyset_rows, one_of, one_of_param
from eventcrm.storage.sql.tables import events, registrations, users
from eventcrm.users.errors import UserNotFound

_r = registrations
_hosting = registrations.alias("hosting")


def _managed_by(user_id: str) -> sa.ColumnElement[bool]:
    """The live events ``user_id`` owns or hosts (``events`` in the query)."""
    hosts = sa.exists().where(
        _hosting.c.event_id == events.c.id,
        _hosting.c.user_id == user_id,
        _hosting.c.role.in_((Role.OWNER.value, Role.HOST.value)),
    )
    return sa.and_(events.c.deleted_at.is_(None), sa.or_(events.c.owner_id == user_id, hosts))


_ahead = _r.alias("ahead")

#: 1-based waitlist place: how many of the same event's waitlist joined no later.
_POSITION = (
    sa.select(sa.func.count())
    .where(
        _ahead.c.event_id == _r.c.event_id,
        _ahead.c.waitlist_seq.is_not(None),
        _ahead.c.waitlist_seq <= _r.c.waitlist_seq,
    )
    .scalar_subquery()
)
_WITH_POSITION = sa.case((_r.c.waitlist_seq.is_(None), None), else_=_POSITION).label(
    "waitlist_position"
)


# The statements of every registration batch (registrations/batch.py), built
# once: SQLAlchemy memoizes a statement's cache key, so running one neither
# rebuilds it nor recomputes its key before the compiled form is found.

#: People with any registration they have for the event.
_WITH_REGISTRATION = users.outerjoin(
    _r, sa.and_(_r.c.user_id == users.c.id, _r.c.event_id == sa.bindparam("event_id"))
)
#: One person and any registration they have for the event (a registration
#: outside a batch: a host, or a request with an ``Idempotency-Key``).
_USER_AND_REGISTRATION = (
    sa.select(users.c.id.label("known_user"), _r, _WITH_POSITION)
    .select_from(_WITH_REGISTRATION)
    .where(users.c.id == sa.bindparam("user_id"))
)

#: The people named and any registration they have for the event. Nobody found
#: can be deleted before the transaction's INSERT (a foreign-key failure would
#: abort the whole batch on PostgreSQL): KEY SHARE, which does not block the
#: counters' UPDATE. SQLite ignores it.
_PEOPLE_AND_REGISTRATIONS = (
    sa.select(users.c.id.label("known_user"), _r)
    .select_from(_WITH_REGISTRATION)
    .where(one_of_param(users.c.id, "user_ids"))
    .with_for_update(read=True, key_share=True, of=users)
)

# ON CONFLICT DO NOTHING instead of a savepoint: a registration that got there
# first (the unique (event, user) key) leaves nothing inserted and the
# transaction usable. Each dialect has its own construct; the rows are given at
# execution (several at once: SQLAlchemy's "insertmanyvalues", one statement).
_ADD_NEW = {
    "postgresql": pg_insert(_r).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(_r).on_conflict_do_nothing(),
}
_ADD_NEW_RETURNING = {
    dialect: insert.returning(_r.c.user_id) for dialect, insert in _ADD_NEW.items()
}


def _to_registration(row: sa.Row[Any]) -> Registration:
    m = row._mapping
    return Registration(
        event_id=m["event_id"],
        user_id=m["user_id"],
        role=Role(m["role"]),
        status=RegistrationStatus(m["status"]),
        waitlist_seq=m["waitlist_seq"],
        registered_at=m["registered_at"],
        promoted_at=m["promoted_at"],
        checked_in_at=m["checked_in_at"],
        waitlist_position=m.get("waitlist_position"),
    )


def _to_row(registration: Registration) -> dict[str, Any]:
    return {
        "event_id": registration.event_id,
        "user_id": registration.user_id,
        "role": registration.role.value,
        "status": registration.status.value,
        "waitlist_seq": registration.waitlist_seq,
        "registered_at": registration.registered_at,
        "promoted_at": registration.promoted_at,
        "checked_in_at": registration.checked_in_at,
    }


def _filters(status: RegistrationStatus | None, role: Role | None) -> list[Any]:
    conditions = []
    if status is not None:
        conditions.append(_r.c.status == status.value)
    if role is not None:
        conditions.append(_r.c.role == role.value)
    return conditions


class SqlRegistrationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, registration: Registration) -> None:
        await self._conn.execute(_r.insert().values(_to_row(registration)))

    async def add_new(self, registration: Registration) -> None:
        # Nothing inserted (ON CONFLICT DO NOTHING): the answer says what it found.
        statement = _ADD_NEW[self._conn.dialect.name]
        try:
            result = await self._conn.execute(statement, _to_row(registration))
        except sa.exc.IntegrityError as error:  # the only foreign key left: the user's
            raise UserNotFound(registration.user_id) from error
        if result.rowcount == 0:
            existing = await self.get(registration.event_id, registration.user_id)
            assert existing is not None
            raise AlreadyRegistered(
                registration.event_id,
                registration.user_id,
                existing.status.value,
                existing.role.value,
            )

    async def user_and_registration(
        self, event_id: str, user_id: str
    ) -> tuple[bool, Registration | None]:
        params = {"event_id": event_id, "user_id": user_id}
        row = (await self._conn.execute(_USER_AND_REGISTRATION, params)).first()
        if row is None:
            return False, None
        return True, _to_registration(row) if row._mapping["event_id"] is not None else None

    async def people_and_registrations(
        self, event_id: str, user_ids: Sequence[str]
    ) -> dict[str, Registration | None]:
        params = {"event_id": event_id, "user_ids": list(user_ids)}
        found: dict[str, Registration | None] = {}
        for row in (await self._conn.execute(_PEOPLE_AND_REGISTRATIONS, params)).all():
            registered = row._mapping["event_id"] is not None
            found[row._mapping["known_user"]] = _to_registration(row) if registered else None
        return found

    async def add_new_many(self, registrations: Sequence[Registration]) -> set[str]:
        if not registrations:
            return set()
        statement = _ADD_NEW_RETURNING[self._conn.dialect.name]
        result = await self._conn.execute(statement, [_to_row(r) for r in registrations])
        return set(result.scalars())

    async def get(self, event_id: str, user_id: str) -> Registration | None:
        query = sa.select(_r, _WITH_POSITION).where(
            _r.c.event_id == event_id, _r.c.user_id == user_id
        )
        row = (await self._conn.execute(query)).first()
        return _to_registration(row) if row else None

    async def update(self, registration: Registration) -> None:
        await self._conn.execute(
            _r.update()
            .where(_r.c.event_id == registration.event_id, _r.c.user_id == registration.user_id)
            .values(_to_row(registration))
        )

    async def delete(self, event_id: str, user_id: str) -> None:
        await self._conn.execute(
            _r.delete().where(_r.c.event_id == event_id, _r.c.user_id == user_id)
        )

    async def first_waitlisted(self, event_id: str) -> Registration | None:
        query = (
            sa.select(_r)
            .where(_r.c.event_id == event_id, _r.c.waitlist_seq.is_not(None))
            .order_by(_r.c.waitlist_seq)
            .limit(1)
        )
        row = (await self._conn.execute(query)).first()
        return _to_registration(row) if row else None

    async def for_user(self, user_id: str) -> list[Registration]:
        query = sa.select(_r).where(_r.c.user_id == user_id).order_by(_r.c.event_id)
        return [_to_registration(row) for row in (await self._conn.execute(query)).all()]

    async def managed_by(self, user_id: str) -> set[str]:
        query = sa.select(events.c.id).where(_managed_by(user_id))
        return set((await self._conn.execute(query)).scalars())

    async def met_by(self, organizer_id: str, user_ids: Sequence[str]) -> set[str]:
        query = (
            sa.select(_r.c.user_id)
            .distinct()
            .join(events, events.c.id == _r.c.event_id)
            .where(one_of(_r.c.user_id, tuple(user_ids)), _managed_by(organizer_id))
        )
        return set((await self._conn.execute(query)).scalars())

    async def participants(
        self,
        event_id: str,
        *,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Participant]:
        contact = [
            users.c[name]
            for name in (
                "first_name",
                "last_name",
                "email",
                "phone_number",
                "job_title",
                "company",
                "city",
                "state",
            )
        ]
        query = (
            sa.select(_r, _WITH_POSITION, *contact)
            .select_from(_r.join(users, users.c.id == _r.c.user_id))
            .where(_r.c.event_id == event_id, *_filters(status, role))
        )
        keys = [(_r.c.registered_at, False), (_r.c.user_id, False)]
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        items = []
        for row in rows:
            m = row._mapping
            items.append(
                Participant(
                    registration=_to_registration(row),
                    **{c.name: m[c.name] or None for c in contact[3:]},
                    first_name=m["first_name"],
                    last_name=m["last_name"],
                    email=m["email"],
                )
            )
        return KeysetPage(items, next_key)

    async def user_events(
        self,
        user_id: str,
        *,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[UserEvent]:
        query = (
            sa.select(
                _r,
                _WITH_POSITION,
                events.c.title,
                events.c.slug,
                events.c.start_at,
                events.c.end_at,
                events.c.status.label("event_status"),
            )
            .select_from(_r.join(events, events.c.id == _r.c.event_id))
            .where(_r.c.user_id == user_id, events.c.deleted_at.is_(None), *_filters(status, role))
        )
        keys = [(events.c.start_at, False), (_r.c.event_id, False)]
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        items = [
            UserEvent(
                registration=_to_registration(row),
                title=row._mapping["title"],
                slug=row._mapping["slug"],
                start_at=row._mapping["start_at"],
                end_at=row._mapping["end_at"],
                event_status=row._mapping["event_status"],
            )
            for row in rows
        ]
        return KeysetPage(items, next_key)
