"""Every feature's service, built per request in one place, as Annotated aliases.

Routers declare ``service: EventServiceDep`` and never construct a service. The
services share the request's unit of work (``UnitOfWorkDep``); collaborators a
use case reaches through a port, such as the ``Notifier``, are chosen here,
so no feature's service imports another feature's service. Tests can replace
any of these with ``app.dependency_overrides``.

Each takes as few sub-dependencies as it can (the container is read from the
request, the notifier built here): FastAPI walks every sub-dependency's tree
again at each reference, even when its value is cached for the request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from eventcrm.access.domain import Actor
from eventcrm.access.policy import ContactPrivacy
from eventcrm.access.service import ApiKeyService
from eventcrm.api.auth import ActorDep
from eventcrm.api.deps import (
    RequestTransaction,
    TransactionDep,
    UnitOfWorkDep,
    container_of,
)
from eventcrm.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from eventcrm.campaigns.service import CampaignService
from eventcrm.categories.service import CategoryService
from eventcrm.container import Container
from eventcrm.events.service import EventService
from eventcrm.notifications.ports import Notifier
from eventcrm.notifications.service import Notifications
from eventcrm.registrations.domain import NewContact, Registration, Role
from eventcrm.registrations.service import RegistrationService
from eventcrm.segments.service import SegmentService
from eventcrm.storage.ports import UnitOfWork
from eventcrm.templates.service import TemplateService
from eventcrm.unsubscribe.service import UnsubscribeService
from eventcrm.users.service import UserService


def notifier_for(uow: UnitOfWork, container: Container) -> Notifier:
    """Transactional mail, queued in the request's transaction (the outbox)."""
    return Notifications(uow=uow, clock=container.clock, new_id=container.new_id)


def _privacy(actor: Actor, container: Container) -> ContactPrivacy:
    return ContactPrivacy(actor, viewers_see_details=container.settings.viewer_sees_contact_details)


async def get_user_service(uow: UnitOfWorkDep, actor: ActorDep, request: Request) -> UserService:
    container = container_of(request)
    return UserService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        cursors=container.cursors,
        phone_region=container.settings.default_phone_region,
        notifier=notifier_for(uow, container),
        actor=actor,
        privacy=_privacy(actor, container),
        on_deleted=lambda user_id: container.authenticator.forget(user_id=user_id),
    )


async def get_category_service(
    uow: UnitOfWorkDep, actor: ActorDep, request: Request
) -> CategoryService:
    container = container_of(request)
    return CategoryService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        cursors=container.cursors,
        actor=actor,
    )


async def get_event_service(uow: UnitOfWorkDep, actor: ActorDep, request: Request) -> EventService:
    container = container_of(request)
    return EventService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        cursors=container.cursors,
        notifier=notifier_for(uow, container),
        actor=actor,
        cache=container.event_cache,
    )


async def get_registration_service(
    uow: UnitOfWorkDep, actor: ActorDep, request: Request
) -> RegistrationService:
    return _registration_service(uow, container_of(request), actor)


def _registration_service(
    uow: UnitOfWork, container: Container, actor: Actor
) -> RegistrationService:
    return RegistrationService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        phone_region=container.settings.default_phone_region,
        cursors=container.cursors,
        notifier=notifier_for(uow, container),
        actor=actor,
        privacy=_privacy(actor, container),
    )


class RegistrationDesk:
    """``POST /events/{id}/registrations``: where a registration is taken.

    An attendee named by id, sent without an ``Idempotency-Key``, joins the
    event's next batch (``container.registrations``), which owns its
    transaction: the request's own unit of work is never opened. Anything else
    — a host, a person named by email (who may be created), a request whose
    response is to be stored under its key — runs as before in the request's
    unit of work, opened only then.
    """

    def __init__(
        self,
        *,
        transaction: RequestTransaction,
        container: Container,
        actor: Actor,
        batchable: bool,
    ) -> None:
        self._transaction = transaction
        self._container = container
        self._actor = actor
        self._batchable = batchable

    async def register(
        self, *, event_id: str, user_id: str | NewContact, role: Role
    ) -> Registration:
        if self._batchable and role is Role.ATTENDEE and isinstance(user_id, str):
            batcher = self._container.registrations
            return await batcher.register(event_id=event_id, user_id=user_id, actor=self._actor)
        uow = await self._transaction.open()
        service = _registration_service(uow, self._container, self._actor)
        return await service.register(event_id=event_id, user_id=user_id, role=role)


async def get_registration_desk(
    request: Request, transaction: TransactionDep, actor: ActorDep
) -> RegistrationDesk:
    # A response stored under an Idempotency-Key is written in the request's unit of
    # work (api/idempotency.py), so such a request is not batched.
    batchable = IDEMPOTENCY_HEADER not in request.headers
    return RegistrationDesk(
        transaction=transaction, container=container_of(request), actor=actor, batchable=batchable
    )


async def get_template_service(
    uow: UnitOfWorkDep, actor: ActorDep, request: Request
) -> TemplateService:
    container = container_of(request)
    return TemplateService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        cursors=container.cursors,
        unsubscribe=container.unsubscribe,
        render_limits=container.render_limits,
        actor=actor,
        privacy=_privacy(actor, container),
    )


async def get_segment_service(
    uow: UnitOfWorkDep, actor: ActorDep, request: Request
) -> SegmentService:
    container = container_of(request)
    return SegmentService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        cursors=container.cursors,
        actor=actor,
        privacy=_privacy(actor, container),
    )


async def get_campaign_service(
    uow: UnitOfWorkDep, actor: ActorDep, request: Request
) -> CampaignService:
    container = container_of(request)
    return CampaignService(
        uow=uow,
        clock=container.clock,
        new_id=container.new_id,
        cursors=container.cursors,
        actor=actor,
        confirm_threshold=container.settings.campaign_confirm_threshold,
        recipient_quota=container.recipient_quota,
        privacy=_privacy(actor, container),
        predefined_template=container.settings.predefined_email_template,
    )


async def get_unsubscribe_service(uow: UnitOfWorkDep, request: Request) -> UnsubscribeService:
    container = container_of(request)
    return UnsubscribeService(uow=uow, clock=container.clock, links=container.unsubscribe)


async def get_api_key_service(uow: UnitOfWorkDep, request: Request) -> ApiKeyService:
    container = container_of(request)
    return ApiKeyService(
        uow=uow,
        clock=container.clock,
        cursors=container.cursors,
        on_revoked=lambda prefix: container.authenticator.forget(prefix=prefix),
    )


ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_api_key_service)]
UserServiceDep = Annotated[UserService, Depends(get_user_service)]
CategoryServiceDep = Annotated[CategoryService, Depends(get_category_service)]
EventServiceDep = Annotated[EventService, Depends(get_event_service)]
RegistrationServiceDep = Annotated[RegistrationService, Depends(get_registration_service)]
RegistrationDeskDep = Annotated[RegistrationDesk, Depends(get_registration_desk)]
TemplateServiceDep = Annotated[TemplateService, Depends(get_template_service)]
SegmentServiceDep = Annotated[SegmentService, Depends(get_segment_service)]
CampaignServiceDep = Annotated[CampaignService, Depends(get_campaign_service)]
UnsubscribeServiceDep = Annotated[UnsubscribeService, Depends(get_unsubscribe_service)]
