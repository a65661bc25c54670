"""HTTP handlers of campaigns, their delivery ledger, and the one-call send."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.api.paths import location
from eventcrm.api.rate_limits import EmailBudget
from eventcrm.api.services import CampaignServiceDep
from eventcrm.campaigns.domain import CampaignProgress, audience_to_json
from eventcrm.campaigns.schemas import (
    CampaignCreate,
    CampaignListParams,
    CampaignRead,
    CampaignSend,
    DeliveryCounts,
    DeliveryListParams,
    DeliveryRead,
    EmailSend,
    EmailSendAccepted,
    Requeued,
)
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import Page

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=IdempotentRoute)
emails_router = APIRouter(prefix="/emails", tags=["campaigns"], route_class=IdempotentRoute)


CampaignId = Annotated[str, Path(pattern=ID_PATTERN, description="The campaign's id.")]
Confirm = Annotated[
    bool,
    Query(description="Confirm a send to more recipients than the confirmation threshold."),
]


def _read(p: CampaignProgress) -> CampaignRead:
    c = p.campaign
    return CampaignRead(
        id=c.id,
        name=c.name,
        kind=c.kind,
        status=p.status,
        template_id=c.template_id,
        subject=c.subject,
        html=c.html,
        text=c.text,
        audience=audience_to_json(c.audience),
        event_id=c.event_id,
        recipient_count=c.recipient_count,
        counts=DeliveryCounts(**{str(s): n for s, n in p.counts.items()}),
        progress=p.progress,
        estimated_finish_at=p.estimated_finish_at,
        scheduled_at=c.scheduled_at,
        queued_at=c.queued_at,
        cancelled_at=c.cancelled_at,
        created_at=c.created_at,
        updated_at=c.updated_at,
        created_by=c.created_by,
        updated_by=c.updated_by,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_campaign(
    body: CampaignCreate, service: CampaignServiceDep, request: Request, response: Response
) -> CampaignRead:
    """Create a draft: a message (template or inline) and an audience, nothing sent yet."""
    progress = await service.create(data=body)
    response.headers["Location"] = location(request, router, progress.campaign.id)
    return _read(progress)


@router.get("")
async def list_campaigns(
    params: Annotated[CampaignListParams, Query()], service: CampaignServiceDep
) -> Page[CampaignRead]:
    """Newest first."""
    result = await service.list(kind=params.kind, limit=params.limit, cursor=params.cursor)
    return Page[CampaignRead](
        items=[_read(p) for p in result.items], next_cursor=result.next_cursor
    )


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: CampaignId, service: CampaignServiceDep) -> CampaignRead:
    """The campaign with delivery counts per status, progress and an estimated finish."""
    return _read(await service.get(campaign_id=campaign_id))


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_campaign(campaign_id: CampaignId, service: CampaignServiceDep) -> None:
    """Delete a draft (a sent campaign keeps its ledger: cancel it instead)."""
    await service.delete(campaign_id=campaign_id)


@router.post(
    "/{campaign_id}/send", status_code=status.HTTP_202_ACCEPTED, dependencies=[EmailBudget]
)
async def send_campaign(
    campaign_id: CampaignId,
    service: CampaignServiceDep,
    confirm: Confirm = False,
    body: CampaignSend | None = None,
) -> CampaignRead:
    """Freeze the audience (one delivery per recipient) and hand it to the worker.

    A campaign with more recipients than ``EVENTCRM_CAMPAIGN_CONFIRM_THRESHOLD``
    is refused (409 ``confirmation_required``, nothing sent) unless ``confirm=true``.
    """
    scheduled_at = body.scheduled_at if body is not None else None
    progress = await service.send(
        campaign_id=campaign_id, scheduled_at=scheduled_at, confirm=confirm
    )
    return _read(progress)


@router.post("/{campaign_id}/cancel")
async def cancel_campaign(campaign_id: CampaignId, service: CampaignServiceDep) -> CampaignRead:
    """Stop what is still queued; messages already handed to the provider are not recalled."""
    return _read(await service.cancel(campaign_id=campaign_id))


@router.post(
    "/{campaign_id}/retry-failed", status_code=status.HTTP_202_ACCEPTED, dependencies=[EmailBudget]
)
async def retry_failed(campaign_id: CampaignId, service: CampaignServiceDep) -> Requeued:
    """Queue the failed deliveries again (only those), each with a fresh attempt budget."""
    return Requeued(requeued=await service.retry_failed(campaign_id=campaign_id))


@router.get("/{campaign_id}/deliveries")
async def list_deliveries(
    campaign_id: CampaignId,
    params: Annotated[DeliveryListParams, Query()],
    service: CampaignServiceDep,
) -> Page[DeliveryRead]:
    """The per-recipient ledger, optionally one status (e.g. ``?status=failed``)."""
    result = await service.deliveries(
        campaign_id=campaign_id, status=params.status, limit=params.limit, cursor=params.cursor
    )
    return Page[DeliveryRead](
        items=[DeliveryRead.model_validate(d) for d in result.items],
        next_cursor=result.next_cursor,
    )


@emails_router.post("/send", status_code=status.HTTP_202_ACCEPTED, dependencies=[EmailBudget])
async def send_email(
    body: EmailSend, service: CampaignServiceDep, confirm: Confirm = False
) -> EmailSendAccepted:
    """Create and send a campaign in one call; returns its id and recipient count.

    More recipients than ``EVENTCRM_CAMPAIGN_CONFIRM_THRESHOLD`` need ``confirm=true``.
    """
    progress = await service.send_now(data=body, confirm=confirm)
    return EmailSendAccepted(
        campaign_id=progress.campaign.id,
        recipient_count=progress.campaign.recipient_count,
        status=progress.status,
    )
