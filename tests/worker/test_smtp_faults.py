"""The worker against an SMTP server that misbehaves: rejections, drops, outages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_user
from tests.support.smtp_sink import SmtpSink


async def _deliveries(client: httpx.AsyncClient, campaign_id: str) -> dict[str, dict[str, Any]]:
    items = (
        await client.get(f"/api/v1/campaigns/{campaign_id}/deliveries", params={"limit": 1000})
    ).json()["items"]
    return {d["email"]: d for d in items}


async def test_permanent_rejections_fail_at_once_and_transient_ones_are_retried(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(8)]
    unknown, deferred, hopeless = users[0]["email"], users[1]["email"], users[2]["email"]
    smtp_sink.handler.faults.reject[unknown] = (550, "5.1.1 No such user")
    smtp_sink.handler.faults.defer[deferred] = 1
    smtp_sink.handler.faults.defer[hopeless] = 99
    accepted = await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])

    await drain(make_worker(worker_max_attempts=3))

    ledger = await _deliveries(client, accepted["campaignId"])
    assert ledger[unknown]["status"] == "failed"
    assert ledger[unknown]["attempts"] == 1
    assert "550" in ledger[unknown]["lastError"]
    assert "No such user" in ledger[unknown]["lastError"]
    assert ledger[deferred]["status"] == "sent"
    assert ledger[deferred]["attempts"] == 2
    assert ledger[hopeless]["status"] == "failed"
    assert ledger[hopeless]["attempts"] == 3
    assert ledger[hopeless]["lastError"].startswith("gave up after 3 attempts: SMTP 451")
    others = {u["email"] for u in users[3:]} | {deferred}
    assert dict(smtp_sink.handler.recipients) == dict.fromkeys(others, 1)

    # Retrying the failed ones re-sends exactly those, once the server accepts them.
    smtp_sink.handler.faults.reject.clear()
    smtp_sink.handler.faults.defer.clear()
    retried = await client.post(f"/api/v1/campaigns/{accepted['campaignId']}/retry-failed")
    assert retried.json() == {"requeued": 2}
    await drain(make_worker())
    assert dict(smtp_sink.handler.recipients) == {u["email"]: 1 for u in users}
    campaign = (await client.get(f"/api/v1/campaigns/{accepted['campaignId']}")).json()
    assert campaign["counts"]["sent"] == 8
    assert campaign["status"] == "completed"


async def test_a_connection_dropped_mid_batch_loses_and_duplicates_nothing(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(30)]
    smtp_sink.handler.faults.drop_at = {5, 6, 17}
    accepted = await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])

    await drain(make_worker(worker_concurrency=1))

    assert dict(smtp_sink.handler.recipients) == {u["email"]: 1 for u in users}
    ledger = await _deliveries(client, accepted["campaignId"])
    assert {d["status"] for d in ledger.values()} == {"sent"}
    retried = [d for d in ledger.values() if d["attempts"] > 1]
    assert len(retried) == 3
    assert all("connection lost" in d["lastError"] for d in retried)


async def test_a_server_that_is_down_then_back_gets_everything(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(12)]
    accepted = await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    smtp_sink.stop()
    worker = make_worker(worker_max_attempts=10, worker_retry_base_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.5)
    ledger = await _deliveries(client, accepted["campaignId"])
    assert all(d["status"] in ("queued", "sending") for d in ledger.values())
    assert any("cannot connect" in (d["lastError"] or "") for d in ledger.values())

    smtp_sink.start()
    for _ in range(200):
        if smtp_sink.handler.count == len(users):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert dict(smtp_sink.handler.recipients) == {u["email"]: 1 for u in users}
    campaign = (await client.get(f"/api/v1/campaigns/{accepted['campaignId']}")).json()
    assert campaign["counts"]["sent"] == 12
