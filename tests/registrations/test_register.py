"""POST /events/{id}/registrations: seats, the waitlist, who may register and when."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_event, register
from tests.support.registrations_api import (
    EVENTS,
    counts,
    full_event,
    new_users,
    read_event,
    registrations_url,
    waitlist,
)


async def test_register_returns_201_with_the_registration(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=5)
    (user_id,) = await new_users(client, 1)
    response = await client.post(registrations_url(event["id"]), json={"userId": user_id})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "eventId",
        "userId",
        "role",
        "status",
        "waitlistPosition",
        "registeredAt",
        "promotedAt",
        "checkedInAt",
    }
    assert (body["eventId"], body["userId"], body["role"], body["status"]) == (
        event["id"],
        user_id,
        "attendee",
        "registered",
    )
    assert (body["waitlistPosition"], body["promotedAt"], body["checkedInAt"]) == (
        None,
        None,
        None,
    )


async def test_registering_takes_a_seat(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=5)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    after = await read_event(client, event["id"])
    assert (after["registeredCount"], after["seatsLeft"], after["waitlistCount"]) == (1, 4, 0)


async def test_an_active_event_accepts_registrations(client: httpx.AsyncClient) -> None:
    event = await create_event(client, status="active")
    (user_id,) = await new_users(client, 1)
    assert (await register(client, event["id"], user_id))["status"] == "registered"


async def test_registering_past_capacity_waitlists_people_in_order(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=2)
    user_ids = await new_users(client, 5)
    results = [await register(client, event["id"], u) for u in user_ids]
    assert [r["status"] for r in results] == ["registered"] * 2 + ["waitlisted"] * 3
    assert [r["waitlistPosition"] for r in results] == [None, None, 1, 2, 3]
    assert await counts(client, event["id"]) == (2, 3)
    assert await waitlist(client, event["id"]) == [(u, i) for i, u in enumerate(user_ids[2:], 1)]


async def test_an_event_without_capacity_registers_everyone(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=None)
    user_ids = await new_users(client, 6)
    results = [await register(client, event["id"], u) for u in user_ids]
    assert {r["status"] for r in results} == {"registered"}
    assert await counts(client, event["id"]) == (6, 0)


async def test_a_zero_capacity_event_waitlists_the_first_person(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=0)
    (user_id,) = await new_users(client, 1)
    result = await register(client, event["id"], user_id)
    assert (result["status"], result["waitlistPosition"]) == ("waitlisted", 1)


async def test_a_full_event_without_a_waitlist_is_409_event_full_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event_id, _, _ = await full_event(client, capacity=2, waiting=0, waitlistEnabled=False)
    (late,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event_id),
        status=409,
        code="event_full",
        json={"userId": late},
    )


async def test_registering_twice_is_409_already_registered_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client, capacity=3)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=409,
        code="already_registered",
        json={"userId": user_id},
    )


async def test_registering_while_waitlisted_is_409_already_registered(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event_id, _, queued = await full_event(client, capacity=1, waiting=1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event_id),
        status=409,
        code="already_registered",
        json={"userId": queued[0]},
    )


async def test_the_owner_cannot_also_register_as_an_attendee(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    (owner,) = await new_users(client, 1)
    event = await create_event(client, ownerId=owner)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=409,
        code="already_registered",
        json={"userId": owner},
    )


async def test_an_unknown_user_is_404_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=404,
        code="user_not_found",
        json={"userId": "ghost"},
    )


async def test_an_unknown_event_is_404(client: httpx.AsyncClient, storage: Storage) -> None:
    (user_id,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url("ghost"),
        status=404,
        code="event_not_found",
        json={"userId": user_id},
    )


async def test_a_deleted_event_is_404(client: httpx.AsyncClient, storage: Storage) -> None:
    event = await create_event(client)
    await client.delete(f"{EVENTS}/{event['id']}")
    (user_id,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=404,
        code="event_not_found",
        json={"userId": user_id},
    )


@pytest.mark.parametrize("status", ["draft", "cancelled", "completed"])
async def test_an_event_not_open_refuses_attendees_with_409(
    client: httpx.AsyncClient, storage: Storage, status: str
) -> None:
    event = await create_event(client, status=status)
    (user_id,) = await new_users(client, 1)
    body = await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=409,
        code="event_not_open",
        json={"userId": user_id},
    )
    assert status in body["detail"]


async def test_a_host_may_join_a_draft_event(client: httpx.AsyncClient) -> None:
    event = await create_event(client, status="draft", capacity=1)
    (host,) = await new_users(client, 1)
    result = await register(client, event["id"], host, role="host")
    assert (result["role"], result["status"]) == ("host", "registered")
    assert (await read_event(client, event["id"]))["hostIds"] == [host]


async def test_a_host_cannot_join_a_cancelled_event(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client, status="cancelled")
    (host,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=409,
        code="event_not_open",
        json={"userId": host, "role": "host"},
    )


async def test_a_host_never_takes_a_seat_even_when_the_event_is_full(
    client: httpx.AsyncClient,
) -> None:
    event_id, _, _ = await full_event(client, capacity=1, waiting=0, waitlistEnabled=False)
    (host,) = await new_users(client, 1)
    result = await register(client, event_id, host, role="host")
    assert result["status"] == "registered"
    assert await counts(client, event_id) == (1, 0)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({}, "userId", id="missing userId"),
        pytest.param({"userId": None}, "userId", id="null userId"),
        pytest.param({"userId": "bad id"}, "userId", id="malformed userId"),
        pytest.param({"userId": "u1", "role": "owner"}, "role", id="owner role"),
        pytest.param({"userId": "u1", "role": "guest"}, "role", id="unknown role"),
        pytest.param({"userId": "u1", "status": "registered"}, "status", id="status"),
    ],
)
async def test_a_bad_registration_body_is_422_naming_the_field(
    client: httpx.AsyncClient, storage: Storage, payload: dict[str, Any], field: str
) -> None:
    event = await create_event(client)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=422,
        field=field,
        json=payload,
    )
