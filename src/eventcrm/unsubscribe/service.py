"""Unsubscribing: set a contact's opt-out from a signed link, no login needed."""

from __future__ import annotations

from dataclasses import replace

from eventcrm.kit.clock import Clock
from eventcrm.storage.ports import UnitOfWork
from eventcrm.unsubscribe.errors import UnknownUnsubscribeLink
from eventcrm.unsubscribe.tokens import UnsubscribeLinks
from eventcrm.users.domain import User


class UnsubscribeService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock, links: UnsubscribeLinks) -> None:
        self._uow = uow
        self._clock = clock
        self._links = links

    async def check(self, *, token: str) -> User:
        """The link's contact, changing nothing (the page that asks to confirm)."""
        user_id = self._links.user_id(token)
        user = await self._uow.users.get(user_id) if user_id is not None else None
        if user is None:
            raise UnknownUnsubscribeLink()
        return user

    async def unsubscribe(self, *, token: str) -> User:
        """Opt the link's contact out of campaign email (idempotent)."""
        user = await self.check(token=token)
        if not user.email_opt_out:
            user = replace(
                user,
                email_opt_out=True,
                updated_at=self._clock.now(),
                updated_by="unsubscribe link",
            )
            await self._uow.users.replace(user)
        return user
