"""Events: one item each (its counters and, denormalised, its hosts), a slug guard
item while it is live; the lock is a lease on the event item (session.py). A slug's
guard is claimed at once (session.py), so a taken slug is refused before commit and
the events service tries the next generated one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from eventcrm.events.domain import OPEN_FOR_REGISTRATION, CategoryRef, Event, EventStatus
from eventcrm.events.errors import EventIdTaken, EventSlugTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item, dt
from eventcrm.storage.dynamodb.listing import Fields, matches, page, sort_key
from eventcrm.storage.dynamodb.schema import GSI1
from eventcrm.storage.dynamodb.session import (
    EXISTS,
    NOT_EXISTS,
    KeyCondition,
    Op,
    Session,
    is_free_claim,
)
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

    async def _one(
        self, item: Item | None, include_deleted: bool, with_hosts: bool = True
    ) -> Event | None:
        if item is None or (item.get("deleted_at") and not include_deleted):
            return None
        event = (await self._events([item]))[0]
        # The hosts are on the event item (no extra read); the port's contract for a
        # caller that does not look at them is an empty ``host_ids`` all the same.
        return event if with_hosts else replace(event, host_ids=())

    async def add(self, event: Event) -> None:
        if await self._s.get(keys.event(event.id)) is not None:
            raise EventIdTaken(event.id)
        if event.deleted_at is None:  # a slug is unique among live events only
            if await self.slug_taken(event.slug):
                raise EventSlugTaken(event.slug)
            await self._claim_slug(event.slug, event.id)
        self._s.put(
            keys.event(event.id),
            _item(event),
            conditions=[NOT_EXISTS],
            error=EventIdTaken(event.id),
        )

    async def get(
        self, event_id: str, *, include_deleted: bool = False, with_hosts: bool = True
    ) -> Event | None:
        item = await self._s.get(keys.event(event_id))
        return await self._one(item, include_deleted, with_hosts)

    async def get_by_slug(self, slug: str) -> Event | None:
        guard = await self._s.get(keys.slug_guard(slug))
        if guard is None or is_free_claim(guard, datetime.now(UTC)):
            return None
        return await self.get(guard["owner"])

    async def lock(
        self, event_id: str, *, include_deleted: bool = False, with_hosts: bool = True
    ) -> Event | None:
        key = keys.event(event_id)
        pending = self._s.pending.get(key)
        # An event added in this unit of work is locked already. The lease's conditional
        # update returns the item: no read before it.
        if (pending is None or pending.kind != "put") and not await self._s.acquire(
            key, must_exist=True, wait=True
        ):
            return None
        return await self._one(await self._s.get(key), include_deleted, with_hosts)

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
        await self._claim_slug(new, event_id)
        self._s.delete(keys.slug_guard(old))

    async def _claim_slug(self, slug: str, event_id: str) -> None:
        await self._s.claim(keys.slug_guard(slug), event_id, error=EventSlugTaken(slug))

    async def slug_taken(self, slug: str, *, except_id: str | None = None) -> bool:
        guard = await self._s.get(keys.slug_guard(slug))
        # Another's pending claim holds until it runs out (its request may still commit).
        if guard is None or is_free_claim(guard, datetime.now(UTC)):
            return False
        return bool(guard["owner"] != except_id)

    async def set_deleted(self, event_id: str, deleted_at: datetime | None) -> None:
        key = keys.event(event_id)
        current = await self._s.get(key)
        if current is None:
            return
        slug = current["slug"]
        if deleted_at is None and current.get("deleted_at"):
            if await self.slug_taken(slug, except_id=event_id):
                raise EventSlugTaken(slug)
            await self._claim_slug(slug, event_id)
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
        self._take(event_id, capacity, seats=1)
        return True

    def _take(self, event_id: str, capacity: Any, *, seats: int, waitlisted: int = 0) -> None:
        adds = {"registered_count": seats, "waitlist_count": waitlisted, "waitlist_seq": waitlisted}
        # Belt and braces: the transaction itself refuses to oversell, whatever the
        # lease: the count before it plus the seats it adds stay within capacity.
        limits = {"registered_count": int(capacity)} if capacity is not None else {}
        self._s.stage(
            keys.event(event_id),
            Op(
                "update",
                adds={n: v for n, v in adds.items() if v},
                conditions=[EXISTS],
                limits=limits,
            ),
        )

    async def take_open_seat(self, event_id: str) -> bool:
        # DynamoDB has no conditional update that also locks: take the event's
        # lease, then decide on the locked item (as ``lock`` + ``take_seat``).
        event = await self.lock(event_id)
        if event is None or event.status not in OPEN_FOR_REGISTRATION:
            return False
        return await self.take_seat(event_id)

    async def take_seats_and_waitlist(
        self, event_id: str, *, seats: int, waitlisted: int
    ) -> int | None:
        item = await self._locked_item(event_id)
        if item is None:
            return None
        capacity = item.get("capacity")
        count = int(item.get("registered_count") or 0)
        if capacity is not None and count + seats > int(capacity):
            return None
        if seats or waitlisted:
            self._take(event_id, capacity, seats=seats, waitlisted=waitlisted)
        return int(item.get("waitlist_seq") or 0) + waitlisted

    async def release_seat(self, event_id: str) -> None:
        self._s.update(keys.event(event_id), adds={"registered_count": -1})

    async def join_waitlist(self, event_id: str) -> tuple[int, int]:
        item = await self._locked_item(event_id) or {}
        seq = int(item.get("waitlist_seq") or 0) + 1
        place = int(item.get("waitlist_count") or 0) + 1
        self._s.update(keys.event(event_id), adds={"waitlist_count": 1, "waitlist_seq": 1})
        return seq, place

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
