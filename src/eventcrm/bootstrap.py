"""The composition root: the one place that turns settings into implementations."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from eventcrm.access.credentials import Authenticator, VerifiedKeys
from eventcrm.access.jwt_verifier import JwtConfig, JwtVerifier
from eventcrm.container import Container
from eventcrm.events.cache import EventCache
from eventcrm.kit.cache import VersionedCache, build_cache_backend
from eventcrm.kit.clock import Clock, SystemClock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import uuid7_id
from eventcrm.kit.rate_limits import (
    DailyRecipientQuota,
    RequestBudgets,
    build_counter_storage,
)
from eventcrm.mail.file import FileMailSender
from eventcrm.mail.message import Mailbox
from eventcrm.mail.ports import MailSender
from eventcrm.mail.sendgrid import SendGridMailSender
from eventcrm.mail.smtp import SmtpConfig, SmtpMailSender
from eventcrm.notifications.ports import Notifier
from eventcrm.notifications.service import Notifications
from eventcrm.registrations.batcher import RegistrationBatcher
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage, UnitOfWork
from eventcrm.storage.sql.engine import create_engine
from eventcrm.storage.sql.storage import SqlStorage
from eventcrm.templates.rendering import RenderLimits
from eventcrm.unsubscribe.tokens import UnsubscribeLinks

if TYPE_CHECKING:
    from eventcrm.storage.dynamodb.storage import DynamoStorage
    from eventcrm.worker.runner import DeliveryWorker


def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    storage: Storage | None = None,
    mail: MailSender | None = None,
    jwks_http: httpx.AsyncClient | None = None,
) -> Container:
    key = secret_key(settings)
    mail_from = Mailbox.parse(settings.email_from)
    storage = storage if storage is not None else build_backend_storage(settings)
    clock = clock or SystemClock()
    # One counter storage for every budget: memory, or Redis shared by all processes.
    counters = build_counter_storage(settings.redis_url, key_prefix=settings.rate_limit_key_prefix)
    event_cache = build_event_cache(settings, secret=key)
    # Every commit that changes an event read invalidates it, whichever path wrote.
    storage.watch_events(event_cache.invalidate)
    return Container(
        settings=settings,
        storage=storage,
        clock=clock,
        new_id=uuid7_id,
        cursors=CursorCodec(key),
        mail=mail or build_mail_sender(settings, mail_from),
        mail_from=mail_from,
        unsubscribe=UnsubscribeLinks(
            secret_key=key,
            # Under the same EVENTCRM_API_PREFIX create_app mounts the routers at.
            base_url=f"{settings.links_url}{settings.api_prefix}/unsubscribe/",
        ),
        authenticator=Authenticator(
            storage=storage,
            clock=clock,
            jwt=build_jwt_verifier(settings, http=jwks_http),
            verified=VerifiedKeys(settings.api_key_cache_seconds),
        ),
        request_budgets=RequestBudgets(
            counters,
            {
                "default": settings.rate_limit,
                "registrations": settings.rate_limit_registrations,
                "email": settings.rate_limit_email,
            },
            redis_url=settings.redis_url,
            key_prefix=settings.rate_limit_key_prefix,
        ),
        recipient_quota=DailyRecipientQuota(counters, settings.organizer_daily_recipients),
        registrations=build_registration_batcher(settings, storage, clock),
        event_cache=event_cache,
        render_limits=RenderLimits(
            max_output=settings.template_max_output_chars,
            max_steps=settings.template_max_steps,
            timeout=settings.template_render_timeout_seconds,
        ),
    )


def build_registration_batcher(
    settings: Settings, storage: Storage, clock: Clock
) -> RegistrationBatcher:
    """One per process: concurrent registrations for an event share a transaction."""

    def notifier_for(uow: UnitOfWork) -> Notifier:
        # The same transactional mail as a request's (api/services.py), in the batch's
        # unit of work.
        return Notifications(uow=uow, clock=clock, new_id=uuid7_id)

    return RegistrationBatcher(
        storage=storage,
        clock=clock,
        notifier_for=notifier_for,
        max_batch=settings.registration_batch_size,
    )


def build_event_cache(settings: Settings, *, secret: str) -> EventCache:
    """Event reads cached in this process's memory, or in Redis shared by all."""
    store = VersionedCache(
        build_cache_backend(settings.redis_url, secret=secret),
        prefix=f"{settings.rate_limit_key_prefix}:cache",
        shared=settings.redis_url is not None,
    )
    return EventCache(
        store,
        event_ttl=settings.event_cache_ttl_seconds,
        list_ttl=settings.event_list_cache_ttl_seconds,
    )


def build_jwt_verifier(
    settings: Settings, *, http: httpx.AsyncClient | None = None
) -> JwtVerifier | None:
    """The identity provider's token check, when one is configured."""
    if settings.jwt_jwks_url is None:
        return None
    config = JwtConfig(
        # Settings refuses one of the three without the others.
        issuer=settings.jwt_issuer or "",
        audience=settings.jwt_audience or "",
        jwks_url=settings.jwt_jwks_url,
        algorithms=settings.jwt_algorithm_list,
        role_claim=settings.jwt_role_claim,
        user_id_claim=settings.jwt_user_id_claim,
        leeway=settings.jwt_leeway_seconds,
    )
    return JwtVerifier(config, http=http)


