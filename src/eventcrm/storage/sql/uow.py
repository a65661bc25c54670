"""The SQL unit of work: one connection, one transaction for a write; for a
read, a pooled connection per statement and no transaction at all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, cast

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventcrm.storage.ports import (
    ApiKeyRepository,
    CampaignRepository,
    CategoryRepository,
    DeliveryRepository,
    EventChangeListener,
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
from eventcrm.storage.sql.changes import CHANGES_OPTION, ChangeRecorder
from eventcrm.storage.sql.engine import READ_OPTION, WRITE_OPTION, unreachable_as_unavailable
from eventcrm.storage.sql.events import SqlEventRepository
from eventcrm.storage.sql.idempotency import SqlIdempotencyRepository
from eventcrm.storage.sql.registrations import SqlRegistrationRepository
from eventcrm.storage.sql.templates import SqlSegmentRepository, SqlTemplateRepository
from eventcrm.storage.sql.users import SqlUserRepository

log = structlog.get_logger(__name__)


class _ReadConnection:
    """What a read unit of work's repositories use as their connection: each
    statement checks a connection out of the pool, runs on its own with no
    BEGIN/COMMIT round trips around it, and gives the connection back as soon as
    its rows are fetched (results are buffered). A request answered from the
    cache never takes one, and a slow request — serializing, waiting on the
    network — holds none: at 64 connections in flight a pool of 10 kept every
    connection checked out until each request ended, and the overflow opened
    and closed a PostgreSQL connection per request (docs/benchmarks.md). Reads
    are as consistent as before: each statement already saw its own snapshot.
    Repositories only ``execute``, ``scalar`` and read ``dialect`` when reading."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.dialect = engine.dialect
        options: dict[str, Any] = {READ_OPTION: True}
        if self.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        self._options = options

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        with unreachable_as_unavailable():
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(**self._options)
                return await conn.execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        result = await self.execute(*args, **kwargs)
        return result.scalar()


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

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        write: bool,
        listeners: tuple[EventChangeListener, ...] = (),
    ) -> None:
        self._engine = engine
        self._write = write
        self._listeners = listeners
        self._conn: AsyncConnection | None = None
        self._changes = ChangeRecorder()
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._write:
            with unreachable_as_unavailable():
                conn = await self._engine.connect()
                try:
                    conn = await conn.execution_options(
                        **{WRITE_OPTION: True, CHANGES_OPTION: self._changes}
                    )
                    await conn.begin()
                except BaseException:
                    await conn.close()
                    raise
            self._conn = conn
        else:
            conn = cast(AsyncConnection, _ReadConnection(self._engine))
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
        conn = self._conn
        try:
            if conn is not None and conn.in_transaction():
                await conn.rollback()
        finally:
            if conn is not None:
                await conn.close()
            self._after_commit.clear()

    async def commit(self) -> None:
        if self._conn is not None:  # a read has nothing to commit
            with unreachable_as_unavailable():
                await self._conn.commit()
        if self._changes.changed:
            # Before the response: a read after a write that returned is never stale.
            changes = self._changes.result()
            self._changes.reset()  # in place: the connection's options hold it
            for listener in self._listeners:
                try:
                    await listener(changes)
                except Exception:
                    log.exception("event_change_listener_failed", listener=repr(listener))
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the data is committed; a hook must not undo the response
                log.exception("after_commit_failed", callback=repr(callback))

    async def rollback(self) -> None:
        conn = self._conn
        if conn is not None:
            await conn.rollback()
        self._changes.reset()
        self._after_commit.clear()

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)
