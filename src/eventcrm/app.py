"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from eventcrm import __version__
from eventcrm.api import problems
from eventcrm.api.health import router as health_router
from eventcrm.api.middleware import RequestContextMiddleware
from eventcrm.bootstrap import build_container
from eventcrm.categories.router import router as categories_router
from eventcrm.container import Container
from eventcrm.events.router import router as events_router
from eventcrm.kit.logging import configure_logging
from eventcrm.registrations.router import router as registrations_router
from eventcrm.registrations.router import user_router as user_registrations_router
from eventcrm.settings import Settings
from eventcrm.users.router import router as users_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # In the background: serving starts at once, plans improve a moment later.
        statistics = asyncio.create_task(container.storage.refresh_statistics())
        yield
        statistics.cancel()
        await asyncio.gather(statistics, return_exceptions=True)
        await container.storage.close()

    app = FastAPI(
        title="eventcrm",
        version=__version__,
        summary="Contacts, events with capacity and waitlists, and email to segments.",
        lifespan=lifespan,
    )
    app.state.container = container
    app.add_middleware(RequestContextMiddleware)
    problems.install(app)
    app.include_router(health_router)
    for router in (
        users_router,
        user_registrations_router,
        categories_router,
        events_router,
        registrations_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    return app
