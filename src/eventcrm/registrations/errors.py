"""Errors of the registrations feature.

RegistrationError
├── RegistrationNotFound     (NotFound)
├── AlreadyRegistered        (Conflict)
├── EventFull                (Conflict)
├── EventNotOpen             (Conflict)
├── NotRegistered            (Conflict)  e.g. checking in someone on the waitlist
└── OwnerRegistration        (Conflict)
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, NotFound


class RegistrationError(DomainError):
    """Base for the registrations feature."""


class RegistrationNotFound(RegistrationError, NotFound):
    code = "registration_not_found"
    title = "Registration not found"

    def __init__(self, event_id: str, user_id: str) -> None:
        super().__init__(f"User {user_id!r} has no registration for event {event_id!r}.")


class AlreadyRegistered(RegistrationError, Conflict):
    code = "already_registered"
    title = "Already registered"

    def __init__(self, event_id: str, user_id: str, status: str, role: str) -> None:
        super().__init__(f"User {user_id!r} is already {status} for event {event_id!r} as {role}.")


class EventFull(RegistrationError, Conflict):
    code = "event_full"
    title = "Event full"

    def __init__(self, event_id: str, capacity: int) -> None:
        super().__init__(
            f"Event {event_id!r} has all {capacity} seats taken and its waitlist is off."
        )


class EventNotOpen(RegistrationError, Conflict):
    code = "event_not_open"
    title = "Event not open for registration"

    def __init__(self, event_id: str, status: str) -> None:
        super().__init__(
            f"Event {event_id!r} is {status}; attendees can register only while it is "
            "scheduled or active."
        )


class NotRegistered(RegistrationError, Conflict):
    code = "not_registered"
    title = "Not registered"

    def __init__(self, event_id: str, user_id: str, status: str) -> None:
        super().__init__(f"User {user_id!r} is {status} for event {event_id!r}, not registered.")


class OwnerRegistration(RegistrationError, Conflict):
    code = "owner_registration"
    title = "The owner's place is set by the event"

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"The owner of event {event_id!r} is its ownerId; change the event's ownerId instead."
        )
