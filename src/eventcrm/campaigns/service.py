"""Use cases of campaigns: draft, send (freeze the audience), follow, cancel, retry."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from eventcrm.access.domain import Actor, Role
from eventcrm.access.policy import ContactPrivacy, manages, require_writer
from eventcrm.campaigns.domain import (
    FINAL_DELIVERY_STATUSES,
    PREDEFINED_SUBJECT,
    PREDEFINED_TEXT,
    Audience,
    Campaign,
    CampaignKind,
    CampaignProgress,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    EventRegistrants,
    FilterAudience,
    RecipientSelection,
    RegistrantsAudience,
    SegmentAudience,
    StoredStatus,
    UserIdsAudience,
    UsersById,
    UsersMatching,
)
from eventcrm.campaigns.errors import (
    CampaignNotFound,
    CampaignStateConflict,
    ConfirmationRequired,
    InvalidAudience,
    PredefinedTemplateMissing,
    RecipientLimitReached,
)
from eventcrm.campaigns.outbox import queue_campaign
from eventcrm.campaigns.schemas import AudienceIn, CampaignCreate, EmailSend
from eventcrm.errors import FieldProblem, Forbidden, InvalidInput
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.filter_schema import filter_json
from eventcrm.kit.filters import Condition, Op, parse_filter
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, page_in_order
from eventcrm.kit.rate_limits import DailyRecipientQuota
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import RegistrationStatus
from eventcrm.registrations.domain import Role as EventRole
from eventcrm.segments.domain import segment_filter
from eventcrm.storage.ports import UnitOfWork
from eventcrm.templates.rendering import compile_message
from eventcrm.templates.variables import event_variables
from eventcrm.users.domain import FILTER_FIELDS

_NEWEST_FIRST = (SortKey("created_at", descending=True),)
_BY_ID: tuple[SortKey, ...] = ()  # the id tie-breaker alone


def progress_of(
    campaign: Campaign, counts: dict[DeliveryStatus, int], now: datetime
) -> CampaignProgress:
    total = sum(counts.values())
    final = sum(n for s, n in counts.items() if s in FINAL_DELIVERY_STATUSES)
    active = total - final
    eta: datetime | None = None
    if campaign.status is StoredStatus.DRAFT:
        status = CampaignStatus.DRAFT
    elif campaign.status is StoredStatus.CANCELLED:
        status = CampaignStatus.CANCELLED
    elif active == 0:
        status = CampaignStatus.COMPLETED
    elif (
        campaign.scheduled_at is not None
        and campaign.scheduled_at > now
        and counts[DeliveryStatus.QUEUED] == active
        and final == counts[DeliveryStatus.SKIPPED]
    ):
        status = CampaignStatus.SCHEDULED
    else:
        status = CampaignStatus.SENDING
        started = max(filter(None, (campaign.queued_at, campaign.scheduled_at)), default=now)
        elapsed = (now - started).total_seconds()
        done = counts[DeliveryStatus.SENT] + counts[DeliveryStatus.FAILED]
        if done > 0 and elapsed > 0:
            eta = now + (now - started) * (active / done)
    return CampaignProgress(
        campaign=campaign,
        counts=counts,
        status=status,
        progress=round(final / total, 4) if total else float(status is CampaignStatus.COMPLETED),
        estimated_finish_at=eta,
    )


class CampaignService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        new_id: IdGenerator,
        cursors: CursorCodec,
        actor: Actor,
        privacy: ContactPrivacy,
        confirm_threshold: int | None = None,
        recipient_quota: DailyRecipientQuota | None = None,
        predefined_template: str | None = None,
    ) -> None:
        self._actor = actor
        self._privacy = privacy
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._cursors = cursors
        #: A send to more recipients than this needs ``confirm=True``.
        self._confirm_threshold = confirm_threshold
        #: Organizers' recipients per day (a leaked key cannot mail everyone).
        self._recipient_quota = recipient_quota
        #: The template ``send_predefined`` sends (by name); None: the built-in message.
        self._predefined_template = predefined_template

    async def create(self, *, data: CampaignCreate) -> CampaignProgress:
        self._check_sender(data.audience)
        audience = await self._audience(data.audience, loc=("body", "audience"))
        event_id = data.event_id
        if event_id is not None:
            await self._check_event(event_id, ("body", "eventId"))
        elif isinstance(audience, RegistrantsAudience):
            event_id = audience.event_id
        campaign = await self._draft(
            data=data, name=data.name, audience=audience, id=data.id, event_id=event_id
        )
        counts = await self._uow.deliveries.counts(campaign.id)
        return progress_of(campaign, counts, campaign.created_at)

    async def send_now(self, *, data: EmailSend, confirm: bool = False) -> CampaignProgress:
        """Create a campaign and send it: the one-call ``POST /emails/send``."""
        audience_in = AudienceIn.model_validate(
            {
                key: getattr(data, key)
                for key in ("user_ids", "filter", "segment_id", "event_id", "statuses", "roles")
                if key in data.model_fields_set
            }
        )
        self._check_sender(audience_in)
        audience = await self._audience(audience_in, loc=("body",))
        now = self._clock.now()
        name = data.name or f"Email of {now:%Y-%m-%d %H:%M:%S} UTC"
        event_id = audience.event_id if isinstance(audience, RegistrantsAudience) else None
        campaign = await self._draft(
            data=data, name=name, audience=audience, id=None, event_id=event_id
        )
        return await self.send(
            campaign_id=campaign.id, scheduled_at=data.scheduled_at, confirm=confirm
        )

    async def send_predefined(
        self, *, user_ids: list[str], confirm: bool = False
    ) -> CampaignProgress:
        """Send the predefined email to these contacts (the seeds' ``send_email``):
        ``send_now`` with the configured template, or the built-in message."""
        require_writer(self._actor, "send email")
        message: dict[str, str] = {"subject": PREDEFINED_SUBJECT, "text": PREDEFINED_TEXT}
        if self._predefined_template is not None:
            template = await self._uow.templates.get_by_name(self._predefined_template)
            if template is None:
                raise PredefinedTemplateMissing(self._predefined_template)
            message = {"template_id": template.id}
        data = EmailSend.model_validate({**message, "user_ids": user_ids})
        return await self.send_now(data=data, confirm=confirm)

    async def get(self, *, campaign_id: str) -> CampaignProgress:
        campaign = await self._get(campaign_id)
        counts = await self._uow.deliveries.counts(campaign_id)
        return progress_of(campaign, counts, self._clock.now())

    async def list(
        self, *, kind: CampaignKind | None, limit: int, cursor: str | None
    ) -> ListResult[CampaignProgress]:
        repo = self._uow.campaigns
        event_ids = None
        if self._actor.role is Role.ORGANIZER:
            event_ids = await self._uow.registrations.managed_by(self._actor.user_id or "")

        page = await page_in_order(
            lambda limit, after: repo.list(
                kind=kind, limit=limit, after=after, event_ids=event_ids
            ),
            cursors=self._cursors,
            listing="campaigns",
            sort=_NEWEST_FIRST,
            limit=limit,
            cursor=cursor,
        )
        now = self._clock.now()
        items = [
            progress_of(c, await self._uow.deliveries.counts(c.id), now)
            for c in page.items
            if await self._reaches(c)
        ]
        return ListResult(items, page.next_cursor)

    async def send(
        self, *, campaign_id: str, scheduled_at: datetime | None, confirm: bool = False
    ) -> CampaignProgress:
        campaign = await self._get(campaign_id, write="send campaigns")
        if campaign.status is not StoredStatus.DRAFT:
            raise CampaignStateConflict(
                f"Campaign {campaign_id!r} was already sent or cancelled; only a draft can be sent."
            )
        now = self._clock.now()
        if campaign.template_id is not None:
            template = await self._uow.templates.get(campaign.template_id)
            if template is None:  # deleted in a race with this request
                raise CampaignStateConflict("The campaign's template no longer exists.")
            # The campaign keeps its own copy: editing the template mid-send
            # must not give one audience two different messages.
            campaign = replace(
                campaign, subject=template.subject, html=template.html, text=template.text
            )
        if campaign.event_id is not None:
            event = await self._uow.events.get(campaign.event_id)
            if event is None:
                raise CampaignStateConflict(
                    f"The campaign's event {campaign.event_id!r} was deleted."
                )
            # The event as it is when the campaign goes out, the same for everyone.
            campaign = replace(
                campaign, context={**campaign.context, "event": event_variables(event)}
            )
        if campaign.subject is None:
            raise CampaignStateConflict(
                "The campaign has no message: its template was deleted. Delete the draft and "
                "create it again."
            )
        queued = await queue_campaign(
            self._uow,
            campaign=campaign,
            recipients=await self._recipients(campaign.audience),
            now=now,
            scheduled_at=scheduled_at,
        )
        # Counted by the database as it froze the audience; refusing here rolls
        # the whole send back (the boundary owns the transaction).
        count = queued.recipient_count or 0
        threshold = self._confirm_threshold
        if threshold is not None and count > threshold and not confirm:
            raise ConfirmationRequired(recipients=count, threshold=threshold)
        await self._take_recipients(count)
        return progress_of(queued, await self._uow.deliveries.counts(campaign_id), now)

    async def cancel(self, *, campaign_id: str) -> CampaignProgress:
        campaign = await self._get(campaign_id, write="cancel campaigns")
        now = self._clock.now()
        # Again on a cancelled campaign: releases claims abandoned since.
        await self._uow.deliveries.cancel_queued(campaign_id=campaign_id, now=now)
        if campaign.status is not StoredStatus.CANCELLED:
            campaign = replace(
                campaign, status=StoredStatus.CANCELLED, cancelled_at=now, updated_at=now
            )
            await self._uow.campaigns.replace(campaign)
        return progress_of(campaign, await self._uow.deliveries.counts(campaign_id), now)

    async def retry_failed(self, *, campaign_id: str) -> int:
        campaign = await self._get(campaign_id, write="retry campaigns")
        if campaign.status is not StoredStatus.QUEUED:
            raise CampaignStateConflict(
                f"Campaign {campaign_id!r} is {campaign.status}; only a sent, not cancelled "
                "campaign can retry its failed deliveries."
            )
        failed = (await self._uow.deliveries.counts(campaign_id))[DeliveryStatus.FAILED]
        await self._take_recipients(failed)
        return await self._uow.deliveries.requeue_failed(
            campaign_id=campaign_id, now=self._clock.now()
        )

    async def delete(self, *, campaign_id: str) -> None:
        campaign = await self._get(campaign_id, write="delete campaigns")
        if campaign.status is not StoredStatus.DRAFT:
            raise CampaignStateConflict(
                "Only a draft can be deleted; a sent campaign's ledger is kept (cancel it instead)."
            )
        await self._uow.campaigns.delete(campaign_id)

    async def deliveries(
        self,
        *,
        campaign_id: str,
        status: DeliveryStatus | None,
        limit: int,
        cursor: str | None,
    ) -> ListResult[Delivery]:
        await self._get(campaign_id)
        repo = self._uow.deliveries

        page = await page_in_order(
            lambda limit, after: repo.list(
                campaign_id=campaign_id, status=status, limit=limit, after=after
            ),
            cursors=self._cursors,
            listing=f"campaigns/{campaign_id}/deliveries",
            sort=_BY_ID,
            limit=limit,
            cursor=cursor,
        )
        if self._privacy.sees_all:
            return page
        # A deleted contact's delivery keeps its address but no longer names anyone.
        visible = await self._privacy.visible(
            self._uow, (d.user_id for d in page.items if d.user_id is not None)
        )
        return replace(
            page,
            items=[d if d.user_id in visible else replace(d, email="") for d in page.items],
        )

    async def _take_recipients(self, count: int) -> None:
        """An organizer's sends come out of its daily recipient quota (an
        administrator's do not)."""
        actor, quota = self._actor, self._recipient_quota
        if actor.role is not Role.ORGANIZER or quota is None:
            return
        retry_after = await quota.take(caller=actor.id, count=count)
        if retry_after is not None:
            raise RecipientLimitReached(
                recipients=count, per_day=quota.per_day, retry_after=retry_after
            )

    async def _get(self, campaign_id: str, *, write: str | None = None) -> Campaign:
        """The campaign, if the actor reaches it (and, for ``write``, may change it)."""
        if write is not None:
            require_writer(self._actor, write)
        campaign = await self._uow.campaigns.get(campaign_id)
        if campaign is None or not await self._reaches(campaign):
            raise CampaignNotFound(campaign_id)
        return campaign

    async def _reaches(self, campaign: Campaign) -> bool:
        """Organizers reach the campaigns to the participants of an event they manage."""
        if self._actor.role is not Role.ORGANIZER:
            return True
        audience = campaign.audience
        if not isinstance(audience, RegistrantsAudience) or campaign.event_id not in (
            None,
            audience.event_id,
        ):
            return False
        event = await self._uow.events.get(audience.event_id)
        return event is not None and manages(self._actor, event)

    def _check_sender(self, audience: AudienceIn | EmailSend) -> None:
        """Organizers write to their events' participants only; viewers write nothing."""
        require_writer(self._actor, "send email")
        if self._actor.role is Role.ORGANIZER and (
            audience.event_id is None or "filter" in audience.model_fields_set
        ):
            raise Forbidden(
                "An organizer sends only to the participants of its events: set eventId."
            )

    async def _draft(
        self,
        *,
        data: CampaignCreate | EmailSend,
        name: str,
        audience: Audience,
        id: str | None,
        event_id: str | None,
    ) -> Campaign:
        if data.template_id is not None:
            if await self._uow.templates.get(data.template_id) is None:
                message = f"No email template with id {data.template_id!r}."
                raise InvalidInput(
                    message, [FieldProblem(("body", "templateId"), message, "template_not_found")]
                )
        else:
            await compile_message(subject=data.subject or "", html=data.html, text=data.text)
        now = self._clock.now()
        campaign = Campaign(
            id=id or self._new_id(),
            name=name,
            kind=CampaignKind.CAMPAIGN,
            status=StoredStatus.DRAFT,
            template_id=data.template_id,
            subject=data.subject,
            html=data.html or None,
            text=data.text or None,
            audience=audience,
            event_id=event_id,
            created_at=now,
            updated_at=now,
            created_by=self._actor.label,
            updated_by=self._actor.label,
        )
        await self._uow.campaigns.add(campaign)
        return campaign

    async def _audience(self, data: AudienceIn, *, loc: tuple[str, ...]) -> Audience:
        if "filter" in data.model_fields_set:
            return FilterAudience(filter_json(data.filter))
        if data.event_id is not None:
            await self._check_event(data.event_id, (*loc, "eventId"))
            statuses = data.statuses or [RegistrationStatus.REGISTERED]
            roles = data.roles or list(EventRole)
            return RegistrantsAudience(
                data.event_id,
                tuple(dict.fromkeys(str(s) for s in statuses)),
                tuple(dict.fromkeys(str(r) for r in roles)),
            )
        if data.segment_id is not None:
            if await self._uow.segments.get(data.segment_id) is None:
                raise InvalidAudience(
                    f"No segment with id {data.segment_id!r}.", (*loc, "segmentId")
                )
            return SegmentAudience(data.segment_id)
        assert data.user_ids is not None
        ids = tuple(dict.fromkeys(data.user_ids))
        page = await self._uow.users.list(
            where=Condition("id", Op.IN, ids), sort=(), limit=len(ids)
        )
        missing = sorted(set(ids) - {u.id for u in page.items})
        if missing:
            shown = ", ".join(repr(m) for m in missing[:10])
            raise InvalidAudience(f"Unknown user ids: {shown}.", (*loc, "userIds"))
        return UserIdsAudience(ids)

    async def _check_event(self, event_id: str, loc: tuple[str, ...]) -> None:
        event = await self._uow.events.get(event_id)
        # Another organizer's event reads as no event at all.
        if event is None or not manages(self._actor, event):
            raise InvalidAudience(f"No event with id {event_id!r}.", loc)

    async def _recipients(self, audience: Audience) -> RecipientSelection:
        if isinstance(audience, UserIdsAudience):
            return UsersById(audience.user_ids)
        if isinstance(audience, RegistrantsAudience):
            return EventRegistrants(audience.event_id, audience.statuses, audience.roles)
        if isinstance(audience, FilterAudience):
            try:
                return UsersMatching(parse_filter(audience.filter, fields=FILTER_FIELDS))
            except InvalidInput as exc:  # saved before a rule it breaks existed
                raise CampaignStateConflict(
                    f"The campaign's filter is no longer accepted ({exc.errors[0].message}); "
                    "replace its audience."
                ) from None
        segment = await self._uow.segments.get(audience.segment_id)
        if segment is None:
            raise CampaignStateConflict(
                f"The campaign's segment {audience.segment_id!r} was deleted; the audience is gone."
            )
        return UsersMatching(segment_filter(segment))
