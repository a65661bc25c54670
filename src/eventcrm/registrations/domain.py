"""Registrations and the views that join them with users and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    HOST = "host"
    ATTENDEE = "attendee"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"


@dataclass(frozen=True, slots=True)
class NewContact:
    """Who to register when the caller names a person by email instead of by id: the
    contact with that email, or a new one made from these details."""

    email: str
    first_name: str | None
    last_name: str | None
    phone_number: str | None


#: Roles that count towards a user's eventsHosted and never take a seat.
HOSTING_ROLES = frozenset({Role.OWNER, Role.HOST})


@dataclass(frozen=True, slots=True)
class Registration:
    event_id: str
    user_id: str
    role: Role
    status: RegistrationStatus
    #: Order of joining the waitlist (per event, increasing); None once registered.
    waitlist_seq: int | None
    registered_at: datetime
    promoted_at: datetime | None = None
    checked_in_at: datetime | None = None
    #: 1-based place in the waitlist; computed by storage on reads.
    waitlist_position: int | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    """A registration with the person's contact fields."""

    registration: Registration
    first_name: str
    last_name: str
    email: str
    phone_number: str | None
    job_title: str | None
    company: str | None
    city: str | None
    state: str | None


@dataclass(frozen=True, slots=True)
class UserEvent:
    """A registration with the event's headline fields."""

    registration: Registration
    title: str
    slug: str
    start_at: datetime
    end_at: datetime
    event_status: str
