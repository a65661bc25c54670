"""The composition root: the one place that turns settings into implementations."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from eventcrm.container import Container
from eventcrm.kit.clock import Clock, SystemClock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import uuid7_id
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from eventcrm.storage.sql.engine import create_engine
from eventcrm.storage.sql.migrate import apply_migrations, run_blocking
from eventcrm.storage.sql.storage import SqlStorage


def build_container(
    settings: Settings, *, clock: Clock | None = None, storage: Storage | None = None
) -> Container:
    return Container(
        settings=settings,
        storage=storage if storage is not None else build_storage(settings),
        clock=clock or SystemClock(),
        new_id=uuid7_id,
        cursors=CursorCodec(secret_key(settings)),
    )


def build_storage(settings: Settings) -> SqlStorage:
    backend = make_url(settings.database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"Unsupported database {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg."
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
    """Apply schema migrations (a blocking call, for the CLI and test set-up)."""

    async def run() -> None:
        storage = build_storage(settings)
        try:
            await apply_migrations(storage.engine, action, revision)
        finally:
            await storage.close()

    run_blocking(run())


def database_location(settings: Settings) -> str:
    """Where the data lives, for humans (the password is hidden)."""
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
