"""GET /events/{id}/registrations: the participant list, its filters and pages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.assertions import assert_problem
from tests.support.factories import create_event, create_user, register
from tests.support.registrations_api import (
    EVENTS,
    full_event,
    new_users,
    participants,
    registrations_url,
)


async def test_participants_carry_their_contact_fields(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    user = await create_user(
        client,
        firstName="Ada",
        lastName="Lovelace",
        email="ada@example.com",
        phoneNumber="+15125550100",
        jobTitle="Analyst",
        company="Acme",
        city="Austin",
        state="TX",
    )
    registration = await register(client, event["id"], user["id"])
    (item,) = await participants(client, event["id"])
    assert item == {
        **registration,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "phoneNumber": "+15125550100",
        "jobTitle": "Analyst",
        "company": "Acme",
        "city": "Austin",
        "state": "TX",
    }


async def test_participants_are_listed_in_the_order_they_joined(
    client: httpx.AsyncClient,
) -> None:
    owner, host = await new_users(client, 2)
    event = await create_event(client, capacity=1, ownerId=owner, hostIds=[host])
    attendees = await new_users(client, 3)
    for user_id in attendees:
        await register(client, event["id"], user_id)
    got = [p["userId"] for p in await participants(client, event["id"])]
    assert got[2:] == attendees
    assert set(got[:2]) == {owner, host}


async def test_participants_filter_by_status(client: httpx.AsyncClient) -> None:
    event_id, seated, queued = await full_event(client, capacity=2, waiting=2)
    registered = await participants(client, event_id, status="registered")
    assert [p["userId"] for p in registered] == seated
    waiting = await participants(client, event_id, status="waitlisted")
    assert [p["userId"] for p in waiting] == queued


async def test_participants_filter_by_role(client: httpx.AsyncClient) -> None:
    owner, host, attendee = await new_users(client, 3)
    event = await create_event(client, ownerId=owner, hostIds=[host])
    await register(client, event["id"], attendee)
    for role, expected in (("owner", owner), ("host", host), ("attendee", attendee)):
        assert [p["userId"] for p in await participants(client, event["id"], role=role)] == [
            expected
        ]


async def test_participants_page_by_key_through_everyone_once(client: httpx.AsyncClient) -> None:
    event_id, seated, queued = await full_event(client, capacity=3, waiting=4)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await client.get(registrations_url(event_id), params=params)
        seen.extend(p["userId"] for p in response.json()["items"])
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == [*seated, *queued]


async def test_participants_of_an_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(registrations_url("ghost")), 404, code="event_not_found")


async def test_participants_of_a_deleted_event_is_404(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    await client.delete(f"{EVENTS}/{event['id']}")
    assert_problem(await client.get(registrations_url(event["id"])), 404)


@pytest.mark.parametrize(
    "params", [{"status": "maybe"}, {"role": "guest"}, {"limit": 0}, {"extra": 1}]
)
async def test_participants_with_a_bad_parameter_is_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    event = await create_event(client)
    assert_problem(await client.get(registrations_url(event["id"]), params=params), 422)
