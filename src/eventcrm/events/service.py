"""Use cases of events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from slugify import slugify

from eventcrm.access.domain import Actor, Role
from eventcrm.access.policy import event_scope, manages, require_writer, sees_event
from eventcrm.categories.errors import CategoryNotFound
from eventcrm.errors import FieldProblem, Forbidden, InvalidInput
from eventcrm.events.cache import EventCache
from eventcrm.events.domain import DEFAULT_SORT, SORT_FIELDS, TRANSITIONS, Event, EventStatus
from eventcrm.events.errors import (
    CapacityBelowRegistered,
    EventNotFound,
    EventSlugTaken,
    InvalidStatusTransition,
)
from eventcrm.events.schemas import (
    EventCreate,
    EventFilterParams,
    EventListParams,
    EventUpdate,
)
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.filters import Condition, Node, Op, Or, all_of
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, paginate
from eventcrm.kit.sorting import parse_sort
from eventcrm.notifications.ports import NOTIFIED_FIELDS, Notifier
from eventcrm.registrations.seats import fill_free_seats, sync_hosting
from eventcrm.storage.ports import UnitOfWork

_SLUG_ATTEMPTS = 20
_SLUG_LENGTH = 120  # the column's width


class EventService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        new_id: IdGenerator,
        cursors: CursorCodec,
        notifier: Notifier,
        actor: Actor,
        cache: EventCache,
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock
        self._new_id = new_id
        self._cursors = cursors
        self._notifier = notifier
        self._actor = actor

    async def create(self, *, data: EventCreate) -> Event:
        actor = self._actor
        require_writer(actor, "create events")
        if actor.role is Role.ORGANIZER:
            # An organizer's events are its own: it becomes the owner.
            if data.owner_id is not None and data.owner_id != actor.user_id:
                raise Forbidden("An organizer creates events it owns: ownerId must be its own.")
            data = data.model_copy(update={"owner_id": actor.user_id})
        fields = data.model_dump(exclude={"id", "host_ids"}, by_alias=False)
        await self._check_references(fields, data.host_ids)
        now = self._clock.now()
        event_id = data.id or self._new_id()
        event = Event(
            **{**fields, "slug": data.slug or ""},
            id=event_id,
            host_ids=(),
            registered_count=0,
            waitlist_count=0,
            created_at=now,
            updated_at=now,
            created_by=actor.label,
            updated_by=actor.label,
        )
        if data.slug:
            await self._uow.events.add(event)  # a slug the client chose: taken is a 409
        else:
            event = await self._add_with_free_slug(event, data.title)
        await sync_hosting(
            self._uow,
            event=replace(event, owner_id=None),  # nobody holds a role yet
            owner_id=data.owner_id,
            host_ids=data.host_ids,
            now=now,
        )
        return await self._read(event_id)

    async def _read(self, event_id: str) -> Event:
        """The event just written (an owner handing it over no longer sees it)."""
        event = await self._uow.events.get(event_id)
        if event is None:
            raise EventNotFound(event_id)
        return event

    async def get(self, *, event_id: str) -> Event:
        # The cached event is everyone's; whether this caller sees it is checked here.
        event = await self._cache.event(event_id, lambda: self._uow.events.get(event_id))
        if event is None or not sees_event(self._actor, event):
            raise EventNotFound(event_id)
        return event

    async def get_by_slug(self, *, slug: str) -> Event:
        event = await self._uow.events.get_by_slug(slug)
        if event is None or not sees_event(self._actor, event):
            raise EventNotFound(slug)
        return event

    async def update(self, *, event_id: str, data: EventUpdate) -> Event:
        return await self._write(
            event_id, data.model_dump(include=data.model_fields_set, by_alias=False)
        )

    async def delete(self, *, event_id: str) -> None:
        """Soft delete: hidden everywhere, counters no longer count it; restorable."""
        event = await self._locked(event_id)
        await self._uow.events.set_deleted(event.id, self._clock.now())
        if event.counts_for_people:  # a cancelled event was taken out of them already
            await self._uow.users.adjust_counters_for_event(event.id, sign=-1)

    async def restore(self, *, event_id: str) -> Event:
        require_writer(self._actor, "restore events")
        event = await self._uow.events.lock(event_id, include_deleted=True)
        if event is None or not manages(self._actor, event):
            raise EventNotFound(event_id)
        if event.deleted_at is not None:
            await self._uow.events.set_deleted(event.id, None)
            if event.status is not EventStatus.CANCELLED:
                await self._uow.users.adjust_counters_for_event(event.id, sign=1)
            # Seats freed while it was deleted (its attendees' accounts deleted) go to
            # the waitlist before any newcomer can take them; after the recount above,
            # so the promoted are counted once.
            await fill_free_seats(
                self._uow, replace(event, deleted_at=None), self._clock.now(), self._notifier
            )
        return await self._read(event_id)

    async def list(self, *, params: EventListParams) -> ListResult[Event]:
        repo = self._uow.events
        scope = event_scope(self._actor)
        sort = parse_sort(params.sort, allowed=SORT_FIELDS, default=DEFAULT_SORT)

        async def load() -> ListResult[Event]:
            return await paginate(
                fetch=repo.list,
                count=repo.count,
                cursors=self._cursors,
                listing="events",
                where=all_of(_filter(params), scope),
                sort=sort,
                limit=params.limit,
                cursor=params.cursor,
                include_total=params.include_total,
            )

        # Keyed by everything the answer depends on, the caller's scope included
        # (an organizer's listing holds only its own events).
        return await self._cache.listing(f"{params.model_dump_json()}|{scope!r}", load)

    async def count(self, *, params: EventFilterParams) -> int:
        return await self._uow.events.count(where=all_of(_filter(params), event_scope(self._actor)))

    async def _write(self, event_id: str, changes: dict[str, Any]) -> Event:
        uow = self._uow
        event = await self._locked(event_id)
        host_ids = changes.pop("host_ids", None)
        owner_id = changes.get("owner_id", event.owner_id)
        if owner_id != event.owner_id and not (
            self._actor.is_admin or self._actor.user_id == event.owner_id
        ):
            raise Forbidden("Only the event's owner or an administrator can change its ownerId.")
        if host_ids is None:
            host_ids = [h for h in event.host_ids if h != owner_id]
        elif owner_id is not None and owner_id in host_ids:
            raise _invalid("hostIds", "the owner cannot also be listed in hostIds")
        await self._check_references(changes, host_ids)
        if "slug" in changes and changes["slug"] is None:
            changes["slug"] = event.slug  # PUT without a slug keeps the current one
        updated = replace(
            event, **changes, updated_at=self._clock.now(), updated_by=self._actor.label
        )

        if updated.end_at <= updated.start_at:
            raise _invalid("endAt", "endAt must be after startAt")
        if updated.status is not event.status and updated.status not in TRANSITIONS[event.status]:
            allowed = sorted(s.value for s in TRANSITIONS[event.status])
            raise InvalidStatusTransition(event.status.value, updated.status.value, allowed)
        if updated.capacity is not None and updated.capacity < event.registered_count:
            raise CapacityBelowRegistered(updated.capacity, event.registered_count)
        if updated.slug != event.slug and await uow.events.slug_taken(
            updated.slug, except_id=event.id
        ):
            raise EventSlugTaken(updated.slug)

        await uow.events.replace(updated)
        await sync_hosting(
            uow, event=event, owner_id=owner_id, host_ids=host_ids, now=updated.updated_at
        )
        if event.counts_for_people != updated.counts_for_people:
            # Cancelled (or back from it, should a transition ever allow it): nobody
            # attended or hosted it; counted after the host changes above, once each.
            await uow.users.adjust_counters_for_event(
                event.id, sign=1 if updated.counts_for_people else -1
            )
        await fill_free_seats(uow, updated, updated.updated_at, self._notifier)
        await self._notify(event, updated)
        return await self._read(event_id)

    async def _notify(self, before: Event, after: Event) -> None:
        """Tell the people signed up when the event is cancelled or moves in time or place."""
        if after.status is EventStatus.CANCELLED:
            if before.status is not EventStatus.CANCELLED:
                await self._notifier.event_cancelled(event=after)
            return
        changes = {
            field: {"old": _json(getattr(before, field)), "new": _json(getattr(after, field))}
            for field in NOTIFIED_FIELDS
            if getattr(before, field) != getattr(after, field)
        }
        if changes and after.status is not EventStatus.DRAFT:
            await self._notifier.event_updated(event=after, changes=changes)

    async def _locked(self, event_id: str) -> Event:
        """The event, locked for a change the actor must be allowed to make."""
        require_writer(self._actor, "change events")
        event = await self._uow.events.lock(event_id)
        if event is None or not manages(self._actor, event):
            raise EventNotFound(event_id)
        return event

    async def _check_references(self, fields: dict[str, Any], host_ids: Sequence[str]) -> None:
        """Referenced category and users must exist: a bad reference is bad input (422)."""
        category_id = fields.get("category_id")
        if category_id is not None and await self._uow.categories.get(category_id) is None:
            raise _invalid("categoryId", str(CategoryNotFound(category_id)))
        owner_id = fields.get("owner_id")
        wanted = [*host_ids, *([owner_id] if owner_id else [])]
        missing = set(wanted) - await self._uow.users.existing_ids(wanted)
        if missing:
            field = "ownerId" if owner_id in missing else "hostIds"
            raise _invalid(field, f"No user with id {sorted(missing)[0]!r}.")

    async def _add_with_free_slug(self, event: Event, title: str) -> Event:
        """Add ``event`` under the first free slug made from its title. A
        concurrent create may take a candidate between the check and the
        insert; the insert (in a savepoint) then fails and the next one is
        tried. After a bounded number of tries the event's own id, which no
        other event has, makes the slug unique."""
        base = slugify(title, max_length=100, word_boundary=True) or "event"
        for n in range(1, _SLUG_ATTEMPTS + 1):
            candidate = replace(event, slug=base if n == 1 else f"{base}-{n}")
            if await self._uow.events.slug_taken(candidate.slug):
                continue
            try:
                await self._uow.events.add(candidate)
            except EventSlugTaken:
                continue
            return candidate
        suffix = slugify(event.id)[-36:]  # a UUID's worth: unique to this event
        prefix = base[: _SLUG_LENGTH - 1 - len(suffix)].rstrip("-")
        candidate = replace(event, slug=f"{prefix}-{suffix}")
        await self._uow.events.add(candidate)
        return candidate


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [FieldProblem(("body", field), message)])


def _filter(params: EventFilterParams) -> Node | None:
    nodes: list[Node | None] = []
    if params.status:
        nodes.append(Condition("status", Op.IN, tuple(s.value for s in params.status)))
    for field in ("category_id", "host_id", "owner_id"):
        value = getattr(params, field)
        if value is not None:
            nodes.append(Condition(field, Op.EQ, value))
    if params.start_after is not None:
        nodes.append(Condition("start_at", Op.GTE, params.start_after))
    if params.end_before is not None:
        nodes.append(Condition("end_at", Op.LTE, params.end_before))
    if params.q:
        nodes.extend(
            Or((Condition("title", Op.CONTAINS, w), Condition("description", Op.CONTAINS, w)))
            for w in params.q.split()
        )
    if not params.include_deleted:
        nodes.append(Condition("deleted_at", Op.IS_NULL, True))
    return all_of(*nodes)
