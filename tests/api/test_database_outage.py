"""A database that cannot be reached is a 503 with Retry-After on every route,
the server keeps its connections, and it recovers by itself.

PostgreSQL is taken away by a TCP proxy between the app and the server:
stopping it refuses new connections and cuts the pooled ones. SQLite has no
server to lose; what it can lose is its file, so the SQLite variant removes
the database's directory before the app opens it (a volume that is not
mounted) and puts it back. (Removing it under open connections does not make
SQLite unavailable: they keep using the unlinked file.)
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container, build_storage, migrate
from eventcrm.settings import Settings
from eventcrm.storage.sql.tables import metadata
from tests.support.assertions import PROBLEM_JSON, PROBLEM_TYPE
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.databases import snapshot
from tests.support.http_connection import KeepAliveConnection, Reply, TcpProxy, serving

USERS = "/api/v1/users"
ADA = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}
EVENT = {"title": "Launch", "startAt": "2030-01-01T10:00:00Z", "endAt": "2030-01-01T12:00:00Z"}

#: (method, path, JSON body) of requests that all need the database.
ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", USERS, None),
    ("POST", USERS, {**ADA, "email": "grace@example.com"}),
    ("GET", f"{USERS}/some-id", None),
    ("PATCH", f"{USERS}/some-id", {"city": "Paris"}),
    ("GET", "/api/v1/events", None),
    ("POST", "/api/v1/events", EVENT),
    ("GET", "/api/v1/categories", None),
    ("POST", "/api/v1/emails/send", {"subject": "Hi", "text": "Hello", "userIds": ["x"]}),
)


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply
    assert reply.content_type == PROBLEM_JSON
    assert reply.json()["type"] == PROBLEM_TYPE + "service_unavailable"
    assert int(reply.headers["retry-after"]) > 0


async def call(conn: KeepAliveConnection, method: str, path: str, body: Any = None) -> Reply:
    return await asyncio.to_thread(conn.request, method, path, json_body=body)


async def assert_every_route_is_unavailable(conn: KeepAliveConnection) -> None:
    for method, path, body in ROUTES:
        assert_unavailable(await call(conn, method, path, body))
    ready = await call(conn, "GET", "/health/ready")
    assert ready.status == 503
    assert ready.json()["type"] == PROBLEM_TYPE + "not_ready"


async def test_postgres_outage_is_503_on_a_kept_connection_and_recovers(
    postgres_settings: Settings,
) -> None:
    target = make_url(postgres_settings.database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = postgres_settings.model_copy(
        update={"database_url": target.set(port=proxy.port).render_as_string(False)}
    )
    direct = build_storage(postgres_settings)
    await seed_admin_key(direct)
    container = build_container(proxied)
    try:
        async with serving(create_app(proxied, container=container)) as base_url:
            conn = KeepAliveConnection(base_url, headers=ADMIN_HEADERS.items())
            try:
                assert (await call(conn, "POST", USERS, ADA)).status == 201
                before = await snapshot(direct)

                await proxy.stop()
                for _ in range(3):  # again and again, on the same connection
                    await assert_every_route_is_unavailable(conn)
                assert await snapshot(direct) == before

                await proxy.start()
                listed = await call(conn, "GET", USERS)
                assert listed.status == 200
                assert [u["email"] for u in listed.json()["items"]] == [ADA["email"]]
                assert (await call(conn, "GET", "/health/ready")).status == 200
                assert (await call(conn, "POST", "/api/v1/events", EVENT)).status == 201
            finally:
                conn.close()
    finally:
        await container.storage.close()
        await proxy.stop()
        async with direct.engine.begin() as db:
            for table in reversed(metadata.sorted_tables):
                await db.execute(table.delete())
        await direct.close()


async def test_sqlite_database_that_cannot_be_opened_is_503_and_recovers(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "volume"
    settings = sqlite_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{directory / 'eventcrm.db'}"}
    )
    container = build_container(settings)  # creates the directory
    shutil.rmtree(directory)
    try:
        async with serving(create_app(settings, container=container)) as base_url:
            conn = KeepAliveConnection(base_url, headers=ADMIN_HEADERS.items())
            try:
                for _ in range(3):
                    await assert_every_route_is_unavailable(conn)
                assert not directory.exists()

                directory.mkdir()
                await asyncio.to_thread(migrate, settings)
                await seed_admin_key(container.storage)
                assert (await call(conn, "GET", "/health/ready")).status == 200
                assert (await call(conn, "POST", USERS, ADA)).status == 201
                listed = await call(conn, "GET", USERS)
                assert [u["email"] for u in listed.json()["items"]] == [ADA["email"]]
            finally:
                conn.close()
    finally:
        await container.storage.close()
