"""Deadlocks and lock time-outs surface as Busy (503, retry), never as a bare driver error."""

from __future__ import annotations

import asyncio

import httpx

from eventcrm.app import create_app
from eventcrm.bootstrap import build_dynamo_storage
from eventcrm.errors import Busy
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.factories import make_event, store


async def test_two_transactions_locking_in_opposite_orders_end_with_one_busy_or_none(
    storage: Storage, settings: Settings, backend: str
) -> None:
    first, second = make_event(), make_event()
    await store(storage, first, second)
    both_hold_one = asyncio.Barrier(2)
    # DynamoDB's event locks are leases a waiter gives up on after the lock wait.
    locking = (
        build_dynamo_storage(settings.model_copy(update={"dynamodb_lock_wait_seconds": 1.0}))
        if backend == "dynamodb"
        else storage
    )

    async def lock_in_order(a: str, b: str) -> None:
        async with locking.unit_of_work(write=True) as uow:
            await uow.events.lock(a)
            if backend != "sqlite":
                # Each holds one event and asks for the other's: a deadlock.
                # (SQLite cannot get here: BEGIN IMMEDIATE admits one writer at a time.)
                await both_hold_one.wait()
            await uow.events.lock(b)
            await uow.commit()

    try:
        results = await asyncio.gather(
            lock_in_order(first.id, second.id),
            lock_in_order(second.id, first.id),
            return_exceptions=True,
        )
    finally:
        if locking is not storage:
            await locking.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    if backend == "postgres":
        assert len(failures) == 1
        assert isinstance(failures[0], Busy), failures
    elif backend == "dynamodb":
        # No deadlock detector: each waiter gives up after its wait, one or both.
        assert 1 <= len(failures) <= 2
        assert all(isinstance(f, Busy) for f in failures), failures
    else:
        assert failures == []


async def test_busy_is_answered_with_503_and_retry_after(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise Busy("The request collided with concurrent changes and was rolled back; retry it.")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "urn:eventcrm:problem:busy"
