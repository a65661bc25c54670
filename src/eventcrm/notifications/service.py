"""Queue transactional email in the transaction of the change that causes it (an outbox).

The events and registrations services call these methods while their unit of
work is open. Each call writes a transactional campaign and its deliveries in
that same transaction: if the change rolls back, no email exists; once it
commits, the worker sends it even if this process dies the next instant.
Transactional mail ignores the marketing opt-out and has no unsubscribe link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventcrm.campaigns.domain import (
    Audience,
    Campaign,
    CampaignKind,
    EventRegistrants,
    RecipientSelection,
    RegistrantsAudience,
    StoredStatus,
    UserIdsAudience,
    UsersById,
)
from eventcrm.campaigns.service import queue_campaign
from eventcrm.events.domain import Event
from eventcrm.kit.clock import Clock
from eventcrm.kit.ids import IdGenerator
from eventcrm.notifications.defaults import DEFAULTS, NotificationKind
from eventcrm.registrations.domain import RegistrationStatus, Role
from eventcrm.storage.ports import UnitOfWork
from eventcrm.templates.variables import event_variables

#: Who hears about a change to an event: everyone signed up, seated or waiting,
#: except the owner (who made the change).
_SIGNED_UP = (RegistrationStatus.REGISTERED.value, RegistrationStatus.WAITLISTED.value)
_GUESTS = (Role.ATTENDEE.value, Role.HOST.value)
#: Changes worth an email: when and where.
NOTIFIED_FIELDS = ("start_at", "end_at", "timezone", "venue")


class Notifications:
    def __init__(self, *, uow: UnitOfWork, clock: Clock, new_id: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._new_id = new_id

    async def registration_confirmed(self, *, event: Event, user_id: str) -> None:
        await self._queue(
            NotificationKind.REGISTRATION_CONFIRMED,
            event,
            UserIdsAudience((user_id,)),
            UsersById((user_id,)),
        )

    async def promoted_from_waitlist(self, *, event: Event, user_ids: Sequence[str]) -> None:
        if user_ids:
            ids = tuple(user_ids)
            await self._queue(
                NotificationKind.PROMOTED_FROM_WAITLIST, event, UserIdsAudience(ids), UsersById(ids)
            )

    async def event_updated(self, *, event: Event, changes: dict[str, Any]) -> None:
        """``changes``: field -> {"old": ..., "new": ...} (JSON values)."""
        await self._queue(NotificationKind.EVENT_UPDATED, event, *_guests(event), changes=changes)

    async def event_cancelled(self, *, event: Event) -> None:
        await self._queue(NotificationKind.EVENT_CANCELLED, event, *_guests(event))

    async def _queue(
        self,
        kind: NotificationKind,
        event: Event,
        audience: Audience,
        recipients: RecipientSelection,
        *,
        changes: dict[str, Any] | None = None,
    ) -> None:
        override = await self._uow.templates.get_by_name(kind.template_name)
        if override is not None:
            subject, html, text = override.subject, override.html, override.text
        else:
            default = DEFAULTS[kind]
            subject, html, text = default.subject, default.html, default.text
        context: dict[str, Any] = {"event": event_variables(event)}
        if changes is not None:
            context["changes"] = changes
        now = self._clock.now()
        campaign = Campaign(
            id=self._new_id(),
            name=f"{kind.value}: {event.title}"[:200],
            kind=CampaignKind.TRANSACTIONAL,
            status=StoredStatus.DRAFT,
            template_id=override.id if override is not None else None,
            subject=subject,
            html=html,
            text=text,
            audience=audience,
            event_id=event.id,
            created_at=now,
            updated_at=now,
            context=context,
        )
        await self._uow.campaigns.add(campaign)
        queued = await queue_campaign(self._uow, campaign=campaign, recipients=recipients, now=now)
        if queued.recipient_count == 0:  # nobody to tell: leave no empty campaign behind
            await self._uow.campaigns.delete(campaign.id)


def _guests(event: Event) -> tuple[RegistrantsAudience, EventRegistrants]:
    return (
        RegistrantsAudience(event.id, _SIGNED_UP, _GUESTS),
        EventRegistrants(event.id, _SIGNED_UP, _GUESTS),
    )
