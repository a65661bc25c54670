"""Helpers shared by the registrations HTTP API tests: seats, the waitlist and participants."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.factories import create_event, create_user, register

EVENTS = "/api/v1/events"


def registrations_url(event_id: str) -> str:
    return f"{EVENTS}/{event_id}/registrations"


async def new_users(client: httpx.AsyncClient, n: int) -> list[str]:
    return [(await create_user(client))["id"] for _ in range(n)]


async def read_event(client: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    response = await client.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def counts(client: httpx.AsyncClient, event_id: str) -> tuple[int, int]:
    """(registeredCount, waitlistCount) of an event."""
    event = await read_event(client, event_id)
    return event["registeredCount"], event["waitlistCount"]


async def participants(client: httpx.AsyncClient, event_id: str, **params: Any) -> list[Any]:
    response = await client.get(registrations_url(event_id), params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def waitlist(client: httpx.AsyncClient, event_id: str) -> list[tuple[str, int]]:
    """The waitlist as (userId, waitlistPosition), in position order."""
    items = await participants(client, event_id, status="waitlisted")
    return sorted(((p["userId"], p["waitlistPosition"]) for p in items), key=lambda t: t[1])


async def status_of(client: httpx.AsyncClient, event_id: str, user_id: str) -> dict[str, Any]:
    (found,) = [p for p in await participants(client, event_id) if p["userId"] == user_id]
    return found  # type: ignore[no-any-return]


async def full_event(
    client: httpx.AsyncClient, *, capacity: int, waiting: int, **fields: Any
) -> tuple[str, list[str], list[str]]:
    """An event filled to ``capacity`` with ``waiting`` more people on its waitlist."""
    event = await create_event(client, capacity=capacity, **fields)
    seated = await new_users(client, capacity)
    queued = await new_users(client, waiting)
    for user_id in [*seated, *queued]:
        await register(client, event["id"], user_id)
    return event["id"], seated, queued
