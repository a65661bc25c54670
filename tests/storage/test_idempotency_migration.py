"""Migration 0004 (idempotency keys) upgrades and downgrades on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from eventcrm.bootstrap import build_storage
from eventcrm.settings import Settings
from eventcrm.storage.sql.migrate import apply_migrations
from eventcrm.storage.sql.storage import SqlStorage
from tests.conftest import _run_sql, postgres_url

pytestmark = pytest.mark.sql("an Alembic migration of the SQL schema")


@pytest.fixture
async def fresh(settings: Settings) -> AsyncIterator[SqlStorage]:
    """An empty database (a new SQLite file or PostgreSQL schema) beside the test one."""
    schema = f"eventcrm_mig_{uuid.uuid4().hex[:12]}"
    if settings.is_sqlite:
        url = f"sqlite+aiosqlite:///{settings.data_dir / (schema + '.db')}"
        fresh = settings.model_copy(update={"database_url": url})
    else:
        await _run_sql(postgres_url(), f"CREATE SCHEMA {schema}")
        fresh = settings.model_copy(update={"database_schema": schema})
    storage = build_storage(fresh)
    try:
        yield storage
    finally:
        await storage.close()
        if not settings.is_sqlite:
            await _run_sql(postgres_url(), f"DROP SCHEMA {schema} CASCADE")


async def _shape(storage: SqlStorage) -> tuple[set[str], set[str]]:
    async with storage.engine.connect() as conn:

        def inspect(sync_conn: sa.Connection) -> tuple[set[str], set[str]]:
            inspector = sa.inspect(sync_conn)
            columns = {c["name"] for c in inspector.get_columns("idempotency_keys")}
            indexes = {str(i["name"]) for i in inspector.get_indexes("idempotency_keys")}
            return columns, indexes

        return await conn.run_sync(inspect)


async def test_0004_upgrades_downgrades_and_upgrades_again(fresh: SqlStorage) -> None:
    await apply_migrations(fresh.engine, "upgrade", "head")
    columns, indexes = await _shape(fresh)
    assert {"headers", "body", "expires_at"} <= columns
    assert indexes == {"ix_idempotency_keys_expires_at"}

    await apply_migrations(fresh.engine, "downgrade", "0003")
    columns, indexes = await _shape(fresh)
    assert "expires_at" not in columns
    assert indexes == {"ix_idempotency_keys_created_at"}

    await apply_migrations(fresh.engine, "upgrade", "head")
    assert (await _shape(fresh))[1] == {"ix_idempotency_keys_expires_at"}
