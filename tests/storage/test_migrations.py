"""The migrations and the table definitions describe the same schema, on both databases.

What is compared:
- Alembic's autogenerate (``compare_metadata`` with the options ``env.py`` uses):
  tables, columns, column types, nullability, server defaults, primary keys,
  foreign keys, unique constraints and indexes — their names, columns and
  expressions. SQLite cannot reflect expression indexes (``lower(col)``), so
  there autogenerate skips them;
- so the indexes are also compared as the database stores them: the DDL of
  each index (SQLite) or ``pg_get_indexdef`` (PostgreSQL: method, operator
  class, partial ``WHERE``) in a migrated database and in one made by
  ``metadata.create_all``, and on PostgreSQL every constraint's definition.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from eventcrm.bootstrap import build_storage, migrate
from eventcrm.settings import Settings
from eventcrm.storage.sql.migrate import (
    AUTOGENERATE_OPTIONS,
    SQLITE_EXPRESSION_INDEX_WARNINGS,
    alembic_config,
    current_revision,
)
from eventcrm.storage.sql.tables import metadata
from tests.conftest import (
    _TRIGRAMS_IN_PUBLIC,
    _require_postgres,
    _run_sql,
    postgres_url,
)
from tests.support.databases import SQL_BACKENDS

pytestmark = pytest.mark.sql("Alembic migrations of the SQL schema")

SCRIPTS = ScriptDirectory.from_config(alembic_config())


def _single_head() -> str:
    head = SCRIPTS.get_current_head()
    assert head is not None, "the migrations have no head"
    return head


HEAD = _single_head()


def _schema_diff(conn: Connection) -> list[Any]:
    with warnings.catch_warnings():
        if conn.dialect.name == "sqlite":
            for message in SQLITE_EXPRESSION_INDEX_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
        context = MigrationContext.configure(conn, opts=AUTOGENERATE_OPTIONS)
        diff: list[Any] = compare_metadata(context, metadata)
        return diff


def _index_definitions(conn: Connection) -> dict[str, str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    else:
        rows = conn.exec_driver_sql(
            "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
        )
    return {name: " ".join(sql.split()) for name, sql in rows}


def _constraint_definitions(conn: Connection) -> dict[tuple[str, str], str]:
    if conn.dialect.name == "sqlite":
        return {}  # kept in each table's SQL, which ALTER TABLE rewrites; compared above
    rows = conn.exec_driver_sql(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " JOIN pg_class t ON t.oid = c.conrelid"
        " WHERE t.relnamespace = current_schema()::regnamespace"
        " AND t.relname <> 'alembic_version'"
    )
    return {(table, name): definition for table, name, definition in rows}


async def _on(settings: Settings, read: Any) -> Any:
    storage = build_storage(settings)
    try:
        async with storage.engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await storage.close()


async def _revision(settings: Settings) -> str | None:
    storage = build_storage(settings)
    try:
        engine: AsyncEngine = storage.engine
        return await current_revision(engine)
    finally:
        await storage.close()


@pytest.fixture(params=SQL_BACKENDS)
def empty_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings for a database nothing has been created in yet."""
    root = tmp_path_factory.mktemp("fresh")
    common: dict[str, Any] = {"data_dir": root, "secret_key": "test-secret-key-0123456789"}
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite+aiosqlite:///{root / 'fresh.db'}", **common)
        return
    request.applymarker(pytest.mark.postgres)
    _require_postgres()
    schema = f"eventcrm_fresh_{uuid.uuid4().hex[:12]}"
    _run_blocking_sql(_TRIGRAMS_IN_PUBLIC, f"CREATE SCHEMA {schema}")
    try:
        yield Settings(database_url=postgres_url(), database_schema=schema, **common)
    finally:
        _run_blocking_sql(_TRIGRAMS_IN_PUBLIC, f"DROP SCHEMA {schema} CASCADE")


def _run_blocking_sql(*statements: str) -> None:
    from eventcrm.storage.sql.migrate import run_blocking

    run_blocking(_run_sql(postgres_url(), *statements))


async def test_the_tables_match_the_migrated_database(settings: Settings) -> None:
    assert await _on(settings, _schema_diff) == []


async def test_the_tables_create_the_indexes_and_constraints_the_migrations_create(
    request: pytest.FixtureRequest, empty_database: Settings
) -> None:
    backend = "sqlite" if empty_database.is_sqlite else "postgres"
    settings: Settings = request.getfixturevalue(f"{backend}_settings")  # migrated
    storage = build_storage(empty_database)
    try:
        async with storage.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await storage.close()

    migrated = await _on(settings, _index_definitions)
    created = await _on(empty_database, _index_definitions)
    assert created == migrated
    assert "ix_users_email_trgm" in migrated or settings.is_sqlite
    assert await _on(empty_database, _constraint_definitions) == await _on(
        settings, _constraint_definitions
    )


async def test_downgrade_one_revision_then_upgrade_to_head(empty_database: Settings) -> None:
    migrate(empty_database)
    migrate(empty_database, action="downgrade", revision="-1")
    assert await _revision(empty_database) == SCRIPTS.get_revision(HEAD).down_revision

    migrate(empty_database)
    assert await _revision(empty_database) == HEAD
    assert await _on(empty_database, _schema_diff) == []


async def test_downgrade_to_base_then_upgrade_to_head(empty_database: Settings) -> None:
    migrate(empty_database)
    migrate(empty_database, action="downgrade", revision="base")
    tables = await _on(empty_database, lambda conn: sa.inspect(conn).get_table_names())
    assert set(tables) <= {"alembic_version"}

    migrate(empty_database)
    assert await _revision(empty_database) == HEAD
    assert await _on(empty_database, _schema_diff) == []
