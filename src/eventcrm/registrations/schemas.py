"""Request and response bodies of the registrations API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, HiddenUnlessAllowed, WriteModel, move_whole_name
from eventcrm.registrations.domain import NewContact, RegistrationStatus, Role

_Name = Annotated[str | None, StringConstraints(max_length=100)]


class RegistrationCreate(WriteModel):
    """Who to register: a contact's ``userId``, or a person's ``email`` (the contact
    with that email, or a new one made from the names and phone number sent)."""

    field_aliases = {"phone": "phone_number"}
    compound_aliases = {"name": ("first_name", "last_name")}

    user_id: Annotated[str | None, StringConstraints(pattern=ID_PATTERN)] = None
    email: Annotated[EmailStr | None, StringConstraints(max_length=320)] = None
    first_name: _Name = Field(default=None, description="With `email`, for a new contact.")
    last_name: _Name = Field(default=None, description="With `email`, for a new contact.")
    phone_number: Annotated[str | None, StringConstraints(max_length=40)] = Field(
        default=None, description="With `email`, for a new contact."
    )
    role: Literal["attendee", "host"] = "attendee"

    @model_validator(mode="before")
    @classmethod
    def _whole_name(cls, data: Any) -> Any:
        return move_whole_name(data)

    @model_validator(mode="after")
    def _one_person(self) -> RegistrationCreate:
        if self.user_id is None and self.email is None:
            raise PydanticCustomError(
                "one_person",
                "{field} or email is required: userId names an existing contact, email "
                "finds or creates one",
                {"field": "userId"},
            )
        if self.user_id is not None and self.email is not None:
            raise PydanticCustomError(
                "one_person", "send {field} or email, not both", {"field": "userId"}
            )
        details = {"firstName": self.first_name, "lastName": self.last_name}
        details["phoneNumber"] = self.phone_number
        if self.user_id is not None and any(v is not None for v in details.values()):
            sent = ", ".join(k for k, v in details.items() if v is not None)
            raise PydanticCustomError(
                "details_without_email",
                "{sent} go with email (they describe a new contact), not with userId",
                {"sent": sent, "field": sent.split(",")[0]},
            )
        return self

    def person(self) -> str | NewContact:
        """The contact's id, or the person to find or create by email."""
        if self.email is None:
            assert self.user_id is not None  # _one_person requires one of them
            return self.user_id
        return NewContact(
            email=self.email,
            first_name=self.first_name or None,
            last_name=self.last_name or None,
            phone_number=self.phone_number or None,
        )


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
