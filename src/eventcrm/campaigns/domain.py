"""Campaigns and their per-recipient deliveries as the rest of the system sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from eventcrm.kit.filters import Node
from eventcrm.users.domain import User


class CampaignKind(StrEnum):
    #: Marketing mail: honours opt-out and carries List-Unsubscribe headers.
    CAMPAIGN = "campaign"
    #: Mail caused by something the person did or an event they joined (confirmations,
    #: changes, cancellations): sent whatever the marketing opt-out says.
    TRANSACTIONAL = "transactional"


class CampaignStatus(StrEnum):
    """What a campaign is doing, as reported to clients."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"  # queued, first attempt in the future
    SENDING = "sending"  # queued, deliveries still to do
    COMPLETED = "completed"  # every delivery is final
    CANCELLED = "cancelled"


class StoredStatus(StrEnum):
    """What storage keeps; SCHEDULED/SENDING/COMPLETED are derived from deliveries."""

    DRAFT = "draft"
    QUEUED = "queued"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # unsubscribed, no email, or the contact was deleted
    CANCELLED = "cancelled"  # the campaign was cancelled before it was sent


FINAL_DELIVERY_STATUSES = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED}
)


# --- Audiences, as a client describes them (stored with the campaign) ----------
@dataclass(frozen=True, slots=True)
class UserIdsAudience:
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FilterAudience:
    #: The filter tree as the client wrote it; resolved when the campaign is sent.
    filter: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SegmentAudience:
    segment_id: str


@dataclass(frozen=True, slots=True)
class RegistrantsAudience:
    """The people registered for (or waitlisted at) an event, in some roles."""

    event_id: str
    statuses: tuple[str, ...]
    roles: tuple[str, ...]


Audience = UserIdsAudience | FilterAudience | SegmentAudience | RegistrantsAudience


def audience_to_json(audience: Audience) -> dict[str, Any]:
    if isinstance(audience, UserIdsAudience):
        return {"userIds": list(audience.user_ids)}
    if isinstance(audience, FilterAudience):
        return {"filter": audience.filter}
    if isinstance(audience, RegistrantsAudience):
        return {
            "eventId": audience.event_id,
            "statuses": list(audience.statuses),
            "roles": list(audience.roles),
        }
    return {"segmentId": audience.segment_id}


def audience_from_json(data: dict[str, Any]) -> Audience:
    if "userIds" in data:
        return UserIdsAudience(tuple(data["userIds"]))
    if "segmentId" in data:
        return SegmentAudience(data["segmentId"])
    if "eventId" in data:
        return RegistrantsAudience(data["eventId"], tuple(data["statuses"]), tuple(data["roles"]))
    return FilterAudience(data.get("filter"))


# --- Recipient selections, as storage resolves them when freezing ----------------
@dataclass(frozen=True, slots=True)
class UsersById:
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UsersMatching:
    where: Node | None


@dataclass(frozen=True, slots=True)
class EventRegistrants:
    event_id: str
    statuses: tuple[str, ...]
    roles: tuple[str, ...]


RecipientSelection = UsersById | UsersMatching | EventRegistrants


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    kind: CampaignKind
    status: StoredStatus
    template_id: str | None
    subject: str | None
    html: str | None
    text: str | None
    audience: Audience
    event_id: str | None
    created_at: datetime
    updated_at: datetime
    #: Extra template variables fixed when the campaign is queued.
    context: dict[str, Any] = field(default_factory=dict)
    recipient_count: int = 0
    scheduled_at: datetime | None = None
    queued_at: datetime | None = None
    cancelled_at: datetime | None = None
    #: Who created it and who last changed it (the acting credential's label).
    created_by: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    campaign_id: str
    user_id: str | None
    email: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    provider_message_id: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """A campaign with its delivery counts (for reads)."""

    campaign: Campaign
    counts: dict[DeliveryStatus, int]
    status: CampaignStatus
    progress: float
    estimated_finish_at: datetime | None


# --- The worker's view of the ledger ------------------------------------------
@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker holds a lease on, with what it needs to render it."""

    id: int
    campaign_id: str
    email: str
    attempts: int  # including this one
    #: The contact as it is now (None: deleted since the audience was frozen).
    user: User | None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What happened to one claimed delivery; recorded only while the claim holds."""

    delivery_id: int
    status: DeliveryStatus  # SENT, FAILED, SKIPPED, or QUEUED again for a retry
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None


#: What ``POST /users/send_email`` (a deprecated alias) sends when
#: ``EVENTCRM_PREDEFINED_EMAIL_TEMPLATE`` names no template.
PREDEFINED_SUBJECT = "News from the events team"
PREDEFINED_TEXT = (
    "Hi {{ user.firstName }},\n\n"
    "There is news about our upcoming events: watch your inbox for the details,\n"
    "and reply to this message if you have any questions.\n\n"
    "See you soon!\n"
)
