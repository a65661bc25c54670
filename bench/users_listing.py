"""Keyset pagination at depth: page 1 vs page 1000 of GET /api/v1/users.

Seeds N contacts (default 200,000) straight into the database, then times,
in the same run:
  * the baseline: the same keyset query sent through the raw driver (asyncpg
    or sqlite3), with no application around it;
  * GET /api/v1/users through the ASGI app for page 1 and for a deep page
    (reached with a real cursor), several sorts and a filter.

Usage (a dedicated database: the bench adds users and keeps them for re-runs):
  python bench/users_listing.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
  python bench/users_listing.py --url sqlite+aiosqlite:///var/bench.db --users 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from bench.auth import admin_headers
from eventcrm.app import create_app
from eventcrm.bootstrap import build_container, build_storage, migrate
from eventcrm.settings import Settings
from eventcrm.storage.sql.tables import users

CITIES = ["Austin", "Boston", "Chicago", "Denver", "Seattle", "Miami", "Portland", "Atlanta"]
COMPANIES = [f"Company {i}" for i in range(500)]


def rows(n: int, start: int) -> list[dict[str, Any]]:
    rng = random.Random(start)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(start, start + n):
        created = t0 + timedelta(seconds=i)
        out.append(
            {
                "id": f"u{i:08d}",
                "first_name": rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara"]),
                "last_name": f"Last{rng.randrange(50_000)}",
                "email": f"user{i}@example.com",
                "company": rng.choice(COMPANIES),
                "city": rng.choice(CITIES),
                "state": "TX",
                "job_title": rng.choice(["CTO", "Engineer", "Designer", ""]),
                "events_hosted": rng.randrange(5),
                "events_attended": rng.randrange(20),
                "created_at": created,
                "updated_at": created,
            }
        )
    return out


async def seed(settings: Settings, count: int) -> None:
    storage = build_storage(settings)
    async with storage.engine.begin() as conn:
        existing = await conn.scalar(sa.select(sa.func.count()).select_from(users))
        for start in range(int(existing or 0), count, 10_000):
            await conn.execute(users.insert(), rows(min(10_000, count - start), start))
    await storage.close()


async def timed(fn: Any, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


async def raw_baseline(settings: Settings, deep_after: str) -> dict[str, float]:
    """The keyset query for created_at order, straight through the driver."""
    sql = (
        "SELECT * FROM users WHERE (created_at, id) > ({p1}, {p2}) ORDER BY created_at, id LIMIT 21"
    )
    if settings.is_sqlite:
        import sqlite3

        path = settings.database_url.split("///", 1)[1]
        db = sqlite3.connect(path)
        after = ("2024-01-01 00:00:00.000000", "")
        deep = (deep_after, "")
        query = sql.format(p1="?", p2="?")

        async def first() -> None:
            db.execute(query, after).fetchall()

        async def deep_page() -> None:
            db.execute(query, deep).fetchall()

        return {"page 1": await timed(first, 50), "deep page": await timed(deep_page, 50)}
    import asyncpg

    dsn = settings.database_url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    query = sql.format(p1="$1", p2="$2")
    t_first = datetime(2024, 1, 1, tzinfo=UTC)
    t_deep = datetime.fromisoformat(deep_after).replace(tzinfo=UTC)
    try:
        return {
            "page 1": await timed(lambda: conn.fetch(query, t_first, ""), 50),
            "deep page": await timed(lambda: conn.fetch(query, t_deep, ""), 50),
        }
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="sqlite+aiosqlite:///var/bench.db")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--depth", type=int, default=1000, help="page number of the deep page")
    args = parser.parse_args()
    settings = Settings(
        database_url=args.url, secret_key="bench-secret-key-0123456789", log_level="WARNING"
    )
    migrate(settings)
    started = time.perf_counter()
    await seed(settings, args.users)
    print(f"seeded {args.users} users in {time.perf_counter() - started:.1f}s ({args.url})")

    storage = build_storage(settings)
    await storage.refresh_statistics()  # as `eventcrm serve` does at start-up
    app = create_app(settings, container=build_container(settings, storage=storage))
    transport = httpx.ASGITransport(app=app)
    deep_index = args.depth * 20
    deep_after = (datetime(2024, 1, 1) + timedelta(seconds=deep_index)).isoformat(sep=" ")
    print(f"{'query':48} {'page 1 ms':>10} {'page ' + str(args.depth) + ' ms':>12}")
    baseline = await raw_baseline(settings, deep_after)
    raw = "raw driver, created_at keyset"
    print(f"{raw:48} {baseline['page 1']:>10.2f} {baseline['deep page']:>12.2f}")
    headers = await admin_headers(storage)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:
        queries: list[tuple[str, dict[str, Any]]] = [
            ("GET /users (created_at)", {}),
            ("GET /users?sort=last_name,-created_at", {"sort": "last_name,-created_at"}),
            ("GET /users?sort=-events_attended", {"sort": "-events_attended"}),
            ("GET /users?city=Austin&city=Boston", {"city": ["Austin", "Boston"]}),
        ]
        for label, params in queries:
            # Reach the deep page with a real cursor: walk there in 100-row steps.
            cursor = None
            for _ in range(deep_index // 100):
                step = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
                page = await client.get("/api/v1/users", params=step)
                cursor = page.json()["nextCursor"]
                if cursor is None:
                    break

            async def first(p: dict[str, Any] = params) -> None:
                assert (await client.get("/api/v1/users", params=p)).status_code == 200

            async def deep(p: dict[str, Any] = params, c: str | None = cursor) -> None:
                response = await client.get("/api/v1/users", params={**p, "cursor": c} if c else p)
                assert response.status_code == 200

            print(f"{label:48} {await timed(first, 30):>10.2f} {await timed(deep, 30):>12.2f}")
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
