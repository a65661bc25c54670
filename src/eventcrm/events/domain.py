"""The event and its rules (status transitions, capacity)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from eventcrm.kit.sorting import SortKey


class EventStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


#: Allowed status changes. Cancelled is final; a completed event can be
#: reopened (marked completed by mistake), a cancelled one never.
TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.DRAFT: frozenset(
        {EventStatus.SCHEDULED, EventStatus.ACTIVE, EventStatus.CANCELLED}
    ),
    EventStatus.SCHEDULED: frozenset(
        {EventStatus.DRAFT, EventStatus.ACTIVE, EventStatus.COMPLETED, EventStatus.CANCELLED}
    ),
    EventStatus.ACTIVE: frozenset({EventStatus.COMPLETED, EventStatus.CANCELLED}),
    EventStatus.COMPLETED: frozenset({EventStatus.ACTIVE}),
    EventStatus.CANCELLED: frozenset(),
}

#: Statuses in which people may register or join the waitlist.
OPEN_FOR_REGISTRATION = frozenset({EventStatus.SCHEDULED, EventStatus.ACTIVE})


@dataclass(frozen=True, slots=True)
class CategoryRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    slug: str
    title: str
    description: str | None
    start_at: datetime
    end_at: datetime
    timezone: str | None
    venue: str | None
    capacity: int | None
    waitlist_enabled: bool
    status: EventStatus
    category_id: str | None
    organizer: str | None
    owner_id: str | None
    host_ids: tuple[str, ...]
    registered_count: int
    waitlist_count: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    #: Who created it and who last changed it (the acting credential's label).
    created_by: str | None = None
    updated_by: str | None = None
    #: Filled in by storage when reading (a join), not stored on the event.
    category: CategoryRef | None = None

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else self.capacity - self.registered_count

    @property
    def counts_for_people(self) -> bool:
        """Whether its registrations count toward eventsHosted / eventsAttended (and
        the ``role`` filter): a deleted event does not, nor a cancelled one, which
        nobody attended or hosted."""
        return self.deleted_at is None and self.status is not EventStatus.CANCELLED


WRITABLE_FIELDS = (
    "slug",
    "title",
    "description",
    "start_at",
    "end_at",
    "timezone",
    "venue",
    "capacity",
    "waitlist_enabled",
    "status",
    "category_id",
    "organizer",
    "owner_id",
    "host_ids",
)
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "registered_count",
        "waitlist_count",
        "created_at",
        "updated_at",
        "deleted_at",
        "created_by",
        "updated_by",
        "category",
        "seats_left",
    }
)
SORT_FIELDS = frozenset({"start_at", "title", "created_at"})
DEFAULT_SORT = (SortKey("start_at"),)
