"""Sending a campaign over HTTP, running the worker until it is idle, and reading the ledger."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from eventcrm.worker.runner import DeliveryWorker


async def drain(worker: DeliveryWorker) -> None:
    async with asyncio.timeout(60):
        await worker.run(asyncio.Event(), until_idle=True)


async def send_campaign(client: httpx.AsyncClient, **payload: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/emails/send", json=payload)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(client: httpx.AsyncClient, campaign_id: str) -> dict[str, dict[str, Any]]:
    items = (
        await client.get(f"/api/v1/campaigns/{campaign_id}/deliveries", params={"limit": 1000})
    ).json()["items"]
    return {d["email"]: d for d in items}
