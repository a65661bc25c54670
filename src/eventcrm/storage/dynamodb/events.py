"""Events: one item each (its counters and, denormalised, its hosts), a slug guard
item while it is live; the lock is a lease on the event item (session.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from eventcrm.events.domain import CategoryRef, Event, EventStatus
from eventcrm.events.errors import EventIdTaken, EventSlugTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item, dt
from eventcrm.storage.dynamodb.listing import Fields, matches, page, sort_key
from eventcrm.storage.dynamodb.schema import GSI1
from eventcrm.storage.dynamodb.session import NOT_EXISTS, Cond, KeyCondition, Session
from eventcrm.storage.ports import KeysetPage

_DATETIMES = frozenset({"start_at", "end_at", "created_at", "updated_at", "deleted_at"})
_STORED = [f.name for f in fields(Event) if f.name not in ("host_ids", "category")]
_OPTIONAL_TEXT = frozenset({"description", "timezone", "venue", "organizer"})
#: What ``replace`` writes: not the counters, not the creation, not the deletion.
_OWN = [
    n
    for n in _STORED
    if n
    not in ("id", "created_at", "created_by", "registered_count", "waitlist_count", "deleted_at")
]
FIELDS = Fields(
    folded=frozenset({"title", "description"}),
    empty_is_null=_OPTIONAL_TEXT,
    relations={"host_id": lambda event: event.host_ids},
)


def is_event(item: Item) -> bool:
    return item.get("type") == "EVENT"


def hosts_of(item: Item) -> tuple[str, ...]:
    """Host ids in the order they became hosts (then by id), as the SQL adapter reads them."""
    hosts: dict[str, str] = item.get("hosts") or {}
    return tuple(u for u, _ in sorted(hosts.items(), key=lambda pair: (pair[1], pair[0])))


def to_event(item: Item, category_name: str | None) -> Event:
    data: dict[str, Any] = keys.from_item(item, _STORED, datetimes=_DATETIMES)
    for name in _OPTIONAL_TEXT:
        data[name] = data[name] or None
    data["status"] = EventStatus(data["status"])
    data["registered_count"] = int(data["registered_count"] or 0)
    data["waitlist_count"] = int(data["waitlist_count"] or 0)
    data["waitlist_enabled"] = bool(data["waitlist_enabled"])
    category = (
        CategoryRef(data["category_id"], category_name or "") if data["category_id"] else None
    )
    return Event(**data, host_ids=hosts_of(item), category=category)


def _item(event: Event) -> Item:
    item = keys.to_item(event, datetimes=_DATETIMES)
    del item["host_ids"], item["category"]
    item["status"] = event.status.value
    item["type"] = "EVENT"
    item["GSI1PK"], item["GSI1SK"] = "EVENT", event.id
    item["waitlist_seq"] = 0
    item["hosts"] = {}
    return item


class DynamoEventRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def _events(self, items: Sequence[Item]) -> list[Event]:
        category_ids = {i["category_id"] for i in items if i.get("category_id")}
        found = await self._s.get_many([keys.named("CATEGORY", c) for c in sorted(category_ids)])
        names = {item["id"]: item["name"] for item in found.values()}
        return [to_event(i, names.get(i.get("category_id") or "")) for i in items]

    async def _one(self, item: Item | None, include_deleted: bool) -> Event | None:
        if item is None or (item.get("deleted_at") and not include_deleted):
            return None
        return (await self._events([item]))[0]

    async def add(self, event: Event) -> None:
        if await self._s.get(keys.event(event.id)) is not None:
            raise EventIdTaken(event.id)
        if event.deleted_at is None:  # a slug is unique among live events only
            if await self.slug_taken(event.slug):
                raise EventSlugTaken(event.slug)
            self._s.put(
                keys.slug_guard(event.slug),
                {"owner": event.id},
                conditions=[NOT_EXISTS],
                error=EventSlugTaken(event.slug),
            )
        self._s.put(
            keys.event(event.id),
            _item(event),
            conditions=[NOT_EXISTS],
            error=EventIdTaken(event.id),
        )

    async def get(self, event_id: str, *, include_deleted: bool = False) -> Event | None:
        return await self._one(await self._s.get(keys.event(event_id)), include_deleted)

    async def get_by_slug(self, slug: str) -> Event | None:
        guard = await self._s.get(keys.slug_guard(slug))
        if guard is None:
            return None
        return await self.get(guard["owner"])

    async def lock(self, event_id: str, *, include_deleted: bool = False) -> Event | None:
        key = keys.event(event_id)
        pending = self._s.pending.get(key)
        # An event added in this unit of work is locked already. The lease's conditional
        # update returns the item: no read before it.
        if (pending is None or pending.kind != "put") and not await self._s.acquire(
            key, must_exist=True, wait=True
        ):
            return None
        return await self._one(await self._s.get(key), include_deleted)

    async def replace(self, event: Event) -> None:
        key = keys.event(event.id)
        current = await self._s.get(key)
        if current is None:
            return
        if current["slug"] != event.slug and not current.get("deleted_at"):
            await self._move_slug(current["slug"], event.slug, event.id)
        item = _item(event)
        self._s.update(key, sets={n: item.get(n) for n in _OWN})

    async def _move_slug(self, old: str, new: str, event_id: str) -> None:
        if await self.slug_taken(new, except_id=event_id):
            raise EventSlugTaken(new)
        self._s.delete(keys.slug_guard(old))
        self._s.put(
            keys.slug_guard(new),
            {"owner": event_id},
            conditions=[NOT_EXISTS],
            error=EventSlugTaken(new),
        )

    async def slug_taken(self, slug: str, *, except_id: str | None = None) -> bool:
        guard = await self._s.get(keys.slug_guard(slug))
        return guard is not None and guard["owner"] != except_id

    async def set_deleted(self, event_id: str, deleted_at: datetime | None) -> None:
        key = keys.event(event_id)
        current = await self._s.get(key)
        if current is None:
            return
        slug = current["slug"]
        if deleted_at is None and current.get("deleted_at"):
            if await self.slug_taken(slug, except_id=event_id):
                raise EventSlugTaken(slug)
            self._s.put(
                keys.slug_guard(slug),
                {"owner": event_id},
                conditions=[NOT_EXISTS],
                error=EventSlugTaken(slug),
            )
        elif deleted_at is not None and not current.get("deleted_at"):
            self._s.delete(keys.slug_guard(slug))
        self._s.update(key, sets={"deleted_at": dt(deleted_at) if deleted_at else None})

    async def _locked_item(self, event_id: str) -> Item | None:
        return await self._s.get(keys.event(event_id))

    async def take_seat(self, event_id: str) -> bool:
        # The caller holds the event's lease: no one else changes its counters, and
        # the commit is conditional on still holding it.
        item = await self._locked_item(event_id)
        if item is None:
            return False
        capacity = item.get("capacity")
        if capacity is not None and int(item.get("registered_count") or 0) >= int(capacity):
            return False
        key = keys.event(event_id)
        self._s.update(key, adds={"registered_count": 1})
        if capacity is not None:
            # Belt and braces: the transaction itself refuses to oversell, whatever
            # the lease: the count before it plus the seats taken here fit.
            pending = self._s.pending[key]
            taken = pending.adds.get("registered_count", 0) if pending.kind == "update" else 0
            if taken > 0:
                pending.conditions.append(
                    Cond("{n0} <= {v0}", ("registered_count",), (int(capacity) - taken,))
                )
        return True

    async def release_seat(self, event_id: str) -> None:
        self._s.update(keys.event(event_id), adds={"registered_count": -1})

    async def join_waitlist(self, event_id: str) -> int:
        item = await self._locked_item(event_id)
        seq = int((item or {}).get("waitlist_seq") or 0) + 1
        self._s.update(keys.event(event_id), adds={"waitlist_count": 1, "waitlist_seq": 1})
        return seq

    async def leave_waitlist(self, event_id: str) -> None:
        self._s.update(keys.event(event_id), adds={"waitlist_count": -1})

    async def _select(self, where: Node | None) -> list[Event]:
        items = await self._s.query(
            KeyCondition("GSI1PK", "EVENT"), index=GSI1, belongs=is_event, what="events"
        )
        return [e for e in await self._events(items) if matches(where, e, FIELDS)]

    async def list(
        self,
        *,
        where: Node | None,
        sort: Sequence[SortKey],
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Event]:
        key, directions = sort_key(sort, FIELDS)
        return page(await self._select(where), key, directions, limit=limit, after=after)

    async def count(self, *, where: Node | None) -> int:
        return len(await self._select(where))
