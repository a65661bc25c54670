"""PostgreSQL connection pool: no ping per checkout, idle connections checked,
TLS only when asked for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from eventcrm.errors import Unavailable
from eventcrm.settings import Settings
from eventcrm.storage.sql import engine as engine_module
from eventcrm.storage.sql.engine import create_engine
from eventcrm.storage.sql.uow import SqlUnitOfWork


@pytest.fixture
async def pg_engine(postgres_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        postgres_settings.database_url, schema=postgres_settings.database_schema, pool_size=1
    )
    try:
        yield engine
    finally:
        await engine.dispose()


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(postgres_settings: Settings, pid: int) -> None:
    other = create_engine(postgres_settings.database_url, pool_size=1)
    try:
        async with other.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()


async def test_a_recently_used_connection_is_lent_without_a_ping(
    pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = pg_engine.sync_engine.dialect
    pings: list[object] = []
    real_ping = dialect.do_ping

    def counting_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting_ping)
    first = await _backend_pid(pg_engine)
    second = await _backend_pid(pg_engine)
    assert first == second  # the same pooled connection, lent twice
    assert pings == []
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    await _backend_pid(pg_engine)
    assert len(pings) == 1  # once idle "long enough", it is checked first


async def test_an_idle_connection_dropped_by_the_server_is_replaced_unseen(
    pg_engine: AsyncEngine, postgres_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = await _backend_pid(pg_engine)
    await _terminate(postgres_settings, dropped)
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)  # it has been idle "long"
    assert await _backend_pid(pg_engine) != dropped


async def test_a_connection_dropped_while_trusted_fails_once_then_the_pool_recovers(
    pg_engine: AsyncEngine, postgres_settings: Settings
) -> None:
    dropped = await _backend_pid(pg_engine)
    await _terminate(postgres_settings, dropped)
    with pytest.raises(Unavailable):
        await _backend_pid(pg_engine)
    assert await _backend_pid(pg_engine) != dropped


class _Captured(Exception):
    def __init__(self, params: dict[str, object]) -> None:
        super().__init__("captured")
        self.params = params


async def _connect_params(url: str) -> dict[str, object]:
    """The keyword arguments the engine would hand asyncpg.connect."""
    engine = create_engine(url)

    def capture(
        _dialect: object, _record: object, _args: object, params: dict[str, object]
    ) -> None:
        raise _Captured(dict(params))

    sa.event.listen(engine.sync_engine, "do_connect", capture)
    try:
        await engine.connect()
    except _Captured as captured:
        return captured.params
    finally:
        await engine.dispose()
    raise AssertionError("the engine connected without calling asyncpg")


async def test_tls_is_not_attempted_unless_the_url_or_pgsslmode_asks_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    url = "postgresql+asyncpg://app@db.invalid/crm"
    assert (await _connect_params(url))["ssl"] is False
    assert (await _connect_params(url + "?ssl=require"))["ssl"] == "require"
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    assert "ssl" not in await _connect_params(url)  # asyncpg reads PGSSLMODE itself


async def test_the_pool_keeps_what_it_opens_and_never_opens_more(
    postgres_settings: Settings,
) -> None:
    """No overflow: past pool_size a checkout waits for a connection instead of
    opening one that is closed again on return (a server process per request)."""
    engine = create_engine(
        postgres_settings.database_url, schema=postgres_settings.database_schema, pool_size=2
    )
    opened: list[object] = []
    sa.event.listen(engine.sync_engine, "connect", lambda conn, _record: opened.append(conn))

    async def sleeper() -> int:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT pg_backend_pid(), pg_sleep(0.05)"))
            return int(result.scalar_one())

    try:
        first = set(await asyncio.gather(*(sleeper() for _ in range(6))))
        second = set(await asyncio.gather(*(sleeper() for _ in range(6))))
    finally:
        await engine.dispose()
    assert len(opened) == 2
    assert len(first) == 2
    assert second == first  # the same two, kept


async def test_a_read_unit_of_work_holds_no_connection_between_statements(
    pg_engine: AsyncEngine,
) -> None:
    pool = pg_engine.sync_engine.pool
    async with SqlUnitOfWork(pg_engine, write=False) as uow:
        assert await uow.users.get("no-such-user") is None
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        assert await uow.api_keys.get("nokey") is None
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
