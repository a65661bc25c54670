"""Use cases of registrations: register, cancel, check in (the seat mechanics they
share with events and users live in ``seats.py``).

Changes to one event's registrations are serialised: on PostgreSQL by the
event's row lock, on SQLite by the write transaction's database lock. A new
attendee's registration takes that lock with its conditional seat UPDATE
(``registered_count < capacity``, after every check that needs no lock);
every other change starts by locking the event (``uow.events.lock``). A
CHECK constraint in the database refuses an oversold row, so three
independent layers stand between a rush of requests and an oversold event
(docs/registrations.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from eventcrm.access.domain import Actor
from eventcrm.access.domain import Role as ActorRole
from eventcrm.access.policy import ContactPrivacy, manages, masked, require_writer, sees_event
from eventcrm.errors import FieldProblem, Forbidden, InvalidInput
from eventcrm.events.domain import OPEN_FOR_REGISTRATION, Event, EventStatus
from eventcrm.events.errors import EventNotFound
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, page_in_order
from eventcrm.kit.sorting import SortKey
from eventcrm.notifications.ports import Notifier
from eventcrm.registrations.domain import (
    NewContact,
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
    NotRegistered,
    OwnerRegistration,
    RegistrationNotFound,
)
from eventcrm.registrations.seats import withdraw
from eventcrm.storage.ports import UnitOfWork
from eventcrm.users.domain import User, new_contact, normalize_phone
from eventcrm.users.errors import UserEmailTaken, UserNotFound

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
        notifier: Notifier,
        actor: Actor,
        privacy: ContactPrivacy,
        new_id: IdGenerator,
        phone_region: str | None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._phone_region = phone_region
        self._cursors = cursors
        self._notifier = notifier
        self._actor = actor
        self._privacy = privacy

    async def register(
        self,
        *,
        event_id: str,
        user_id: str | NewContact,
        role: Role,
    ) -> Registration:
        """Register (or waitlist) a user, named by id or, as a ``NewContact``, by
        email: the contact with that email, or a new one created here (in the same
        transaction, so a refused registration creates nobody).

        Everything that can be checked is checked before the event is locked;
        the common case — an attendee taking a free seat — then holds the lock
        for three writes only: the conditional seat UPDATE (which is the lock),
        the registration and the person's counter, and the confirmation's
        outbox row. A registration inserted meanwhile by a concurrent request
        is caught by the unique (event, user) key, a person deleted meanwhile
        by the foreign key: the same answers as the checks below.
        """
        require_writer(self._actor, "change registrations")
        uow = self._uow
        # Organizers manage the events they own or host: only they need the hosts.
        event = await uow.events.get(event_id, with_hosts=self._actor.role is ActorRole.ORGANIZER)
        if event is None or not manages(self._actor, event):
            raise EventNotFound(event_id)
        if isinstance(user_id, NewContact):
            # Whoever may manage the event's registrations may add a person this way,
            # an organizer included (it cannot create contacts otherwise).
            user_id = (await self._contact_for(user_id)).id
        _require_open(event, role)
        known, existing = await uow.registrations.user_and_registration(event_id, user_id)
        if not known:
            raise UserNotFound(user_id)
        if existing is not None:
            raise AlreadyRegistered(event_id, user_id, existing.status.value, existing.role.value)

        now = self._clock.now()
        if role is Role.ATTENDEE and await uow.events.take_open_seat(event_id):
            registration = Registration(event_id, user_id, role, REGISTERED, None, now)
            await uow.registrations.add_new(registration)
            await uow.users.adjust_counters([user_id], attended=1)
            # Queued in this transaction: no email if the registration rolls back.
            await self._notifier.registration_confirmed(event=event, user_ids=[user_id])
            return registration

        # A host, a full event, or one that changed since it was read: decide
        # under the event's lock.
        event = await self._locked(event_id)
        _require_open(event, role)
        seat_free = event.capacity is None or event.registered_count < event.capacity
        if role is Role.HOST:
            registration = Registration(event_id, user_id, role, REGISTERED, None, now)
            await uow.registrations.add_new(registration)
            await uow.users.adjust_counters([user_id], hosted=1)
        elif seat_free and await uow.events.take_seat(event_id):  # freed since the first try
            registration = Registration(event_id, user_id, role, REGISTERED, None, now)
            await uow.registrations.add_new(registration)
            await uow.users.adjust_counters([user_id], attended=1)
            await self._notifier.registration_confirmed(event=event, user_ids=[user_id])
        elif event.waitlist_enabled:
            seq, place = await uow.events.join_waitlist(event_id)
            registration = Registration(
                event_id, user_id, role, WAITLISTED, seq, now, waitlist_position=place
            )
            await uow.registrations.add_new(registration)
        else:
            assert event.capacity is not None
            raise EventFull(event_id, event.capacity)
        return registration

    async def cancel(self, *, event_id: str, user_id: str) -> None:
        """Cancel a registration or leave the waitlist; a freed seat goes to the
        first waitlisted person in the same transaction."""
        event = await self._locked(event_id)
        registration = await self._get(event_id, user_id)
        if registration.role is Role.OWNER:
            raise OwnerRegistration(event_id)
        await withdraw(self._uow, event, registration, self._clock.now(), self._notifier)

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
        event = await self._uow.events.get(event_id)
        if event is None or not sees_event(self._actor, event):
            raise EventNotFound(event_id)
        repo = self._uow.registrations

        page = await page_in_order(
            lambda limit, after: repo.participants(
                event_id, status=status, role=role, limit=limit, after=after
            ),
            cursors=self._cursors,
            listing=f"events/{event_id}/participants",
            sort=_BY_JOINED,
            limit=limit,
            cursor=cursor,
        )
        # An organizer sees its own participants in full; others as the privacy rule says.
        visible = await self._privacy.visible(
            self._uow, (p.registration.user_id for p in page.items)
        )
        return replace(
            page,
            items=[p if p.registration.user_id in visible else masked(p) for p in page.items],
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
        actor = self._actor
        if actor.role is ActorRole.ORGANIZER and user_id != actor.user_id:
            # A person's history across every event reaches beyond the organizer's own.
            raise Forbidden("An organizer sees only its own events; list an event's participants.")
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
        """The event, locked for a change of its registrations the actor may make
        (its ``host_ids`` are read only when an organizer's rights depend on them)."""
        require_writer(self._actor, "change registrations")
        with_hosts = self._actor.role is ActorRole.ORGANIZER
        event = await self._uow.events.lock(event_id, with_hosts=with_hosts)
        if event is None or not manages(self._actor, event):
            raise EventNotFound(event_id)
        return event

    async def _contact_for(self, contact: NewContact) -> User:
        found = await self._uow.users.get_by_email(contact.email)
        if found is not None:
            return found  # an existing contact is registered as it is, never changed
        if not contact.first_name:
            message = "firstName (or name) is needed to create a contact for this email"
            raise InvalidInput(message, [FieldProblem(("body", "firstName"), message, "missing")])
        phone = contact.phone_number
        user = new_contact(
            id=self._new_id(),
            now=self._clock.now(),
            by=self._actor.label,
            first_name=contact.first_name,
            last_name=contact.last_name or "",
            email=contact.email,
            phone_number=normalize_phone(phone, self._phone_region) if phone else None,
        )
        try:
            await self._uow.users.add(user)
        except UserEmailTaken:
            # Created meanwhile by a concurrent request (the insert ran in a savepoint).
            found = await self._uow.users.get_by_email(contact.email)
            if found is None:
                raise
            return found
        return user

    async def _get(self, event_id: str, user_id: str) -> Registration:
        registration = await self._uow.registrations.get(event_id, user_id)
        if registration is None:
            raise RegistrationNotFound(event_id, user_id)
        return registration


def _require_open(event: Event, role: Role) -> None:
    if event.status is EventStatus.CANCELLED or (
        role is Role.ATTENDEE and event.status not in OPEN_FOR_REGISTRATION
    ):
        raise EventNotOpen(event.id, event.status.value)
