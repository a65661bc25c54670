"""The baselines of bench/read.py: bare Starlette endpoints for ``GET /api/v1/events/{id}``.

Served by uvicorn like eventcrm (``--workers N``, httptools), configured by
environment variables:

* ``database_app``: runs the two SELECTs eventcrm runs for an event (captured
  with SQLAlchemy's echo; see docs/benchmarks.md) straight on the driver
  (asyncpg for ``BENCH_READ_DSN=postgresql://…``, aiosqlite for a file path),
  and builds the same JSON document with ``json.dumps``. No authentication,
  no transaction, no validation: what reading an event costs at the least.
* ``memory_app``: returns the bytes of ``BENCH_READ_BODY`` (eventcrm's own
  answer, saved once) from memory: what the HTTP stack alone costs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

#: eventcrm's queries for one event (PostgreSQL placeholders; SQLite's are ``?``).
EVENT_SQL = (
    "SELECT events.id, events.slug, events.title, events.description, events.start_at, "
    "events.end_at, events.timezone, events.venue, events.capacity, events.waitlist_enabled, "
    "events.status, events.category_id, events.organizer, events.owner_id, "
    "events.registered_count, events.waitlist_count, events.created_at, events.updated_at, "
    "events.deleted_at, events.created_by, events.updated_by, categories.name AS category_name "
    "FROM events LEFT OUTER JOIN categories ON categories.id = events.category_id "
    "WHERE events.id = $1 AND events.deleted_at IS NULL"
)
HOSTS_SQL = (
    "SELECT registrations.event_id, registrations.user_id FROM registrations "
    "WHERE registrations.event_id IN ($1) AND registrations.role = 'host' "
    "ORDER BY registrations.registered_at, registrations.user_id"
)

#: Connections per worker process: eventcrm's default pool size.
POOL_SIZE = 10

Fetch = Callable[[str, str], Awaitable[list[dict[str, Any]]]]


def _instant(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    moment: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def event_document(event: dict[str, Any], host_ids: list[str]) -> dict[str, Any]:
    """eventcrm's EventRead, field for field."""
    capacity = event["capacity"]
    category_id = event["category_id"]
    return {
        "id": event["id"],
        "slug": event["slug"],
        "title": event["title"],
        "description": event["description"] or None,
        "startAt": _instant(event["start_at"]),
        "endAt": _instant(event["end_at"]),
        "timezone": event["timezone"] or None,
        "venue": event["venue"] or None,
        "capacity": capacity,
        "waitlistEnabled": bool(event["waitlist_enabled"]),
        "status": event["status"],
        "categoryId": category_id,
        "category": {"id": category_id, "name": event["category_name"]} if category_id else None,
        "organizer": event["organizer"] or None,
        "ownerId": event["owner_id"],
        "hostIds": host_ids,
        "registeredCount": event["registered_count"],
        "waitlistCount": event["waitlist_count"],
        "seatsLeft": None if capacity is None else capacity - event["registered_count"],
        "createdAt": _instant(event["created_at"]),
        "updatedAt": _instant(event["updated_at"]),
        "deletedAt": _instant(event["deleted_at"]),
        "createdBy": event["created_by"],
        "updatedBy": event["updated_by"],
    }


@asynccontextmanager
async def _postgres(dsn: str, schema: str | None) -> AsyncIterator[Fetch]:
    settings = {"search_path": schema} if schema else {}
    pool = await asyncpg.create_pool(
        dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, server_settings=settings
    )
    assert pool is not None

    async def fetch(sql: str, event_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await pool.fetch(sql, event_id)]

    try:
        yield fetch
    finally:
        await pool.close()


@asynccontextmanager
async def _sqlite(path: str) -> AsyncIterator[Fetch]:
    idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
    opened = []
    for _ in range(POOL_SIZE):
        conn = await aiosqlite.connect(path)
        conn.row_factory = aiosqlite.Row
        opened.append(conn)
        idle.put_nowait(conn)

    async def fetch(sql: str, event_id: str) -> list[dict[str, Any]]:
        conn = await idle.get()
        try:
            async with conn.execute(sql.replace("$1", "?"), (event_id,)) as cursor:
                return [dict(r) for r in await cursor.fetchall()]
        finally:
            idle.put_nowait(conn)

    try:
        yield fetch
    finally:
        for conn in opened:
            await conn.close()


async def _health(request: Request) -> Response:
    return PlainTextResponse("ok")


def database_app() -> Starlette:
    dsn = os.environ["BENCH_READ_DSN"]
    schema = os.environ.get("BENCH_READ_SCHEMA") or None
    fetch: Fetch | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal fetch
        opened = _postgres(dsn, schema) if dsn.startswith("postgresql") else _sqlite(dsn)
        async with opened as fetch:
            yield

    async def event(request: Request) -> Response:
        assert fetch is not None
        event_id = request.path_params["event_id"]
        rows = await fetch(EVENT_SQL, event_id)
        if not rows:
            return Response(status_code=404)
        hosts = [row["user_id"] for row in await fetch(HOSTS_SQL, event_id)]
        body = json.dumps(event_document(rows[0], hosts), separators=(",", ":"))
        return Response(body, media_type="application/json")

    routes = [Route("/api/v1/events/{event_id}", event), Route("/health", _health)]
    return Starlette(routes=routes, lifespan=lifespan)


def memory_app() -> Starlette:
    body = Path(os.environ["BENCH_READ_BODY"]).read_bytes()

    async def event(request: Request) -> Response:
        return Response(body, media_type="application/json")

    routes = [Route("/api/v1/events/{event_id}", event), Route("/health", _health)]
    return Starlette(routes=routes)
