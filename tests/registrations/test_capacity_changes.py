"""Changing an event's capacity promotes the waitlist or is refused below the registered count."""

from __future__ import annotations

import httpx

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_event, register
from tests.support.registrations_api import EVENTS, full_event, new_users, status_of, waitlist


async def test_raising_capacity_promotes_the_waitlist_in_order(
    client: httpx.AsyncClient,
) -> None:
    event_id, _, queued = await full_event(client, capacity=1, waiting=3)
    response = await client.patch(f"{EVENTS}/{event_id}", json={"capacity": 3})
    assert response.status_code == 200, response.text
    assert (response.json()["registeredCount"], response.json()["waitlistCount"]) == (3, 1)
    promoted = [await status_of(client, event_id, u) for u in queued[:2]]
    assert [p["status"] for p in promoted] == ["registered", "registered"]
    assert all(p["promotedAt"] for p in promoted)
    assert await waitlist(client, event_id) == [(queued[2], 1)]


async def test_raising_capacity_by_put_promotes_too(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=1, title="Launch", slug="launch")
    first, second = await new_users(client, 2)
    await register(client, event["id"], first)
    await register(client, event["id"], second)
    payload = {k: event[k] for k in ("title", "startAt", "endAt")}
    response = await client.put(f"{EVENTS}/{event['id']}", json={**payload, "capacity": 2})
    assert (response.json()["registeredCount"], response.json()["waitlistCount"]) == (2, 0)


async def test_removing_the_capacity_promotes_everyone(client: httpx.AsyncClient) -> None:
    event_id, _, queued = await full_event(client, capacity=1, waiting=3)
    response = await client.patch(f"{EVENTS}/{event_id}", json={"capacity": None})
    assert (response.json()["registeredCount"], response.json()["waitlistCount"]) == (4, 0)
    assert [(await status_of(client, event_id, u))["status"] for u in queued] == ["registered"] * 3


async def test_lowering_capacity_below_the_registered_count_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event_id, _, _ = await full_event(client, capacity=3, waiting=1)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{event_id}",
        status=409,
        code="capacity_below_registered",
        json={"capacity": 2},
    )


async def test_lowering_capacity_to_the_registered_count_is_allowed(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=5)
    for user_id in await new_users(client, 2):
        await register(client, event["id"], user_id)
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"capacity": 2})
    assert response.status_code == 200, response.text
    assert response.json()["seatsLeft"] == 0


async def test_hosts_do_not_count_against_a_lowered_capacity(
    client: httpx.AsyncClient,
) -> None:
    owner, host, attendee = await new_users(client, 3)
    event = await create_event(client, capacity=5, ownerId=owner, hostIds=[host])
    await register(client, event["id"], attendee)
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"capacity": 1})
    assert response.status_code == 200, response.text
