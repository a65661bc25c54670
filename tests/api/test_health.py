"""Liveness and readiness probes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from eventcrm.app import create_app
from eventcrm.settings import Settings
from tests.support.assertions import assert_problem


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def unreachable_database() -> AsyncIterator[httpx.AsyncClient]:
    """A client over an app whose PostgreSQL is down (nothing listens on the port)."""
    settings = Settings(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone",
        secret_key="health-test-secret-0123456789",
        log_level="WARNING",
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.container.storage.close()


async def test_live_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_answers_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_ready_is_a_503_problem_when_the_database_is_down(
    unreachable_database: httpx.AsyncClient,
) -> None:
    body = assert_problem(await unreachable_database.get("/health/ready"), 503)
    assert "database" in body["detail"]


async def test_live_stays_ok_when_the_database_is_down(
    unreachable_database: httpx.AsyncClient,
) -> None:
    assert (await unreachable_database.get("/health/live")).status_code == 200
