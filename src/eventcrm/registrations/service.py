"""Use cases of registrations: register, cancel, check in, and waitlist promotion.

Every change to an event's registrations starts by locking the event
(``uow.events.lock``), so changes to one event are serialised: on
PostgreSQL by a row lock, on SQLite by the write transaction's database lock.
Seats are then taken with a conditional UPDATE (``registered_count <
capacity``), and a CHECK constraint in the database refuses an oversold row,
so three independent layers stand between a rush of requests and an oversold
event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any, TypeVar

from eventcrm.events.domain import OPEN_FOR_REGISTRATION, Event, EventStatus
from eventcrm.events.errors import EventNotFound
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.pagination import ListResult, page_in_order
from eventcrm.kit.sorting import SortKey
from eventcrm.notifications.service import Notifications
from eventcrm.registrations.domain import (
    HOSTING_ROLES,
    Participant,
    Registration,
    RegistrationStatus,
    Role,
    UserEvent,
)
from eventcrm.registrations.errors import (
    AlreadyRegistered,
    EventFull,
    EventNotOpen,
    IdempotencyKeyReused,
    NotRegistered,
    OwnerRegistration,
    RegistrationNotFound,
)
from eventcrm.storage.ports import StoredResponse, UnitOfWork
from eventcrm.users.errors import UserNotFound

T = TypeVar("T")
REGISTERED, WAITLISTED = RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED
_BY_JOINED = (SortKey("registered_at"),)
_BY_START = (SortKey("start_at"),)


class RegistrationService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        cursors: CursorCodec,
        notifications: Notifications,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cursors = cursors
        self._notifications = notifications

    async def register(
        self,
        *,
        event_id: str,
        user_id: str,
        role: Role,
        idempotency_key: str | None = None,
    ) -> tuple[Registration, bool]:
        """Register (or waitlist) a user. Returns the registration and whether it
        is the replay of an earlier request with the same idempotency key."""
        uow = self._uow
        event = await self._locked(event_id)
        request_hash = _hash({"userId": user_id, "role": role.value})
        scope = f"registrations:{event_id}"
        if idempotency_key is not None:
            stored = await uow.idempotency.get(scope=scope, key=idempotency_key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise IdempotencyKeyReused()
                return _registration_from_json(stored.body), True

        if event.status is EventStatus.CANCELLED or (
            role is Role.ATTENDEE and event.status not in OPEN_FOR_REGISTRATION
        ):
            raise EventNotOpen(event_id, event.status.value)
        if not await uow.users.existing_ids([user_id]):
            raise UserNotFound(user_id)
        existing = await uow.registrations.get(event_id, user_id)
        if existing is not None:
            raise AlreadyRegistered(event_id, user_id, existing.status.value, existing.role.value)

        now = self._clock.now()
        if role is Role.HOST:
            registration = Registration(event_id, user_id, role, REGISTERED, None, now)
            await uow.registrations.add(registration)
            await uow.users.adjust_counters([user_id], hosted=1)
        elif await uow.events.take_seat(event_id):
            registration = Registration(event_id, user_id, role, REGISTERED, None, now)
            await uow.registrations.add(registration)
            await uow.users.adjust_counters([user_id], attended=1)
        elif event.waitlist_enabled:
            seq = await uow.events.join_waitlist(event_id)
            await uow.registrations.add(Registration(event_id, user_id, role, WAITLISTED, seq, now))
            registration = await self._get(event_id, user_id)
        else:
            assert event.capacity is not None
            raise EventFull(event_id, event.capacity)

        if registration.status is REGISTERED:
            # Queued in this transaction: no email if the registration rolls back.
            await self._notifications.registration_confirmed(event=event, user_id=user_id)
        if idempotency_key is not None:
            stored = StoredResponse(request_hash, 201, _registration_to_json(registration), now)
            await uow.idempotency.put(scope=scope, key=idempotency_key, response=stored)
        return registration, False

    async def cancel(self, *, event_id: str, user_id: str) -> None:
        """Cancel a registration or leave the waitlist; a freed seat goes to the
        first waitlisted person in the same transaction."""
        event = await self._locked(event_id)
        registration = await self._get(event_id, user_id)
        if registration.role is Role.OWNER:
            raise OwnerRegistration(event_id)
        await _withdraw(self._uow, event, registration, self._clock.now(), self._notifications)

    async def check_in(self, *, event_id: str, user_id: str) -> Registration:
        """Mark a registered person as present; repeating it changes nothing."""
        event = await self._locked(event_id)
        registration = await self._get(event_id, user_id)
        if registration.status is not REGISTERED:
            raise NotRegistered(event_id, user_id, registration.status.value)
        if registration.checked_in_at is not None:
            return registration
        if event.status is EventStatus.CANCELLED:
            raise EventNotOpen(event_id, event.status.value)
        checked_in = replace(registration, checked_in_at=self._clock.now())
        await self._uow.registrations.update(checked_in)
        return checked_in

    async def participants(
        self,
        *,
        event_id: str,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        cursor: str | None,
    ) -> ListResult[Participant]:
        if await self._uow.events.get(event_id) is None:
            raise EventNotFound(event_id)
        repo = self._uow.registrations

        return await page_in_order(
            lambda limit, after: repo.participants(
                event_id, status=status, role=role, limit=limit, after=after
            ),
            cursors=self._cursors,
            listing=f"events/{event_id}/participants",
            sort=_BY_JOINED,
            limit=limit,
            cursor=cursor,
        )

    async def user_events(
        self,
        *,
        user_id: str,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        cursor: str | None,
    ) -> ListResult[UserEvent]:
        if not await self._uow.users.existing_ids([user_id]):
            raise UserNotFound(user_id)
        repo = self._uow.registrations

        return await page_in_order(
            lambda limit, after: repo.user_events(
                user_id, status=status, role=role, limit=limit, after=after
            ),
            cursors=self._cursors,
            listing=f"users/{user_id}/events",
            sort=_BY_START,
            limit=limit,
            cursor=cursor,
        )

    async def _locked(self, event_id: str) -> Event:
        event = await self._uow.events.lock(event_id)
        if event is None:
            raise EventNotFound(event_id)
        return event

    async def _get(self, event_id: str, user_id: str) -> Registration:
        registration = await self._uow.registrations.get(event_id, user_id)
        if registration is None:
            raise RegistrationNotFound(event_id, user_id)
        return registration


async def fill_free_seats(
    uow: UnitOfWork, event: Event, now: datetime, notifications: Notifications
) -> list[Registration]:
    """Promote waitlisted people, first come first served, while seats are free,
    and queue the email telling them so (in the same transaction).

    Only while the event is open: a cancelled or completed event keeps its
    waitlist as it is. The caller holds the event's lock.
    """
    if event.status not in OPEN_FOR_REGISTRATION or event.deleted_at is not None:
        return []
    promoted = []
    while (waiting := await uow.registrations.first_waitlisted(event.id)) is not None:
        if not await uow.events.take_seat(event.id):
            break
        await uow.events.leave_waitlist(event.id)
        registration = replace(waiting, status=REGISTERED, waitlist_seq=None, promoted_at=now)
        await uow.registrations.update(registration)
        await uow.users.adjust_counters([registration.user_id], attended=1)
        promoted.append(registration)
    await notifications.promoted_from_waitlist(event=event, user_ids=[r.user_id for r in promoted])
    return promoted


async def _withdraw(
    uow: UnitOfWork,
    event: Event,
    registration: Registration,
    now: datetime,
    notifications: Notifications,
) -> None:
    """Remove one registration with its counters; promote into a freed seat."""
    counted = event.deleted_at is None  # a deleted event no longer counts for anyone
    await uow.registrations.delete(event.id, registration.user_id)
    if registration.status is WAITLISTED:
        await uow.events.leave_waitlist(event.id)
    elif registration.role in HOSTING_ROLES:
        if counted:
            await uow.users.adjust_counters([registration.user_id], hosted=-1)
    else:
        await uow.events.release_seat(event.id)
        if counted:
            await uow.users.adjust_counters([registration.user_id], attended=-1)
        await fill_free_seats(uow, event, now, notifications)


async def withdraw_user_everywhere(
    uow: UnitOfWork, *, user_id: str, now: datetime, notifications: Notifications
) -> None:
    """Before a user is deleted: cancel each of their registrations, promoting
    waitlisted people into the seats they free, and leave the events they owned
    without an owner. Events are locked in id order so two such deletions can
    never deadlock each other."""
    for registration in await uow.registrations.for_user(user_id):
        event = await uow.events.lock(registration.event_id, include_deleted=True)
        if event is not None:
            await _withdraw(uow, event, registration, now, notifications)
            if registration.role is Role.OWNER:
                await uow.events.replace(replace(event, owner_id=None, updated_at=now))


async def sync_hosting(
    uow: UnitOfWork,
    *,
    event: Event,
    owner_id: str | None,
    host_ids: Sequence[str],
    now: datetime,
) -> None:
    """Make the owner and host registrations of ``event`` match the given ones.

    Raises AlreadyRegistered if a new owner or host is an attendee (or on the
    waitlist) of this event: they must cancel that first.
    """
    counted = event.deleted_at is None
    wanted = dict.fromkeys(host_ids, Role.HOST)
    if owner_id is not None:
        wanted[owner_id] = Role.OWNER
    current = dict.fromkeys(event.host_ids, Role.HOST)
    if event.owner_id is not None:
        current[event.owner_id] = Role.OWNER

    for user_id in current.keys() - wanted.keys():
        await uow.registrations.delete(event.id, user_id)
        if counted:
            await uow.users.adjust_counters([user_id], hosted=-1)
    for user_id, role in wanted.items():
        if current.get(user_id) == role:
            continue
        existing = await uow.registrations.get(event.id, user_id)
        if existing is None:
            await uow.registrations.add(
                Registration(event.id, user_id, role, REGISTERED, None, now)
            )
            if counted:
                await uow.users.adjust_counters([user_id], hosted=1)
        elif existing.role in HOSTING_ROLES:
            await uow.registrations.update(replace(existing, role=role))
        else:
            raise AlreadyRegistered(event.id, user_id, existing.status.value, existing.role.value)


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _registration_to_json(registration: Registration) -> dict[str, Any]:
    data = asdict(registration)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def _registration_from_json(data: dict[str, Any]) -> Registration:
    fields = dict(data)
    for key in ("registered_at", "promoted_at", "checked_in_at"):
        if fields[key] is not None:
            fields[key] = datetime.fromisoformat(fields[key])
    fields["role"] = Role(fields["role"])
    fields["status"] = RegistrationStatus(fields["status"])
    return Registration(**fields)
