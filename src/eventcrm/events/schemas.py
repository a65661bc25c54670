"""Request and response bodies of the events API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from eventcrm.events.domain import READ_ONLY_FIELDS, EventStatus
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import (
    ApiModel,
    AwareUtcDateTime,
    UtcDateTime,
    WriteModel,
    put_under_field,
    register_other_names,
)

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


#: Names earlier systems used for event fields (docs/migrating.md).
EVENT_FIELD_ALIASES = {
    "location": "venue",
    "max_capacity": "capacity",
    "maxCapacity": "capacity",
    "start_date": "start_at",
    "end_date": "end_at",
    "hosts": "host_ids",
}


def _zone_of(data: dict[str, Any]) -> ZoneInfo:
    name = data.get("timezone")
    try:
        return ZoneInfo(name) if isinstance(name, str) and name.strip() else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the timezone field reports the bad name itself


def move_calendar_day(data: Any) -> Any:
    """``date`` (a calendar day, as earlier systems sent it) → an all-day event: from
    00:00 to 24:00 of that day in the timezone sent with it (UTC when none)."""
    if not isinstance(data, dict) or "date" not in data:
        return data
    data = dict(data)
    sent = data.pop("date")
    try:
        day = date.fromisoformat(sent) if isinstance(sent, str) else None
    except ValueError:
        day = None
    if day is None:
        raise PydanticCustomError(
            "calendar_day",
            "{field} must be a calendar day like 2027-12-01 (an all-day event)",
            {"field": "date"},
        )
    start = datetime.combine(day, time(), tzinfo=_zone_of(data))
    # The next midnight, so a day with a clock change still ends at 24:00.
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=start.tzinfo)
    put_under_field(data, sent="date", field="start_at", value=start.isoformat())
    put_under_field(data, sent="date", field="end_at", value=end.isoformat())
    return data


register_other_names("start_at", "date")
register_other_names("end_at", "date")


class _AcceptsCalendarDay(WriteModel):
    compound_aliases = {"date": ("start_at", "end_at")}

    @model_validator(mode="before")
    @classmethod
    def _calendar_day(cls, data: Any) -> Any:
        return move_calendar_day(data)


class _EventFields(_AcceptsCalendarDay):
    """Every writable field of a new event."""

    read_only = READ_ONLY_FIELDS
    field_aliases = EVENT_FIELD_ALIASES

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


class EventCreate(_EventFields):
    read_only = READ_ONLY_FIELDS - {"id"}
    field_aliases = {**EVENT_FIELD_ALIASES, "eventId": "id", "event_id": "id"}

    id: Id | None = None

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved (it names an endpoint under /events)")
        return value


class EventUpdate(_AcceptsCalendarDay):
    """PUT and PATCH: only the fields sent change; null clears an optional one."""

    read_only = READ_ONLY_FIELDS
    field_aliases = EVENT_FIELD_ALIASES

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
