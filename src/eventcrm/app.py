"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from eventcrm import __version__
from eventcrm.api import idempotency, openapi, problems
from eventcrm.api.health import router as health_router
from eventcrm.api.middleware import RequestContextMiddleware, RequestLimitsMiddleware
from eventcrm.api.paths import API_PREFIX
from eventcrm.bootstrap import build_container, build_worker
from eventcrm.campaigns.router import emails_router
from eventcrm.campaigns.router import router as campaigns_router
from eventcrm.categories.router import router as categories_router
from eventcrm.container import Container
from eventcrm.events.router import router as events_router
from eventcrm.kit.logging import configure_logging
from eventcrm.registrations.router import router as registrations_router
from eventcrm.registrations.router import user_router as user_registrations_router
from eventcrm.segments.router import router as segments_router
from eventcrm.settings import Settings
from eventcrm.templates.router import router as templates_router
from eventcrm.unsubscribe.router import router as unsubscribe_router
from eventcrm.users.router import router as users_router


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # In the background: serving starts at once, plans improve a moment later.
        statistics = asyncio.create_task(container.storage.refresh_statistics())
        stop = asyncio.Event()
        worker_task = None
        if settings.embedded_worker:
            # One worker inside the server: no extra process needed to send mail.
            worker = build_worker(container, concurrency=1)
            worker_task = asyncio.create_task(worker.run(stop), name="eventcrm-worker")
        try:
            yield
        finally:
            statistics.cancel()
            await asyncio.gather(statistics, return_exceptions=True)
            if worker_task is not None:
                stop.set()
                try:
                    await asyncio.wait_for(worker_task, timeout=30)
                except TimeoutError:  # its batch's lease expires and another worker resumes
                    worker_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker_task
            await container.storage.close()

    # /docs and /redoc load their scripts and styles from this server, never a CDN.
    app = FastAPIOffline(
        title="eventcrm",
        version=__version__,
        summary="Contacts, events with capacity and waitlists, and email to segments.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        static_url="/docs/static",
    )
    app.state.container = container
    # The last added runs first: every answer, a refused body's too, carries a request id.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_url_bytes=settings.max_url_bytes,
        body_limits={},  # path prefix → bytes, for a route that must accept more
    )
    app.add_middleware(RequestContextMiddleware)
    problems.install(app)
    idempotency.install(app)
    app.include_router(health_router)
    for router in (
        users_router,
        user_registrations_router,
        categories_router,
        events_router,
        registrations_router,
        templates_router,
        segments_router,
        campaigns_router,
        emails_router,
        unsubscribe_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    openapi.install(app)
    return app
