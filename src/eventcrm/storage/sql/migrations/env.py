"""Alembic environment.

``eventcrm db ...`` (and the test fixtures) hand over an open connection in
``config.attributes["connection"]``. The plain ``alembic`` command, configured
by ``[tool.alembic]`` in pyproject.toml, has none: it connects to the database
the settings name (EVENTCRM_DATABASE_URL, EVENTCRM_DATABASE_SCHEMA, .env).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterable
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from eventcrm.settings import Settings
from eventcrm.storage.sql.engine import create_engine
from eventcrm.storage.sql.migrate import AUTOGENERATE_OPTIONS, SQLITE_EXPRESSION_INDEX_WARNINGS
from eventcrm.storage.sql.tables import metadata
from eventcrm.storage.sql.types import UTCDateTime


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types into a new revision the way the existing ones do."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from eventcrm.storage.sql.types import UTCDateTime")
        return "UTCDateTime()"
    return False


def _number_revision(
    migration: MigrationContext, _revision: Any, directives: list[MigrationScript]
) -> None:
    """Number a new revision after the head (0003 -> 0004); drop an empty autogenerate."""
    config = migration.config
    assert config is not None
    script = directives[0]
    cmd_opts = config.cmd_opts
    autogenerate = config.attributes.get("autogenerate", getattr(cmd_opts, "autogenerate", False))
    if autogenerate and script.upgrade_ops is not None and script.upgrade_ops.is_empty():
        directives[:] = []
        print("No changes in schema detected; no revision written.")
        if migration.dialect.name == "sqlite":
            print("(SQLite cannot compare expression indexes: autogenerate on PostgreSQL.)")
        return
    if getattr(cmd_opts, "rev_id", None):
        return  # `alembic revision --rev-id X`: the caller chose
    heads: Iterable[str] = ScriptDirectory.from_config(config).get_heads()
    numbers = [int(head) for head in heads if head.isdigit()]
    if numbers:
        script.rev_id = f"{max(numbers) + 1:04d}"


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        process_revision_directives=_number_revision,
        render_item=_render_item,
        **AUTOGENERATE_OPTIONS,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        if connection.dialect.name == "sqlite":
            for message in SQLITE_EXPRESSION_INDEX_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
        context.run_migrations()


async def run_from_settings() -> None:
    settings = Settings()
    engine = create_engine(settings.database_url, schema=settings.database_schema)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    # Revision 0001 asks PostgreSQL where pg_trgm lives: there is no SQL script without a database.
    raise RuntimeError("Offline (--sql) migrations are not supported; run them on a database.")
handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    asyncio.run(run_from_settings())
