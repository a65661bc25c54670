"""Request and response bodies of the registrations API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, HiddenUnlessAllowed, WriteModel
from eventcrm.registrations.domain import RegistrationStatus, Role


class RegistrationCreate(WriteModel):
    user_id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    role: Literal["attendee", "host"] = "attendee"


class RegistrationRead(ApiModel):
    event_id: str
    user_id: str
    role: Role
    status: RegistrationStatus
    waitlist_position: int | None = Field(description="1-based place in the waitlist.")
    registered_at: datetime = Field(description="When the person joined (seat or waitlist).")
    promoted_at: datetime | None = Field(description="When a waitlisted person got a seat.")
    checked_in_at: datetime | None


class ParticipantRead(RegistrationRead):
    first_name: str
    last_name: str
    email: HiddenUnlessAllowed
    phone_number: HiddenUnlessAllowed
    job_title: str | None
    company: str | None
    city: str | None
    state: str | None


class UserEventRead(RegistrationRead):
    title: str
    slug: str
    start_at: datetime
    end_at: datetime
    event_status: str


_Limit = Annotated[int, Field(ge=1, le=100)]
_Cursor = Annotated[str | None, StringConstraints(max_length=2048)]


class ParticipantListParams(WriteModel):
    status: RegistrationStatus | None = None
    role: Role | None = None
    limit: _Limit = 20
    cursor: _Cursor = None


class UserEventListParams(WriteModel):
    role: Role | None = None
    limit: _Limit = 20
    cursor: _Cursor = None


class PageParams(WriteModel):
    limit: _Limit = 20
    cursor: _Cursor = None
