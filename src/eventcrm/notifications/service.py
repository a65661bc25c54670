"""The ``Notifier`` (``ports.py``) as transactional email queued in the outbox.

The events, registrations and users services call these methods while their
unit of work is open; each call picks the message (a stored template override
or the default), the people to tell and the event's variables, and hands them
to ``eventcrm.campaigns.outbox``, which writes the message and its deliveries
in that same transaction. Transactional mail ignores the marketing opt-out and
has no unsubscribe link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventcrm.campaigns.domain import (
    Audience,
    EventRegistrants,
    RecipientSelection,
    RegistrantsAudience,
    UserIdsAudience,
    UsersById,
)
from eventcrm.campaigns.outbox import queue_transactional
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


class Notifications:
    """Implements ``eventcrm.notifications.ports.Notifier``."""

    def __init__(self, *, uow: UnitOfWork, clock: Clock, new_id: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._new_id = new_id

    async def registration_confirmed(self, *, event: Event, user_ids: Sequence[str]) -> None:
        if user_ids:
            ids = tuple(user_ids)
            await self._queue(
                NotificationKind.REGISTRATION_CONFIRMED, event, UserIdsAudience(ids), UsersById(ids)
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
        default = DEFAULTS[kind]
        context: dict[str, Any] = {"event": event_variables(event)}
        if changes is not None:
            context["changes"] = changes
        # A stored template named notification:<kind> overrides the default; the
        # outbox reads it inside its INSERT (no round trip of its own).
        await queue_transactional(
            self._uow,
            campaign_id=self._new_id(),
            name=f"{kind.value}: {event.title}",
            template_name=kind.template_name,
            subject=default.subject,
            html=default.html,
            text=default.text,
            audience=audience,
            recipients=recipients,
            event_id=event.id,
            context=context,
            now=self._clock.now(),
        )


def _guests(event: Event) -> tuple[RegistrantsAudience, EventRegistrants]:
    return (
        RegistrantsAudience(event.id, _SIGNED_UP, _GUESTS),
        EventRegistrants(event.id, _SIGNED_UP, _GUESTS),
    )
