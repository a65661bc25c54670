"""Registering a batch of attendees for one event in one transaction (group commit).

``register_attendees`` is the use case the batcher (``batcher.py``) runs for
the registrations that queued up for an event while its previous batch was in
flight. Like a service it runs in the unit of work it is given and never
commits. It answers each request on its own — registered, waitlisted with its
place, or the error it alone gets — and sends the database a fixed number of
statements however many people the batch holds:

1. the event, locked (``SELECT … FOR UPDATE``; SQLite: the write transaction
   already holds the database's lock): every check that needs the event is
   decided on the locked row;
2. the people and any registration they have for the event, in one read that
   also keeps them from being deleted before the INSERT (a person deleted
   meanwhile is that request's 422, not a foreign-key error failing the batch);
3. one conditional UPDATE of the event's counters: the seats taken (only if
   that many are free — the database's CHECK constraint is the last line) and
   the waitlist places handed out, returning their sequence numbers;
4. one multi-row INSERT of the registrations;
5. one UPDATE of the seated people's ``eventsAttended``;
6. one confirmation for everyone seated (a message and its deliveries).

Seats and waitlist places go in arrival order: the batch is a queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from eventcrm.access.domain import Actor
from eventcrm.access.domain import Role as ActorRole
from eventcrm.access.policy import manages
from eventcrm.errors import Busy, DomainError
from eventcrm.events.domain import OPEN_FOR_REGISTRATION
from eventcrm.events.errors import EventNotFound
from eventcrm.notifications.ports import Notifier
from eventcrm.registrations.domain import Registration, RegistrationStatus, Role
from eventcrm.registrations.errors import AlreadyRegistered, EventFull, EventNotOpen
from eventcrm.storage.ports import UnitOfWork
from eventcrm.users.errors import UserNotFound

REGISTERED, WAITLISTED = RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED

#: What one request of a batch gets: its registration, or the error it alone is answered.
Outcome = Registration | DomainError


@dataclass(frozen=True, slots=True)
class AttendeeRequest:
    """One person to register as an attendee, by whom, and when the request arrived
    (its ``registeredAt``: the order people joined in, batches or not)."""

    user_id: str
    actor: Actor
    arrived_at: datetime


async def register_attendees(
    uow: UnitOfWork, *, event_id: str, requests: Sequence[AttendeeRequest], notifier: Notifier
) -> list[Outcome]:
    """Register ``requests`` (in arrival order) for ``event_id``; one outcome each, in
    the same order. Writes nothing for a request whose outcome is an error."""
    # Organizers manage the events they own or host: only they need the hosts.
    with_hosts = any(r.actor.role is ActorRole.ORGANIZER for r in requests)
    event = await uow.events.lock(event_id, with_hosts=with_hosts)
    outcomes: list[Outcome | None] = [None] * len(requests)
    admitted: list[int] = []
    for i, request in enumerate(requests):
        if event is None or not manages(request.actor, event):
            outcomes[i] = EventNotFound(event_id)
        elif event.status not in OPEN_FOR_REGISTRATION:
            outcomes[i] = EventNotOpen(event_id, event.status.value)
        else:
            admitted.append(i)
    if event is None or not admitted:
        return _complete(outcomes)

    found = await uow.registrations.people_and_registrations(
        event_id, [requests[i].user_id for i in admitted]
    )
    capacity = event.capacity
    free = None if capacity is None else max(0, capacity - event.registered_count)
    place = event.waitlist_count
    joined: dict[str, tuple[int, Registration]] = {}  # user id -> (request index, registration)
    for i in admitted:
        user_id, at = requests[i].user_id, requests[i].arrived_at
        if user_id not in found:
            outcomes[i] = UserNotFound(user_id)
            continue
        earlier = found[user_id] or (joined[user_id][1] if user_id in joined else None)
        if earlier is not None:  # registered before, or earlier in this batch
            status, role = earlier.status.value, earlier.role.value
            outcomes[i] = AlreadyRegistered(event_id, user_id, status, role)
        elif free is None or free > 0:
            free = None if free is None else free - 1
            joined[user_id] = (
                i,
                Registration(event_id, user_id, Role.ATTENDEE, REGISTERED, None, at),
            )
        elif event.waitlist_enabled:
            place += 1
            waiting = Registration(
                event_id, user_id, Role.ATTENDEE, WAITLISTED, None, at, waitlist_position=place
            )
            joined[user_id] = (i, waiting)
        else:
            assert capacity is not None
            outcomes[i] = EventFull(event_id, capacity)
    if not joined:
        return _complete(outcomes)

    seated = [r.user_id for _, r in joined.values() if r.status is REGISTERED]
    waiting_count = len(joined) - len(seated)
    last_seq = await uow.events.take_seats_and_waitlist(
        event_id, seats=len(seated), waitlisted=waiting_count
    )
    if last_seq is None:  # cannot happen under the event's lock; the CHECK would refuse it too
        raise Busy("The event's seats changed while it was locked; retry.")
    seq = last_seq - waiting_count
    new: list[Registration] = []
    for i, registration in joined.values():
        if registration.status is WAITLISTED:
            seq += 1
            registration = replace(registration, waitlist_seq=seq)
        outcomes[i] = registration
        new.append(registration)
    if await uow.registrations.add_new_many(new) != joined.keys():
        # Every registration of an event is written under its lock, so the read
        # above saw them all; never answer a place that was not stored.
        raise Busy("A registration was written concurrently with this batch; retry.")
    await uow.users.adjust_counters(seated, attended=1)
    # Queued in this transaction: nobody is emailed if the batch rolls back.
    await notifier.registration_confirmed(event=event, user_ids=seated)
    return _complete(outcomes)


def _complete(outcomes: list[Outcome | None]) -> list[Outcome]:
    done = [o for o in outcomes if o is not None]
    assert len(done) == len(outcomes)
    return done
