"""Use cases of email templates."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from eventcrm.access.domain import Actor
from eventcrm.access.policy import ContactPrivacy, require_admin, sees_event
from eventcrm.errors import Forbidden
from eventcrm.events.errors import EventNotFound
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, page_in_order
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.ports import UnitOfWork
from eventcrm.templates.domain import EmailTemplate
from eventcrm.templates.errors import (
    TemplateInUse,
    TemplateLimitExceeded,
    TemplateNotFound,
    TemplateRenderFailed,
)
from eventcrm.templates.rendering import (
    RenderedContent,
    RenderError,
    RenderLimitExceeded,
    RenderLimits,
    compile_message,
)
from eventcrm.templates.schemas import TemplateCreate, TemplateReplace
from eventcrm.templates.variables import event_variables, message_variables
from eventcrm.unsubscribe.tokens import UnsubscribeLinks
from eventcrm.users.errors import UserNotFound

_BY_NAME = (SortKey("name"),)


class TemplateService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        new_id: IdGenerator,
        cursors: CursorCodec,
        unsubscribe: UnsubscribeLinks,
        actor: Actor,
        privacy: ContactPrivacy,
        render_limits: RenderLimits | None = None,
    ) -> None:
        self._actor = actor
        self._privacy = privacy
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._cursors = cursors
        self._unsubscribe = unsubscribe
        self._limits = render_limits or RenderLimits()

    async def create(self, *, data: TemplateCreate) -> EmailTemplate:
        # Templates are shared by every campaign and notification: administrators keep them.
        require_admin(self._actor, "create email templates")
        await compile_message(subject=data.subject, html=data.html, text=data.text)
        now = self._clock.now()
        template = EmailTemplate(
            id=data.id or self._new_id(),
            name=data.name,
            subject=data.subject,
            html=data.html or None,
            text=data.text or None,
            created_at=now,
            updated_at=now,
            created_by=self._actor.label,
            updated_by=self._actor.label,
        )
        await self._uow.templates.add(template)
        return template

    async def get(self, *, template_id: str) -> EmailTemplate:
        template = await self._uow.templates.get(template_id)
        if template is None:
            raise TemplateNotFound(template_id)
        return template

    async def list(self, *, limit: int, cursor: str | None) -> ListResult[EmailTemplate]:
        repo = self._uow.templates

        return await page_in_order(
            lambda limit, after: repo.list(limit=limit, after=after),
            cursors=self._cursors,
            listing="email-templates",
            sort=_BY_NAME,
            limit=limit,
            cursor=cursor,
        )

    async def replace(self, *, template_id: str, data: TemplateReplace) -> EmailTemplate:
        require_admin(self._actor, "change email templates")
        current = await self.get(template_id=template_id)
        await compile_message(subject=data.subject, html=data.html, text=data.text)
        updated = replace(
            current,
            name=data.name,
            subject=data.subject,
            html=data.html or None,
            text=data.text or None,
            updated_at=self._clock.now(),
            updated_by=self._actor.label,
        )
        await self._uow.templates.replace(updated)
        return updated

    async def delete(self, *, template_id: str) -> None:
        require_admin(self._actor, "delete email templates")
        await self.get(template_id=template_id)
        if await self._uow.campaigns.uses_template_unsent(template_id):
            raise TemplateInUse(template_id)
        await self._uow.templates.delete(template_id)

    async def preview(
        self, *, template_id: str, user_id: str, event_id: str | None = None
    ) -> RenderedContent:
        template = await self.get(template_id=template_id)
        user = await self._uow.users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        if user.id not in await self._privacy.visible(self._uow, [user.id]):
            # The rendered message shows the recipient's email address.
            raise Forbidden("Preview for a contact whose details you may see.")
        context: dict[str, Any] = {}
        if event_id is not None:
            event = await self._uow.events.get(event_id)
            if event is None or not sees_event(self._actor, event):
                raise EventNotFound(event_id)
            context["event"] = event_variables(event)
        compiled = await compile_message(
            subject=template.subject, html=template.html, text=template.text
        )
        variables = message_variables(
            user=user, unsubscribe_url=self._unsubscribe.url(user.id), context=context
        )
        try:
            # In a thread: a render may take up to the limits' timeout of CPU.
            return await asyncio.to_thread(compiled.render, variables, limits=self._limits)
        except RenderLimitExceeded as exc:
            raise TemplateLimitExceeded(exc.limit, str(exc)) from None
        except RenderError as exc:
            raise TemplateRenderFailed(str(exc)) from None
