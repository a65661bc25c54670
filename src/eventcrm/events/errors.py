"""Errors of the events feature.

EventError
├── EventNotFound              (NotFound)
├── EventIdTaken               (Conflict)
├── EventSlugTaken             (Conflict)
├── InvalidStatusTransition    (Conflict)
└── CapacityBelowRegistered    (Conflict)
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, NotFound


class EventError(DomainError):
    """Base for the events feature."""


class EventNotFound(EventError, NotFound):
    code = "event_not_found"
    title = "Event not found"

    def __init__(self, event_id: str) -> None:
        super().__init__(f"No event {event_id!r}.")


class EventIdTaken(EventError, Conflict):
    code = "event_id_taken"
    title = "Event id already exists"

    def __init__(self, event_id: str) -> None:
        super().__init__(f"An event with id {event_id!r} already exists (it may be deleted).")


class EventSlugTaken(EventError, Conflict):
    code = "event_slug_taken"
    title = "Slug already in use"

    def __init__(self, slug: str) -> None:
        super().__init__(f"Another live event already uses the slug {slug!r}.")


class InvalidStatusTransition(EventError, Conflict):
    code = "invalid_status_transition"
    title = "Status change not allowed"

    def __init__(self, current: str, requested: str, allowed: list[str]) -> None:
        choices = ", ".join(allowed) if allowed else "none (it is final)"
        super().__init__(
            f"An event cannot go from {current!r} to {requested!r}; "
            f"allowed from {current!r}: {choices}."
        )


class CapacityBelowRegistered(EventError, Conflict):
    code = "capacity_below_registered"
    title = "Capacity below registrations"

    def __init__(self, capacity: int, registered: int) -> None:
        super().__init__(
            f"Capacity {capacity} is below the {registered} people already registered; "
            "cancel registrations first (nobody is removed silently)."
        )