def build_mail_sender(settings: Settings, mail_from: Mailbox) -> MailSender:
    """The one place the email provider is chosen."""
    if settings.email_provider == "smtp":
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        config = SmtpConfig(
            host=settings.smtp_host,
            port=settings.resolved_smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=password,
            timeout=settings.smtp_timeout_seconds,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )
        return SmtpMailSender(config=config, sender=mail_from)
    if settings.email_provider == "sendgrid":
        assert settings.sendgrid_api_key is not None  # checked by Settings
        return SendGridMailSender(
            api_key=settings.sendgrid_api_key.get_secret_value(),
            base_url=settings.sendgrid_base_url,
            sender=mail_from,
        )
    return FileMailSender(outbox_dir=settings.outbox_dir, sender=mail_from)


def build_worker(container: Container, *, concurrency: int | None = None) -> DeliveryWorker:
    # Imported here: an API process (or the API's Lambda function) that never sends
    # mail does not pay for loading the worker at start-up.
    from eventcrm.worker.runner import DeliveryWorker, WorkerConfig

    settings = container.settings
    config = WorkerConfig(
        batch_size=settings.worker_batch_size,
        concurrency=concurrency or settings.worker_concurrency,
        poll_interval=settings.worker_poll_interval,
        max_attempts=settings.worker_max_attempts,
        send_rate=settings.worker_send_rate,
        lease_seconds=settings.worker_lease_seconds,
        retry_base_seconds=settings.worker_retry_base_seconds,
    )
    return DeliveryWorker(
        storage=container.storage,
        sender=container.mail,
        mail_from=container.mail_from,
        unsubscribe=container.unsubscribe,
        clock=container.clock,
        config=config,
        render_limits=container.render_limits,
    )


def build_backend_storage(settings: Settings) -> Storage:
    """The storage ``EVENTCRM_DATABASE_URL`` names: DynamoDB (``dynamodb://TABLE``) or SQL."""
    if settings.is_dynamodb:
        return build_dynamo_storage(settings)
    return build_storage(settings)


def build_dynamo_storage(settings: Settings) -> DynamoStorage:
    """DynamoDB (``dynamodb://TABLE``); endpoint, region and credentials from the AWS chain."""
    if not settings.dynamodb_table:
        raise ValueError("EVENTCRM_DATABASE_URL: name the table, e.g. dynamodb://eventcrm")
    # The AWS SDK is loaded only when DynamoDB is configured (cold starts on SQL skip it).
    from eventcrm.storage.dynamodb.storage import DynamoStorage

    return DynamoStorage(
        settings.dynamodb_table,
        scan_limit=settings.dynamodb_scan_limit,
        lock_wait=settings.dynamodb_lock_wait_seconds,
    )


def build_storage(settings: Settings) -> SqlStorage:
    """The SQL storage (SQLite or PostgreSQL); ``build_backend_storage`` chooses by URL."""
    backend = make_url(settings.database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"Unsupported database {backend!r}: use sqlite+aiosqlite, postgresql+asyncpg or dynamodb://TABLE."
        )
    return SqlStorage(
        create_engine(
            settings.database_url,
            schema=settings.database_schema,
            pool_size=settings.database_pool_size,
            sqlite_busy_timeout=settings.sqlite_busy_timeout_seconds,
        )
    )


def migrate(settings: Settings, *, action: str = "upgrade", revision: str = "head") -> None:
    """Apply schema migrations (a blocking call, for the CLI and test set-up). On
    DynamoDB, ``upgrade`` creates the table and its indexes unless they exist."""
    from eventcrm.storage.sql.migrate import run_blocking

    if settings.is_dynamodb:
        if action != "upgrade" or revision != "head":
            raise ValueError(
                f"`db {action} {revision}` is for SQL databases; on DynamoDB only "
                "`eventcrm db upgrade` exists (it creates the table and its indexes)"
            )

        from eventcrm.storage.sql.migrate import run_blocking

        async def create() -> None:
            storage = build_dynamo_storage(settings)
            try:
                await storage.create_table()
            finally:
                await storage.close()

        run_blocking(create())
        return
    # Alembic is loaded only by what migrates: not by the app's start-up.
    from eventcrm.storage.sql.migrate import apply_migrations

    on_database(settings, lambda engine: apply_migrations(engine, action, revision))


def on_database(settings: Settings, operation: Callable[[AsyncEngine], Awaitable[None]]) -> None:
    """Run ``operation`` on an engine for the configured database, then close it (blocking)."""
    from eventcrm.storage.sql.migrate import run_blocking

    if settings.is_dynamodb:
        raise ValueError(
            "this command works on SQL databases (Alembic revisions); DynamoDB has none"
        )

    async def run() -> None:
        storage = build_storage(settings)
        try:
            await operation(storage.engine)
        finally:
            await storage.close()

    run_blocking(run())


def database_location(settings: Settings) -> str:
    """Where the data lives, for humans (the password is hidden)."""
    if settings.is_dynamodb:
        return f"DynamoDB table {settings.dynamodb_table}"
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together agree on one key.
        try:
            with path.open("x") as f:
                f.write(secrets.token_urlsafe(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text().strip()
