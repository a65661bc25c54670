"""Checking people in at an event."""

from __future__ import annotations

import httpx

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.factories import create_event, register
from tests.support.registrations_api import (
    EVENTS,
    full_event,
    new_users,
    registrations_url,
    status_of,
)


def check_in_url(event_id: str, user_id: str) -> str:
    return f"{registrations_url(event_id)}/{user_id}/check-in"


async def test_check_in_marks_a_registered_person_present(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    response = await client.post(check_in_url(event["id"], user_id))
    assert response.status_code == 200, response.text
    assert response.json()["checkedInAt"] is not None
    assert (await status_of(client, event["id"], user_id))["checkedInAt"] == response.json()[
        "checkedInAt"
    ]


async def test_check_in_twice_returns_the_same_time(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    first = await client.post(check_in_url(event["id"], user_id))
    second = await client.post(check_in_url(event["id"], user_id))
    assert second.status_code == 200
    assert second.json() == first.json()


async def test_a_host_can_check_in(client: httpx.AsyncClient) -> None:
    (host,) = await new_users(client, 1)
    event = await create_event(client, hostIds=[host])
    response = await client.post(check_in_url(event["id"], host))
    assert response.status_code == 200
    assert response.json()["role"] == "host"


async def test_checking_in_a_waitlisted_person_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event_id, _, queued = await full_event(client, capacity=1, waiting=1)
    await assert_refused(
        client,
        storage,
        "POST",
        check_in_url(event_id, queued[0]),
        status=409,
        code="not_registered",
    )


async def test_checking_in_someone_without_a_registration_is_404(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        check_in_url(event["id"], user_id),
        status=404,
        code="registration_not_found",
    )


async def test_checking_in_at_a_cancelled_event_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    await client.patch(f"{EVENTS}/{event['id']}", json={"status": "cancelled"})
    await assert_refused(
        client,
        storage,
        "POST",
        check_in_url(event["id"], user_id),
        status=409,
        code="event_not_open",
    )


async def test_checking_in_at_an_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(check_in_url("ghost", "someone"))
    assert_problem(response, 404, code="event_not_found")
