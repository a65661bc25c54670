"""Run Alembic against one of our engines: migrations, and the commands around them.

The same configuration serves ``eventcrm db ...`` (built here) and the plain
``alembic`` command (``[tool.alembic]`` in pyproject.toml); keep the two in step.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import Script
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: What autogenerate compares besides tables, columns, indexes and constraints;
#: env.py and the test that the tables match the migrations both use it.
AUTOGENERATE_OPTIONS: dict[str, Any] = {"compare_type": True, "compare_server_default": True}

#: SQLite cannot reflect expression indexes (``lower(col)``), so autogenerate skips them
#: there, with a warning per index from SQLAlchemy and another from Alembic. They are
#: compared on PostgreSQL, and their DDL on SQLite by tests/storage/test_migrations.py.
SQLITE_EXPRESSION_INDEX_WARNINGS = (
    "Skipped unsupported reflection of expression-based index",
    "autogenerate skipping metadata-specified expression-based index",
)


def alembic_config() -> Config:
    # Alembic's default stdout is the one at import time; take the current one.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # New revisions are numbered like the existing ones: versions/0004_add_x.py.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # env.py numbers every new revision, with or without --autogenerate.
    config.set_main_option("revision_environment", "true")
    return config


async def run_alembic(engine: AsyncEngine, operation: Callable[[Config], object]) -> None:
    """Run one Alembic command on a connection of ``engine``, in one transaction."""

    def run(sync_conn: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        operation(config)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def apply_migrations(
    engine: AsyncEngine, action: str = "upgrade", revision: str = "head"
) -> None:
    """Upgrade or downgrade the schema in one transaction."""
    await run_alembic(engine, lambda config: getattr(command, action)(config, revision))


async def show_current(engine: AsyncEngine, *, verbose: bool = False) -> None:
    """Print the database's revision, as ``alembic current`` does."""
    await run_alembic(engine, lambda config: command.current(config, verbose=verbose))


def show_history(*, verbose: bool = False) -> None:
    """Print the revisions, newest first (no database needed)."""
    command.history(alembic_config(), verbose=verbose)


async def write_revision(engine: AsyncEngine, *, message: str, autogenerate: bool) -> Path | None:
    """Write a new revision file; None when autogenerate found nothing to do."""
    written: list[Path] = []

    def revise(config: Config) -> None:
        config.attributes["autogenerate"] = autogenerate
        scripts = command.revision(config, message=message, autogenerate=autogenerate)
        for script in scripts if isinstance(scripts, list) else [scripts]:
            if isinstance(script, Script):
                written.append(Path(script.path))

    await run_alembic(engine, revise)
    return written[0] if written else None


def run_blocking(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
