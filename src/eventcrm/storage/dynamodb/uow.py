"""The DynamoDB unit of work: a Session (buffered writes, one transaction at commit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

import structlog

from eventcrm.storage.dynamodb.api_keys import DynamoApiKeyRepository
from eventcrm.storage.dynamodb.campaigns import DynamoCampaignRepository, DynamoDeliveryRepository
from eventcrm.storage.dynamodb.events import DynamoEventRepository
from eventcrm.storage.dynamodb.idempotency import DynamoIdempotencyRepository
from eventcrm.storage.dynamodb.named import (
    DynamoCategoryRepository,
    DynamoSegmentRepository,
    DynamoTemplateRepository,
)
from eventcrm.storage.dynamodb.registrations import DynamoRegistrationRepository
from eventcrm.storage.dynamodb.session import Db, Session
from eventcrm.storage.dynamodb.users import DynamoUserRepository
from eventcrm.storage.ports import (
    ApiKeyRepository,
    CampaignRepository,
    CategoryRepository,
    DeliveryRepository,
    EventRepository,
    IdempotencyRepository,
    RegistrationRepository,
    SegmentRepository,
    TemplateRepository,
    UserRepository,
)

log = structlog.get_logger(__name__)


class DynamoUnitOfWork:
    api_keys: ApiKeyRepository
    users: UserRepository
    categories: CategoryRepository
    events: EventRepository
    registrations: RegistrationRepository
    idempotency: IdempotencyRepository
    templates: TemplateRepository
    segments: SegmentRepository
    campaigns: CampaignRepository
    deliveries: DeliveryRepository

    def __init__(self, db: Db, *, write: bool) -> None:
        self._session = Session(db)
        self._write = write
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        s = self._session
        self.api_keys = DynamoApiKeyRepository(s)
        self.users = DynamoUserRepository(s)
        self.categories = DynamoCategoryRepository(s)
        self.events = DynamoEventRepository(s)
        self.registrations = DynamoRegistrationRepository(s)
        self.idempotency = DynamoIdempotencyRepository(s)
        self.templates = DynamoTemplateRepository(s)
        self.segments = DynamoSegmentRepository(s)
        self.campaigns = DynamoCampaignRepository(s)
        self.deliveries = DynamoDeliveryRepository(s)

    async def __aenter__(self) -> DynamoUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._session.discard()
        self._after_commit.clear()
        await self._session.release_leases()

    async def commit(self) -> None:
        try:
            await self._session.commit()
        except BaseException:
            await self._session.release_leases()
            raise
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the data is committed; a hook must not undo the response
                log.exception("after_commit_failed", callback=repr(callback))

    async def rollback(self) -> None:
        self._session.discard()
        self._after_commit.clear()
        await self._session.release_leases()

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)
