"""Request and response bodies of the events API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from eventcrm.events.domain import READ_ONLY_FIELDS, EventStatus
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, AwareUtcDateTime, UtcDateTime, WriteModel

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_CAPACITY = 1_000_000


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def _iana_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone name (e.g. America/Chicago)"
        ) from None
    return value


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Slug = Annotated[
    str,
    StringConstraints(max_length=120, pattern=SLUG_PATTERN),
    Field(description="Lowercase letters, digits and single hyphens; generated from the title."),
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[
    str | None, StringConstraints(max_length=20_000), AfterValidator(_blank_to_none)
]
TimeZone = Annotated[
    str | None,
    StringConstraints(max_length=64),
    AfterValidator(_blank_to_none),
    AfterValidator(_iana_zone),
]
Venue = Annotated[str | None, StringConstraints(max_length=300), AfterValidator(_blank_to_none)]
Organizer = Annotated[str | None, StringConstraints(max_length=200), AfterValidator(_blank_to_none)]
Capacity = Annotated[
    int | None,
    Field(ge=0, le=MAX_CAPACITY, description="Seats for attendees; null means unlimited."),
]
HostIds = Annotated[list[Id], Field(max_length=100)]


# The cross-field rules below are field validators on the later field (so the
# earlier one is in ``info.data``): the error then names the field to fix.


def _ends_after_start(end_at: datetime | None, info: ValidationInfo) -> datetime | None:
    start_at = info.data.get("start_at")
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise ValueError("endAt must be after startAt")
    return end_at


def _distinct_hosts_without_the_owner(
    host_ids: list[str] | None, info: ValidationInfo
) -> list[str] | None:
    if host_ids is None:
        return None
    if len(set(host_ids)) != len(host_ids):
        raise ValueError("hostIds must not repeat a user")
    owner_id = info.data.get("owner_id")
    if owner_id is not None and owner_id in host_ids:
        raise ValueError("the owner cannot also be listed in hostIds")
    return host_ids


class EventReplace(WriteModel):
    """PUT: every writable field; optional ones not sent are cleared."""

    read_only = READ_ONLY_FIELDS

    slug: Slug | None = None
    title: Title
    description: Description = None
    start_at: AwareUtcDateTime
    end_at: AwareUtcDateTime
    timezone: TimeZone = None
    venue: Venue = None
    capacity: Capacity = None
    waitlist_enabled: bool = True
    status: EventStatus = EventStatus.SCHEDULED
    category_id: Id | None = None
    organizer: Organizer = None
    owner_id: Id | None = None
    host_ids: HostIds = []

    _end_at = field_validator("end_at")(_ends_after_start)
    _host_ids = field_validator("host_ids")(_distinct_hosts_without_the_owner)


#: Ids that would be shadowed by a fixed path under /events.
RESERVED_IDS = frozenset({"count", "by-slug"})


class EventCreate(EventReplace):
    read_only = READ_ONLY_FIELDS - {"id"}

    id: Id | None = None

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved (it names an endpoint under /events)")
        return value


class EventUpdate(WriteModel):
    """PATCH: only the fields sent change."""

    read_only = READ_ONLY_FIELDS

    slug: Slug | None = None
    title: Title | None = None
    description: Description = None
    start_at: AwareUtcDateTime | None = None
    end_at: AwareUtcDateTime | None = None
    timezone: TimeZone = None
    venue: Venue = None
    capacity: Capacity = None
    waitlist_enabled: bool | None = None
    status: EventStatus | None = None
    category_id: Id | None = None
    organizer: Organizer = None
    owner_id: Id | None = None
    host_ids: HostIds | None = None

    # Validators run only for fields the client sent, so a null names its field.
    @field_validator(
        "slug", "title", "start_at", "end_at", "waitlist_enabled", "status", "host_ids"
    )
    @classmethod
    def _required_fields_are_not_cleared(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{to_camel(str(info.field_name))} cannot be null")
        return value

    _end_at = field_validator("end_at")(_ends_after_start)
    _host_ids = field_validator("host_ids")(_distinct_hosts_without_the_owner)


class CategoryRefRead(ApiModel):
    id: str
    name: str


class EventRead(ApiModel):
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
    category: CategoryRefRead | None
    organizer: str | None
    owner_id: str | None
    host_ids: list[str]
    registered_count: int
    waitlist_count: int
    seats_left: int | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    #: Who created it and who last changed it (the credential's label); read-only.
    created_by: str | None = None
    updated_by: str | None = None


class EventFilterParams(WriteModel):
    """Filters shared by ``GET /events`` and ``GET /events/count``."""

    status: Annotated[list[EventStatus], Field(max_length=5)] = []
    category_id: Id | None = None
    start_after: UtcDateTime | None = Field(
        default=None, description="Starting at or after (UTC when no offset is given)."
    )
    end_before: UtcDateTime | None = Field(
        default=None, description="Ending at or before (UTC when no offset is given)."
    )
    q: Annotated[str | None, StringConstraints(max_length=200)] = Field(
        default=None, description="Words that must each appear in the title or description."
    )
    host_id: Id | None = None
    owner_id: Id | None = None
    include_deleted: bool = False


class EventListParams(EventFilterParams):
    sort: Annotated[str | None, StringConstraints(max_length=100)] = Field(
        default=None, description="start_at (default), title or created_at; '-' for descending."
    )
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
    include_total: bool = False


class EventCount(ApiModel):
    count: int
