"""A rush of registrations never oversells: in-process and across server processes.

500 people register at once for 100 seats with the waitlist on. Afterwards
exactly 100 are registered and 400 waitlisted, nobody twice, the waitlist is
numbered 1..400 without gaps, and every counter agrees with a recount.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa

from eventcrm.settings import Settings
from eventcrm.storage.sql.storage import SqlStorage
from eventcrm.storage.sql.tables import events, registrations, users
from tests.conftest import GENEROUS_LIMITS_ENV
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.factories import make_user

CAPACITY = 100
RUSH = 500


async def _seed(storage: SqlStorage, *, event_id: str) -> list[str]:
    people = [make_user(id=f"rush{i:04d}", email=f"rush{i}@example.com") for i in range(RUSH)]
    async with storage.unit_of_work(write=True) as uow:
        for person in people:
            await uow.users.add(person)
        await uow.commit()
    return [p.id for p in people]


async def _create_event(client: httpx.AsyncClient, event_id: str) -> None:
    response = await client.post(
        "/api/v1/events",
        json={
            "id": event_id,
            "title": "The rush",
            "startAt": "2030-01-01T18:00:00Z",
            "endAt": "2030-01-01T20:00:00Z",
            "capacity": CAPACITY,
        },
    )
    assert response.status_code == 201, response.text


async def _assert_exactly_filled(
    storage: SqlStorage, event_id: str, statuses: Counter[str]
) -> None:
    assert statuses == {"registered": CAPACITY, "waitlisted": RUSH - CAPACITY}
    async with storage.engine.connect() as conn:
        event = (await conn.execute(sa.select(events).where(events.c.id == event_id))).one()
        assert (event.registered_count, event.waitlist_count) == (CAPACITY, RUSH - CAPACITY)
        rows = (
            await conn.execute(sa.select(registrations).where(registrations.c.event_id == event_id))
        ).all()
        assert len({r.user_id for r in rows}) == len(rows) == RUSH
        by_status = Counter(r.status for r in rows)
        assert by_status == {"registered": CAPACITY, "waitlisted": RUSH - CAPACITY}
        # FIFO sequence numbers are exactly 1..400: nobody skipped, nobody shares a place.
        seqs = sorted(r.waitlist_seq for r in rows if r.status == "waitlisted")
        assert seqs == list(range(1, RUSH - CAPACITY + 1))
        attended = dict((await conn.execute(sa.select(users.c.id, users.c.events_attended))).all())
    registered = {r.user_id for r in rows if r.status == "registered"}
    assert all(attended[u] == (1 if u in registered else 0) for u in attended)


async def test_a_rush_through_the_app_fills_exactly_the_capacity(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    people = await _seed(storage, event_id="rush")
    await _create_event(client, "rush")

    async def register(user_id: str) -> httpx.Response:
        return await client.post("/api/v1/events/rush/registrations", json={"userId": user_id})

    responses = await asyncio.gather(*(register(p) for p in people))
    assert {r.status_code for r in responses} == {201}, {
        r.text for r in responses if r.status_code != 201
    }
    statuses = Counter(r.json()["status"] for r in responses)
    positions = sorted(
        r.json()["waitlistPosition"] for r in responses if r.json()["waitlistPosition"]
    )
    # Each response saw its place at the moment it joined: 1..400, once each.
    assert positions == list(range(1, RUSH - CAPACITY + 1))
    await _assert_exactly_filled(storage, "rush", statuses)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(settings: Settings, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}
    env |= {
        "EVENTCRM_DATABASE_URL": settings.database_url,
        "EVENTCRM_SECRET_KEY": settings.secret_key or "",
        "EVENTCRM_DATA_DIR": str(settings.data_dir),
        "EVENTCRM_LOG_LEVEL": "WARNING",
    }
    env |= GENEROUS_LIMITS_ENV
    if settings.database_schema:
        env["EVENTCRM_DATABASE_SCHEMA"] = settings.database_schema
    command = [sys.executable, "-m", "eventcrm", "serve", "--port", str(port), "--no-migrate"]
    with (workdir / f"server-{port}.log").open("wb") as log:
        return subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)


def _server_logs(workdir: Path) -> list[str]:
    return [log.read_text()[-3000:] for log in workdir.glob("server-*.log")]


async def _wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base_url) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server on {base_url} exited with {process.returncode}")
            try:
                if (await http.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base_url} did not become ready")


async def test_a_rush_across_two_server_processes_fills_exactly_the_capacity(
    settings: Settings, storage: SqlStorage, tmp_path: Path
) -> None:
    people = await _seed(storage, event_id="multi")
    await seed_admin_key(storage)
    ports = [_free_port(), _free_port()]
    servers = [_start_server(settings, port, tmp_path) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(_wait_ready(b, s) for b, s in zip(bases, servers, strict=True)))
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=60, headers=ADMIN_HEADERS) as http:
            created = await http.post(
                f"{bases[0]}/api/v1/events",
                json={
                    "id": "multi",
                    "title": "The rush",
                    "startAt": "2030-01-01T18:00:00Z",
                    "endAt": "2030-01-01T20:00:00Z",
                    "capacity": CAPACITY,
                },
            )
            assert created.status_code == 201, created.text

            async def register(i: int, user_id: str) -> httpx.Response:
                url = f"{bases[i % 2]}/api/v1/events/multi/registrations"
                return await http.post(url, json={"userId": user_id})

            responses = await asyncio.gather(*(register(i, p) for i, p in enumerate(people)))
        failed = {r.text for r in responses if r.status_code != 201}
        assert not failed, (failed, _server_logs(tmp_path))
        await _assert_exactly_filled(
            storage, "multi", Counter(r.json()["status"] for r in responses)
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
