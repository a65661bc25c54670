"""What a use case needs to tell people about a change: the ``Notifier`` port.

Events, registrations and users type against this Protocol; the dependency
module (``eventcrm.api.services``) hands them the outbox implementation
(``eventcrm.notifications.service.Notifications``), so none of them imports
the mail machinery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventcrm.events.domain import Event

#: Changes worth an email: when and where.
NOTIFIED_FIELDS = ("start_at", "end_at", "timezone", "venue")


class Notifier(Protocol):
    """Queue transactional mail in the caller's transaction: gone if it rolls back."""

    async def registration_confirmed(self, *, event: Event, user_ids: Sequence[str]) -> None:
        """One message for everyone who just took a seat (a batch of registrations)."""
        ...

    async def promoted_from_waitlist(self, *, event: Event, user_ids: Sequence[str]) -> None: ...

    async def event_updated(self, *, event: Event, changes: dict[str, Any]) -> None:
        """``changes``: field -> {"old": ..., "new": ...} (JSON values)."""
        ...

    async def event_cancelled(self, *, event: Event) -> None: ...
