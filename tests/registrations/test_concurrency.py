"""A rush of registrations never oversells: in-process and across server processes.

500 people register at once for 100 seats. With the waitlist on, afterwards exactly
100 are registered and 400 waitlisted, nobody twice, the places each response
reported are 1..400 without gaps, and every counter agrees with a recount. With the
waitlist off, exactly 100 are registered and 400 are told the event is full.
Every backend runs it. On DynamoDB 200 people rush for the 100 seats: the test server
(moto, one request at a time) takes about 0.2 s per registration, so a larger rush
would only lengthen the run, while 200 already keeps 100 requests contending for the
event after it is full.
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
import pytest

from eventcrm.registrations.domain import RegistrationStatus
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.conftest import GENEROUS_LIMITS_ENV
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.databases import add_users, registrations_of, stored_event, stored_users
from tests.support.factories import make_user

CAPACITY = 100
RUSH = {"sqlite": 500, "postgres": 500, "dynamodb": 200}


async def _seed(storage: Storage, rush: int) -> list[str]:
    people = [make_user(id=f"rush{i:04d}", email=f"rush{i}@example.com") for i in range(rush)]
    await add_users(storage, people)
    return [p.id for p in people]


def _event(event_id: str, *, waitlist: bool = True) -> dict[str, object]:
    return {
        "id": event_id,
        "title": "The rush",
        "startAt": "2030-01-01T18:00:00Z",
        "endAt": "2030-01-01T20:00:00Z",
        "capacity": CAPACITY,
        "waitlistEnabled": waitlist,
    }


async def _assert_exactly_filled(
    storage: Storage,
    event_id: str,
    responses: list[httpx.Response],
    people: list[str],
    *,
    waitlist: bool = True,
) -> None:
    rush = len(people)
    waitlisted = rush - CAPACITY if waitlist else 0
    refused = [r for r in responses if r.status_code == 409]
    assert {r.json()["type"].rsplit(":", 1)[-1] for r in refused} <= {"event_full"}
    assert len(refused) == (0 if waitlist else rush - CAPACITY)
    statuses = Counter(r.json()["status"] for r in responses if r.status_code == 201)
    assert statuses == +Counter({"registered": CAPACITY, "waitlisted": waitlisted})
    positions = sorted(
        r.json()["waitlistPosition"]
        for r in responses
        if r.status_code == 201 and r.json()["waitlistPosition"]
    )
    # Each response saw its place at the moment it joined: 1..400, once each.
    assert positions == list(range(1, waitlisted + 1))
    event = await stored_event(storage, event_id)
    assert (event.registered_count, event.waitlist_count) == (CAPACITY, waitlisted)
    rows = await registrations_of(storage, event_id)
    assert len({r.user_id for r in rows}) == len(rows) == CAPACITY + waitlisted
    by_status = Counter(r.status.value for r in rows)
    assert by_status == +Counter({"registered": CAPACITY, "waitlisted": waitlisted})
    # FIFO: nobody shares a place in the waitlist's order.
    seqs = [r.waitlist_seq for r in rows if r.status is RegistrationStatus.WAITLISTED]
    assert None not in seqs
    assert len(set(seqs)) == len(seqs)
    attended = {u.id: u.events_attended for u in (await stored_users(storage, people)).values()}
    registered = {r.user_id for r in rows if r.status is RegistrationStatus.REGISTERED}
    assert all(attended[u] == (1 if u in registered else 0) for u in attended)


@pytest.mark.sql("DynamoDB runs the two-process rushes below; in one process it adds ~90 s")
async def test_a_rush_through_the_app_fills_exactly_the_capacity(
    client: httpx.AsyncClient, storage: Storage, backend: str
) -> None:
    people = await _seed(storage, RUSH[backend])
    created = await client.post("/api/v1/events", json=_event("rush"))
    assert created.status_code == 201, created.text

    async def register(user_id: str) -> httpx.Response:
        return await client.post("/api/v1/events/rush/registrations", json={"userId": user_id})

    responses = await asyncio.gather(*(register(p) for p in people))
    assert {r.status_code for r in responses} == {201}, {
        r.text for r in responses if r.status_code != 201
    }
    await _assert_exactly_filled(storage, "rush", responses, people)


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
    if settings.is_dynamodb:
        env["EVENTCRM_DYNAMODB_LOCK_WAIT_SECONDS"] = str(settings.dynamodb_lock_wait_seconds)
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


@pytest.mark.parametrize("waitlist", [True, False], ids=["waitlist", "no-waitlist"])
async def test_a_rush_across_two_server_processes_fills_exactly_the_capacity(
    settings: Settings, storage: Storage, backend: str, tmp_path: Path, waitlist: bool
) -> None:
    people = await _seed(storage, RUSH[backend])
    await seed_admin_key(storage)
    ports = [_free_port(), _free_port()]
    servers = [_start_server(settings, port, tmp_path) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(_wait_ready(b, s) for b, s in zip(bases, servers, strict=True)))
        limits = httpx.Limits(max_connections=64)
        # No request is refused, however long it waits its turn (DynamoDB on the test
        # server: minutes for the last ones).
        async with httpx.AsyncClient(limits=limits, timeout=300, headers=ADMIN_HEADERS) as http:
            created = await http.post(
                f"{bases[0]}/api/v1/events", json=_event("multi", waitlist=waitlist)
            )
            assert created.status_code == 201, created.text

            async def register(i: int, user_id: str) -> httpx.Response:
                url = f"{bases[i % 2]}/api/v1/events/multi/registrations"
                return await http.post(url, json={"userId": user_id})

            responses = await asyncio.gather(*(register(i, p) for i, p in enumerate(people)))
        failed = {r.text for r in responses if r.status_code not in (201, 409)}
        assert not failed, (failed, _server_logs(tmp_path))
        await _assert_exactly_filled(storage, "multi", responses, people, waitlist=waitlist)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
