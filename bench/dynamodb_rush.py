"""A registration rush on the DynamoDB backend, against moto's server (not AWS).

``RUSH`` people register at once for ``CAPACITY`` seats (waitlist on) through
the ASGI app in this process; prints the wall time and checks the outcome is
exact. Run: ``.venv/bin/python -m bench.dynamodb_rush [RUSH] [CAPACITY]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter

import httpx
from tests.support.dynamodb import aws_environment_set, moto_server

from bench.auth import admin_headers
from eventcrm.app import create_app
from eventcrm.bootstrap import build_backend_storage, build_container, migrate
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from eventcrm.users.domain import new_contact


async def rush(settings: Settings, people: int, capacity: int) -> None:
    storage: Storage = build_backend_storage(settings)
    headers = await admin_headers(storage)
    from eventcrm.kit.clock import SystemClock

    now = SystemClock().now()
    async with storage.unit_of_work(write=True) as uow:
        for i in range(people):
            await uow.users.add(
                new_contact(
                    id=f"rush{i:05d}",
                    now=now,
                    by="bench",
                    first_name="R",
                    last_name=str(i),
                    email=f"rush{i}@example.com",
                )
            )
        await uow.commit()
    app = create_app(settings, container=build_container(settings, storage=storage))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers, timeout=120
    ) as http:
        created = await http.post(
            "/api/v1/events",
            json={
                "id": "rush",
                "title": "The rush",
                "startAt": "2030-01-01T18:00:00Z",
                "endAt": "2030-01-01T20:00:00Z",
                "capacity": capacity,
            },
        )
        assert created.status_code == 201, created.text
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(
                http.post("/api/v1/events/rush/registrations", json={"userId": f"rush{i:05d}"})
                for i in range(people)
            )
        )
        elapsed = time.perf_counter() - started
        codes = Counter(a.status_code for a in answers)
        statuses = Counter(a.json()["status"] for a in answers if a.status_code == 201)
        event = (await http.get("/api/v1/events/rush")).json()
    await storage.close()
    print(f"{people} registrations for {capacity} seats on moto: {elapsed:.1f} s")
    print(f"  {people / elapsed:.0f} registrations/s; HTTP statuses {dict(codes)}")
    print(f"  outcome {dict(statuses)}; event counters {event['registeredCount']} registered")
    assert codes == {201: people}, codes
    assert statuses == {"registered": capacity, "waitlisted": people - capacity}, statuses
    assert event["registeredCount"] == capacity


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    capacity = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    # The test suite's server: one request at a time, one table backup per transaction.
    with moto_server() as endpoint, aws_environment_set(endpoint):
        settings = Settings(
            database_url=f"dynamodb://bench-{uuid.uuid4().hex[:8]}",
            secret_key="bench-secret-key-0123456789",
            log_level="WARNING",
            rate_limit="1000000/minute",
            rate_limit_registrations="1000000/minute",
            # Every registration of one event waits its turn for the event's lease.
            dynamodb_lock_wait_seconds=300,
        )
        migrate(settings)
        asyncio.run(rush(settings, people, capacity))


if __name__ == "__main__":
    main()
