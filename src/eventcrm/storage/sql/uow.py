"""The SQL unit of work: one connection, one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
from eventcrm.storage.sql.api_keys import SqlApiKeyRepository
from eventcrm.storage.sql.campaigns import SqlCampaignRepository, SqlDeliveryRepository
from eventcrm.storage.sql.categories import SqlCategoryRepository
from eventcrm.storage.sql.engine import WRITE_OPTION, unreachable_as_unavailable
from eventcrm.storage.sql.events import SqlEventRepository
from eventcrm.storage.sql.idempotency import SqlIdempotencyRepository
from eventcrm.storage.sql.registrations import SqlRegistrationRepository
from eventcrm.storage.sql.templates import SqlSegmentRepository, SqlTemplateRepository
from eventcrm.storage.sql.users import SqlUserRepository

log = structlog.get_logger(__name__)


class SqlUnitOfWork:
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

    def __init__(self, engine: AsyncEngine, *, write: bool) -> None:
        self._engine = engine
        self._write = write
        self._conn: AsyncConnection | None = None
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> SqlUnitOfWork:
        with unreachable_as_unavailable():
            conn = await self._engine.connect()
            try:
                if self._write:
                    conn = await conn.execution_options(**{WRITE_OPTION: True})
                await conn.begin()
            except BaseException:
                await conn.close()
                raise
        self._conn = conn
        self.api_keys = SqlApiKeyRepository(conn)
        self.users = SqlUserRepository(conn)
        self.categories = SqlCategoryRepository(conn)
        self.events = SqlEventRepository(conn)
        self.registrations = SqlRegistrationRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.templates = SqlTemplateRepository(conn)
        self.segments = SqlSegmentRepository(conn)
        self.campaigns = SqlCampaignRepository(conn)
        self.deliveries = SqlDeliveryRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()
            self._after_commit.clear()

    async def commit(self) -> None:
        assert self._conn is not None
        with unreachable_as_unavailable():
            await self._conn.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the data is committed; a hook must not undo the response
                log.exception("after_commit_failed", callback=repr(callback))

    async def rollback(self) -> None:
        assert self._conn is not None
        await self._conn.rollback()
        self._after_commit.clear()

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)
