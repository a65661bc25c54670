"""The outbox: mail is queued as rows in the caller's transaction.

Both kinds of mail leave through here: a campaign when it is sent
(``CampaignService.send``) and a transactional message when an event or a
registration changes (``eventcrm.notifications``). Freezing writes one
delivery per recipient in the same transaction as the change that causes it:
if that change rolls back, no email exists; once it commits, the worker sends
it even if this process dies the next instant.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from eventcrm.campaigns.domain import (
    Audience,
    Campaign,
    CampaignKind,
    RecipientSelection,
    StoredStatus,
    UsersById,
)
from eventcrm.storage.ports import UnitOfWork


async def queue_campaign(
    uow: UnitOfWork,
    *,
    campaign: Campaign,
    recipients: RecipientSelection,
    now: datetime,
    scheduled_at: datetime | None = None,
) -> Campaign:
    """Freeze the audience (one delivery per recipient, written by the database)
    and mark the campaign queued. Runs in the caller's transaction."""
    due_at = max(now, scheduled_at) if scheduled_at is not None else now
    count = await uow.deliveries.freeze(
        campaign_id=campaign.id,
        recipients=recipients,
        # Transactional mail ignores the marketing opt-out.
        honour_opt_out=campaign.kind is CampaignKind.CAMPAIGN,
        due_at=due_at,
        now=now,
    )
    queued = replace(
        campaign,
        status=StoredStatus.QUEUED,
        recipient_count=count,
        scheduled_at=scheduled_at,
        queued_at=now,
        updated_at=now,
    )
    await uow.campaigns.replace(queued)
    return queued


async def queue_transactional(
    uow: UnitOfWork,
    *,
    campaign_id: str,
    name: str,
    template_name: str,
    subject: str,
    html: str | None,
    text: str | None,
    audience: Audience,
    recipients: RecipientSelection,
    event_id: str | None,
    context: dict[str, Any],
    now: datetime,
) -> None:
    """Queue one transactional message (a campaign of kind ``transactional``) for
    ``recipients``: the stored template named ``template_name`` if there is one,
    else the given content. Nothing is left behind when there is nobody to tell.

    Two statements in the common case, no savepoint: the message (its template
    read inside the INSERT) and its deliveries. People named by id are the
    people who exist (the callers name registrants), so the count is known
    before freezing; it is corrected when it was not.
    """
    expected = len(recipients.user_ids) if isinstance(recipients, UsersById) else 0
    message = Campaign(
        id=campaign_id,
        name=name[:200],
        kind=CampaignKind.TRANSACTIONAL,
        status=StoredStatus.QUEUED,
        template_id=None,
        subject=subject,
        html=html,
        text=text,
        audience=audience,
        event_id=event_id,
        created_at=now,
        updated_at=now,
        context=context,
        recipient_count=expected,
        queued_at=now,
    )
    await uow.campaigns.add_message(message, template_name=template_name)
    count = await uow.deliveries.freeze(
        campaign_id=campaign_id,
        recipients=recipients,
        honour_opt_out=False,  # transactional mail ignores the marketing opt-out
        due_at=now,
        now=now,
    )
    if count == 0:
        await uow.campaigns.delete(campaign_id)
    elif count != expected:
        await uow.campaigns.set_recipient_count(campaign_id, count)
