"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from eventcrm import __version__
from eventcrm.access.router import router as api_keys_router
from eventcrm.api import idempotency, openapi, problems
from eventcrm.api.auth import get_actor
from eventcrm.api.health import router as health_router
from eventcrm.api.metrics import router as metrics_router
from eventcrm.api.middleware import (
    CrossSiteWriteGuardMiddleware,
    RequestContextMiddleware,
    RequestLimitsMiddleware,
)
from eventcrm.api.rate_limits import CallerBudget, ClientBudget
from eventcrm.bootstrap import build_container, build_worker
from eventcrm.campaigns.compat_router import router as campaigns_compat_router
from eventcrm.campaigns.router import emails_router
from eventcrm.campaigns.router import router as campaigns_router
from eventcrm.categories.router import router as categories_router
from eventcrm.container import Container
from eventcrm.events.router import router as events_router
from eventcrm.kit import metrics
from eventcrm.kit.logging import configure_logging
from eventcrm.registrations.router import attendees_router
from eventcrm.registrations.router import router as registrations_router
from eventcrm.registrations.router import user_router as user_registrations_router
from eventcrm.segments.router import router as segments_router
from eventcrm.settings import Settings
from eventcrm.templates.router import router as templates_router
from eventcrm.unsubscribe.router import router as unsubscribe_router
from eventcrm.users.compat_router import router as users_compat_router
from eventcrm.users.router import router as users_router

#: The API routers (under EVENTCRM_API_PREFIX) anyone may call, and why. Every
#: other router needs a credential (``get_actor``), whether or not its handlers
#: ask for the actor.
PUBLIC_ROUTERS: tuple[APIRouter, ...] = (
    # The link in an email: its signed token is the credential.
    unsubscribe_router,
)
PROTECTED_ROUTERS: tuple[APIRouter, ...] = (
    users_router,
    user_registrations_router,
    categories_router,
    events_router,
    registrations_router,
    templates_router,
    segments_router,
    campaigns_router,
    emails_router,
    api_keys_router,
    attendees_router,
    # The earlier systems' requests: deprecated aliases (docs/migrating.md).
    users_compat_router,
    campaigns_compat_router,
)


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    container = container or build_container(settings)
    prefix = settings.api_prefix

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
            await container.registrations.close()  # batches in flight finish first
            await container.authenticator.close()
            await container.request_budgets.close()
            await container.event_cache.close()
            await container.storage.close()
            metrics.forget_this_process()

    about: dict[str, Any] = {
        "title": "eventcrm",
        "version": __version__,
        "summary": "Contacts, events with capacity and waitlists, and email to segments.",
        "lifespan": lifespan,
        "generate_unique_id_function": openapi.operation_id,
        # A trailing slash is removed before routing (RequestContextMiddleware): never a 307.
        "redirect_slashes": False,
    }
    if settings.docs_enabled:
        # /docs and /redoc load their scripts and styles from this server, never a CDN.
        app = FastAPIOffline(**about, static_url="/docs/static")
    else:  # production without a public document
        app = FastAPI(**about, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.container = container
    app.state.api_prefix = prefix  # Location headers (api/paths.py)
    # The last added runs first: every answer, a refused body's too, carries a
    # request id and the security headers (and a trailing slash is gone before
    # routing); CORS answers preflights, and an oversized request is refused
    # (413, 414) — its answer carrying the rate-limit headers once a budget was
    # counted — before the cross-site write guard.
    app.add_middleware(
        CrossSiteWriteGuardMiddleware,
        allowed_origins=settings.allowed_origins,
        form_paths=(f"{prefix}/unsubscribe/",),
    )
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_url_bytes=settings.max_url_bytes,
        body_limits={},  # path prefix → bytes, for a route that must accept more
    )
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=[
                "Location",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Idempotent-Replayed",
                "X-Request-ID",
            ],
            max_age=600,
        )
    app.add_middleware(
        RequestContextMiddleware,
        api_prefix=prefix,
        # FastAPIOffline serves the pages itself (app.docs_url stays None).
        docs_paths=("/docs", "/redoc") if settings.docs_enabled else (),
        trust_proxy=settings.trust_proxy_headers,
    )
    problems.install(app)
    idempotency.install(app)
    # Every route counts against its caller's budget: the key, or the client
    # address where no credential is used.
    app.include_router(health_router, dependencies=[ClientBudget])
    app.include_router(metrics_router, dependencies=[ClientBudget])
    for router in PROTECTED_ROUTERS:
        app.include_router(router, prefix=prefix, dependencies=[Depends(get_actor), CallerBudget])
    for router in PUBLIC_ROUTERS:
        app.include_router(router, prefix=prefix, dependencies=[ClientBudget])
    openapi.install(app)
    return app
