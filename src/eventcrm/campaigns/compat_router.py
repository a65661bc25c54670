"""The earlier systems' email requests, kept so their clients work unchanged.

Deprecated aliases of ``POST /emails/send``: each builds the canonical request
and goes through the same send path of the campaigns service (a campaign, one
delivery per recipient, the worker); docs/migrating.md maps them.
"""

from __future__ import annotations

from typing import Annotated, Self

from fastapi import APIRouter, Query, Request, status
from pydantic import Field, StringConstraints, model_validator

from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.api.paths import location
from eventcrm.api.rate_limits import EmailBudget
from eventcrm.api.services import CampaignServiceDep
from eventcrm.campaigns.domain import CampaignProgress
from eventcrm.campaigns.router import router as campaigns_router
from eventcrm.campaigns.schemas import (
    Body,
    DeliveryCounts,
    EmailSend,
    EmailSendTracked,
    UserIds,
)
from eventcrm.kit.schemas import WriteModel
from eventcrm.users.schemas import UserCriteria

router = APIRouter(tags=["campaigns"], route_class=IdempotentRoute)

Confirm = Annotated[
    bool,
    Query(description="Confirm a send to more recipients than the confirmation threshold."),
]


class PredefinedEmailSend(WriteModel):
    """Body of ``POST /users/send_email``."""

    user_ids: UserIds


class SeedEmailSend(WriteModel):
    """Body of ``POST /emails/send-emails``: ``userIds`` or ``filter`` (flat
    criteria named like ``GET /users``' query parameters; ``{}`` is everyone),
    a ``subject``, and ``body`` (plain text) and/or ``html``."""

    user_ids: UserIds | None = None
    filter: UserCriteria | None = None
    subject: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    body: Body = Field(default=None, description="The plain-text body.")
    html: Body = None

    @model_validator(mode="after")
    def _audience_and_content(self) -> Self:
        if (self.user_ids is None) == (self.filter is None):
            raise ValueError("give exactly one of user_ids and filter")
        if not self.body and not self.html:
            raise ValueError("give a body (plain text) or html, or both")
        return self

    def canonical(self) -> EmailSend:
        """The equivalent ``POST /emails/send`` body."""
        audience = (
            {"user_ids": self.user_ids} if self.filter is None else {"filter": self.filter.tree()}
        )
        content = {"subject": self.subject, "text": self.body, "html": self.html}
        return EmailSend.model_validate(
            {**audience, **{k: v for k, v in content.items() if v is not None}}
        )


def _tracked(request: Request, progress: CampaignProgress) -> EmailSendTracked:
    campaign = progress.campaign
    return EmailSendTracked(
        campaign_id=campaign.id,
        recipient_count=campaign.recipient_count,
        status=progress.status,
        counts=DeliveryCounts(**{str(s): n for s, n in progress.counts.items()}),
        campaign_url=location(request, campaigns_router, campaign.id),
    )


@router.post(
    "/users/send_email",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[EmailBudget],
    deprecated=True,
)
async def send_predefined_email(
    body: PredefinedEmailSend,
    service: CampaignServiceDep,
    request: Request,
    confirm: Confirm = False,
) -> EmailSendTracked:
    """Deprecated: use `POST /emails/send` with `userIds` and a `templateId`.
    Sends the predefined email (the template named by
    `EVENTCRM_PREDEFINED_EMAIL_TEMPLATE`, or a built-in message) to `user_ids`."""
    progress = await service.send_predefined(user_ids=body.user_ids, confirm=confirm)
    return _tracked(request, progress)


@router.post(
    "/emails/send-emails",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[EmailBudget],
    deprecated=True,
)
async def send_emails_to_audience(
    body: SeedEmailSend,
    service: CampaignServiceDep,
    request: Request,
    confirm: Confirm = False,
) -> EmailSendTracked:
    """Deprecated: use `POST /emails/send`. Sends `subject` with `body` (text)
    and/or `html` to `user_ids` or to the contacts a flat `filter` selects
    (`company`, `job_title`, `city`, `state`, `min_events_hosted`, …); follow the
    sent and failed counts at `campaignUrl`."""
    progress = await service.send_now(data=body.canonical(), confirm=confirm)
    return _tracked(request, progress)
