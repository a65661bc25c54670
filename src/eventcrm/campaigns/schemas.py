"""Request and response bodies of the campaigns API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from eventcrm.campaigns.domain import CampaignKind, CampaignStatus, DeliveryStatus
from eventcrm.kit.filter_schema import LIMITS as FILTER_LIMITS
from eventcrm.kit.filter_schema import FilterNode, checked_by
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, AwareUtcDateTime, HiddenUnlessAllowed, WriteModel
from eventcrm.registrations.domain import RegistrationStatus, Role
from eventcrm.templates.schemas import MAX_BODY
from eventcrm.users.domain import FILTER_FIELDS

MAX_USER_IDS = 1000

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Subject = Annotated[str | None, StringConstraints(min_length=1, max_length=2000)]
Body = Annotated[str | None, StringConstraints(max_length=MAX_BODY)]
UserIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_USER_IDS)]
Filter = Annotated[
    FilterNode | None,
    checked_by(FILTER_FIELDS),
    Field(
        description="A filter tree in the users filter language (as in POST /users/search); "
        f"null selects everyone. {FILTER_LIMITS}"
    ),
]

_AUDIENCE_KEYS = ("user_ids", "filter", "segment_id", "event_id")
Statuses = Annotated[
    list[RegistrationStatus] | None,
    Field(min_length=1, description="With eventId: which registrations (default: registered)."),
]
Roles = Annotated[
    list[Role] | None,
    Field(min_length=1, description="With eventId: which roles (default: all)."),
]


def _one_audience(model: WriteModel) -> None:
    given = [k for k in _AUDIENCE_KEYS if k in model.model_fields_set]
    if len(given) != 1:
        raise ValueError("give exactly one of userIds, filter, segmentId, eventId")
    # Only a filter may be null (everyone); a null list or id selects nothing meaningful.
    if given[0] != "filter" and getattr(model, given[0]) is None:
        raise ValueError(f"{to_camel(given[0])} cannot be null")
    if "event_id" not in given and {"statuses", "roles"} & model.model_fields_set:
        raise ValueError("statuses and roles go with eventId")


_CONTENT_KEYS = ("subject", "html", "text")


class AudienceIn(WriteModel):
    """Exactly one of: ``userIds``, ``filter`` (``null`` = everyone), ``segmentId``, or
    ``eventId`` (its registrants, optionally narrowed by ``statuses`` and ``roles``)."""

    user_ids: UserIds | None = None
    filter: Filter = None
    segment_id: Id | None = None
    event_id: Id | None = None
    statuses: Statuses = None
    roles: Roles = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _one_audience(self)
        return self


class _Message(WriteModel):
    """A template id, or inline subject plus html and/or text."""

    template_id: Id | None = None
    subject: Subject = None
    html: Body = None
    text: Body = None

    @model_validator(mode="after")
    def _template_or_inline(self) -> Self:
        inline = any(getattr(self, k) is not None for k in _CONTENT_KEYS)
        if self.template_id is not None and inline:
            raise ValueError("give either templateId or inline subject/html/text, not both")
        if self.template_id is None:
            if self.subject is None:
                raise ValueError("give a templateId, or a subject with html and/or text")
            if not self.html and not self.text:
                raise ValueError("an inline message needs html or text (or both)")
        return self


class CampaignCreate(_Message):
    read_only = frozenset(
        {"status", "recipient_count", "kind", "created_at", "updated_at"}
        | {"created_by", "updated_by"}
    )

    id: Id | None = None
    name: Name
    audience: AudienceIn
    event_id: Id | None = Field(
        default=None,
        description="The event the message is about (template variable `event`); "
        "defaults to the audience's event.",
    )


class CampaignSend(WriteModel):
    scheduled_at: AwareUtcDateTime | None = Field(
        default=None, description="Send from this moment on (default: now)."
    )


class EmailSend(_Message):
    """``POST /emails/send``: create a campaign and send it in one call."""

    name: Name | None = None
    user_ids: UserIds | None = None
    filter: Filter = None
    segment_id: Id | None = None
    event_id: Id | None = Field(default=None, description="Send to this event's registrants.")
    statuses: Statuses = None
    roles: Roles = None
    scheduled_at: AwareUtcDateTime | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _one_audience(self)
        return self


class DeliveryCounts(ApiModel):
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0


class CampaignRead(ApiModel):
    id: str
    name: str
    kind: CampaignKind
    status: CampaignStatus
    template_id: str | None
    subject: str | None
    html: str | None
    text: str | None
    audience: dict[str, Any]
    event_id: str | None
    recipient_count: int
    counts: DeliveryCounts
    #: Share of deliveries in a final state, 0..1.
    progress: float
    estimated_finish_at: datetime | None
    scheduled_at: datetime | None
    queued_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the credential's label); read-only.
    created_by: str | None = None
    updated_by: str | None = None


class CampaignListParams(WriteModel):
    kind: CampaignKind | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None


class DeliveryRead(ApiModel):
    id: int
    campaign_id: str
    user_id: str | None
    email: HiddenUnlessAllowed
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    provider_message_id: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryListParams(WriteModel):
    status: DeliveryStatus | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None


class Requeued(ApiModel):
    requeued: int


class EmailSendAccepted(ApiModel):
    campaign_id: str
    recipient_count: int
    status: CampaignStatus


class EmailSendTracked(EmailSendAccepted):
    """What the deprecated send aliases answer: the campaign they created, its
    recipients, and where its delivery counts (sent, failed, …) are followed."""

    counts: DeliveryCounts
    campaign_url: str = Field(description="GET it for the counts and the progress.")
