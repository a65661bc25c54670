"""The SQL event repository."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.events.domain import OPEN_FOR_REGISTRATION, CategoryRef, Event, EventStatus
from eventcrm.events.errors import EventIdTaken, EventSlugTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Condition, Node
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import Role
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import (
    FieldMap,
    compile_filter,
    keyset_rows,
    one_of,
    one_of_param,
    sort_columns,
)
from eventcrm.storage.sql.tables import categories, events, registrations
from eventcrm.storage.sql.writes import if_exists, write_or_raise

_OPTIONAL_TEXT = ("description", "timezone", "venue", "organizer")
_OWN_COLUMNS = [c for c in events.columns if c.name != "waitlist_seq"]


def _hosted_by(cond: Condition) -> sa.ColumnElement[bool]:
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    return sa.exists().where(
        registrations.c.event_id == events.c.id,
        registrations.c.role == Role.HOST.value,
        one_of(registrations.c.user_id, values),
    )


EVENT_FIELDS = FieldMap(
    columns={c.name: c for c in events.columns},
    folded=frozenset({"title", "description"}),
    empty_is_null=frozenset(_OPTIONAL_TEXT),
    predicates={"host_id": _hosted_by},
)

_SELECT = sa.select(*_OWN_COLUMNS, categories.c.name.label("category_name")).select_from(
    events.outerjoin(categories, categories.c.id == events.c.category_id)
)

# One event and its hosts in one statement (a row per host, or one with no
# host), built once: SQLAlchemy memoizes a statement's cache key, so a read
# neither rebuilds the query nor recomputes its key before the compiled form
# is found in the engine's cache.
_host = registrations.alias("host")
_WITH_HOSTS = (
    sa.select(*_OWN_COLUMNS, categories.c.name.label("category_name"), _host.c.user_id)
    .select_from(
        events.outerjoin(categories, categories.c.id == events.c.category_id).outerjoin(
            _host, sa.and_(_host.c.event_id == events.c.id, _host.c.role == Role.HOST.value)
        )
    )
    .order_by(_host.c.registered_at, _host.c.user_id)
)
_GET_LIVE = _WITH_HOSTS.where(
    events.c.id == sa.bindparam("event_id"), events.c.deleted_at.is_(None)
)
_GET_ANY = _WITH_HOSTS.where(events.c.id == sa.bindparam("event_id"))
_GET_BY_SLUG = _WITH_HOSTS.where(
    events.c.slug == sa.bindparam("slug"), events.c.deleted_at.is_(None)
)

# One event without its hosts, as read or locked (FOR UPDATE OF events:
# PostgreSQL's row lock; SQLite ignores it, and its write transactions already
# hold the database's single write lock; every registration batch starts with
# the lock); and the hosts of events (``_hosts``), when they are wanted.
_BY_ID_LIVE = _SELECT.where(events.c.id == sa.bindparam("event_id"), events.c.deleted_at.is_(None))
_BY_ID_ANY = _SELECT.where(events.c.id == sa.bindparam("event_id"))
_LOCK_LIVE = _BY_ID_LIVE.with_for_update(of=events)
_LOCK_ANY = _BY_ID_ANY.with_for_update(of=events)
_HOSTS = (
    sa.select(registrations.c.event_id, registrations.c.user_id)
    .where(
        one_of_param(registrations.c.event_id, "event_ids"),
        registrations.c.role == Role.HOST.value,
    )
    .order_by(registrations.c.registered_at, registrations.c.user_id)
)

#: One seat, if the event is open and has one free (a registration outside a batch).
_TAKE_OPEN_SEAT = (
    events.update()
    .where(
        events.c.id == sa.bindparam("event_id"),
        events.c.deleted_at.is_(None),
        events.c.status.in_([s.value for s in OPEN_FOR_REGISTRATION]),
        sa.or_(events.c.capacity.is_(None), events.c.registered_count < events.c.capacity),
    )
    .values(registered_count=events.c.registered_count + 1)
)

# A batch's seats and waitlist places, in one conditional UPDATE: the seats only
# if that many are free (the CHECK constraint is the last line).
_seats = sa.bindparam("seats", type_=sa.Integer())
_waitlisted = sa.bindparam("waitlisted", type_=sa.Integer())
_TAKE_SEATS_AND_WAITLIST = (
    events.update()
    .where(
        events.c.id == sa.bindparam("event_id"),
        sa.or_(
            events.c.capacity.is_(None), events.c.registered_count + _seats <= events.c.capacity
        ),
    )
    .values(
        registered_count=events.c.registered_count + _seats,
        waitlist_count=events.c.waitlist_count + _waitlisted,
        waitlist_seq=events.c.waitlist_seq + _waitlisted,
    )
    .returning(events.c.waitlist_seq)
)


def _to_row(event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        c.name: getattr(event, c.name) for c in _OWN_COLUMNS if hasattr(event, c.name)
    }
    for name in _OPTIONAL_TEXT:
        row[name] = row[name] or ""
    row["status"] = event.status.value
    return row


def _to_event(row: sa.Row[Any], host_ids: tuple[str, ...]) -> Event:
    m = row._mapping
    data = {c.name: m[c.name] for c in _OWN_COLUMNS}
    for name in _OPTIONAL_TEXT:
        data[name] = data[name] or None
    data["status"] = EventStatus(data["status"])
    category = CategoryRef(m["category_id"], m["category_name"]) if m["category_id"] else None
    return Event(**data, host_ids=host_ids, category=category)


class SqlEventRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _hosts(self, event_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        if not event_ids:
            return {}
        hosts: dict[str, list[str]] = {}
        rows = await self._conn.execute(_HOSTS, {"event_ids": list(event_ids)})
        for event_id, user_id in rows.all():
            hosts.setdefault(event_id, []).append(user_id)
        return {k: tuple(v) for k, v in hosts.items()}

    async def _one(self, query: sa.Select[Any], event_id: str, *, with_hosts: bool) -> Event | None:
        row = (await self._conn.execute(query, {"event_id": event_id})).first()
        if row is None:
            return None
        if not with_hosts:
            return _to_event(row, ())
        hosts = await self._hosts([event_id])
        return _to_event(row, hosts.get(event_id, ()))

    async def _one_with_hosts(self, query: sa.Select[Any], **params: str) -> Event | None:
        rows = (await self._conn.execute(query, params)).all()
        if not rows:
            return None
        hosts = tuple(r._mapping["user_id"] for r in rows if r._mapping["user_id"] is not None)
        return _to_event(rows[0], hosts)

    async def add(self, event: Event) -> None:
        await write_or_raise(
            self._conn,
            events.insert().values(_to_row(event)),
            on_conflict=if_exists(
                events.c.id == event.id, EventIdTaken(event.id), else_=EventSlugTaken(event.slug)
            ),
        )

    async def get(
        self, event_id: str, *, include_deleted: bool = False, with_hosts: bool = True
    ) -> Event | None:
        if with_hosts:
            return await self._one_with_hosts(
                _GET_ANY if include_deleted else _GET_LIVE, event_id=event_id
            )
        query = _BY_ID_ANY if include_deleted else _BY_ID_LIVE
        return await self._one(query, event_id, with_hosts=False)

    async def get_by_slug(self, slug: str) -> Event | None:
        return await self._one_with_hosts(_GET_BY_SLUG, slug=slug)

    async def lock(
        self, event_id: str, *, include_deleted: bool = False, with_hosts: bool = True
    ) -> Event | None:
        query = _LOCK_ANY if include_deleted else _LOCK_LIVE
        return await self._one(query, event_id, with_hosts=with_hosts)

    async def replace(self, event: Event) -> None:
        row = _to_row(event)
        for name in (
            "id",
            "created_at",
            "created_by",
            "registered_count",
            "waitlist_count",
            "deleted_at",
        ):
            del row[name]
        await write_or_raise(
            self._conn,
            events.update().where(events.c.id == event.id).values(row),
            on_conflict=EventSlugTaken(event.slug),
        )

    async def slug_taken(self, slug: str, *, except_id: str | None = None) -> bool:
        query = sa.select(events.c.id).where(events.c.slug == slug, events.c.deleted_at.is_(None))
        if except_id is not None:
            query = query.where(events.c.id != except_id)
        return (await self._conn.execute(query.limit(1))).first() is not None

    async def set_deleted(self, event_id: str, deleted_at: datetime | None) -> None:
        async def slug_taken(conn: AsyncConnection) -> Exception:
            slug = await conn.scalar(sa.select(events.c.slug).where(events.c.id == event_id))
            return EventSlugTaken(str(slug))

        await write_or_raise(
            self._conn,
            events.update().where(events.c.id == event_id).values(deleted_at=deleted_at),
            on_conflict=slug_taken,
        )

    async def take_seat(self, event_id: str) -> bool:
        result = await self._conn.execute(
            events.update()
            .where(
                events.c.id == event_id,
                sa.or_(events.c.capacity.is_(None), events.c.registered_count < events.c.capacity),
            )
            .values(registered_count=events.c.registered_count + 1)
        )
        return result.rowcount == 1

    async def take_open_seat(self, event_id: str) -> bool:
        result = await self._conn.execute(_TAKE_OPEN_SEAT, {"event_id": event_id})
        return result.rowcount == 1

    async def take_seats_and_waitlist(
        self, event_id: str, *, seats: int, waitlisted: int
    ) -> int | None:
        result = await self._conn.execute(
            _TAKE_SEATS_AND_WAITLIST,
            {"event_id": event_id, "seats": seats, "waitlisted": waitlisted},
        )
        last_seq = result.scalar_one_or_none()
        return None if last_seq is None else int(last_seq)

    async def release_seat(self, event_id: str) -> None:
        await self._conn.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(registered_count=events.c.registered_count - 1)
        )

    async def join_waitlist(self, event_id: str) -> tuple[int, int]:
        result = await self._conn.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(
                waitlist_count=events.c.waitlist_count + 1,
                waitlist_seq=events.c.waitlist_seq + 1,
            )
            .returning(events.c.waitlist_seq, events.c.waitlist_count)
        )
        seq, place = result.one()
        return int(seq), int(place)

    async def leave_waitlist(self, event_id: str) -> None:
        await self._conn.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(waitlist_count=events.c.waitlist_count - 1)
        )

    async def list(
        self,
        *,
        where: Node | None,
        sort: Sequence[SortKey],
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Event]:
        keys = sort_columns(sort, EVENT_FIELDS)
        query = _SELECT.where(compile_filter(where, EVENT_FIELDS))
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        hosts = await self._hosts([r._mapping["id"] for r in rows])
        items = [_to_event(r, hosts.get(r._mapping["id"], ())) for r in rows]
        return KeysetPage(items, next_key)

    async def count(self, *, where: Node | None) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(events)
            .where(compile_filter(where, EVENT_FIELDS))
        )
        return int((await self._conn.execute(query)).scalar_one())
