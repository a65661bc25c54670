"""Helpers shared by the events HTTP API tests: times, listings and reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.factories import iso

EVENTS = "/api/v1/events"
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def at(days: float = 0, hours: float = 0) -> str:
    return iso(T0 + timedelta(days=days, hours=hours))


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


async def listed(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return ids(await client.get(EVENTS, params=params))


async def counted(client: httpx.AsyncClient, **params: Any) -> int:
    response = await client.get(f"{EVENTS}/count", params=params)
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def read(client: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    response = await client.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
