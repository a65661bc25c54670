"""Seat mechanics: the one place seats are freed, taken from the waitlist, and
hosting roles kept in step with an event.

Registrations use it, and so do events (a capacity change or a restore frees
seats; owner and hosts are registrations) and users (deleting a contact
withdraws them everywhere). Every function runs in the caller's unit of work
and expects the caller to hold the event's lock (``uow.events.lock``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from eventcrm.events.domain import OPEN_FOR_REGISTRATION, Event
from eventcrm.notifications.ports import Notifier
from eventcrm.registrations.domain import HOSTING_ROLES, Registration, RegistrationStatus, Role
from eventcrm.registrations.errors import AlreadyRegistered
from eventcrm.storage.ports import UnitOfWork

REGISTERED, WAITLISTED = RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED


async def fill_free_seats(
    uow: UnitOfWork, event: Event, now: datetime, notifier: Notifier
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
    await notifier.promoted_from_waitlist(event=event, user_ids=[r.user_id for r in promoted])
    return promoted


async def withdraw(
    uow: UnitOfWork,
    event: Event,
    registration: Registration,
    now: datetime,
    notifier: Notifier,
) -> None:
    """Remove one registration with its counters; promote into a freed seat."""
    counted = event.counts_for_people  # a deleted or cancelled one no longer counts
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
        await fill_free_seats(uow, event, now, notifier)


async def withdraw_user_everywhere(
    uow: UnitOfWork, *, user_id: str, now: datetime, notifier: Notifier
) -> None:
    """Before a user is deleted: cancel each of their registrations, promoting
    waitlisted people into the seats they free, and leave the events they owned
    without an owner. Events are locked in id order so two such deletions can
    never deadlock each other."""
    for registration in await uow.registrations.for_user(user_id):
        event = await uow.events.lock(registration.event_id, include_deleted=True)
        if event is not None:
            await withdraw(uow, event, registration, now, notifier)
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
    counted = event.counts_for_people
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
