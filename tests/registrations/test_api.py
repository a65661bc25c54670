"""Registrations over HTTP: seats, the waitlist, promotion, check-in, idempotency and roles."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventcrm.storage.sql.storage import SqlStorage
from tests.assertions import assert_problem, assert_refused
from tests.factories import create_event, create_user, register

EVENTS = "/api/v1/events"
REPLAYED = "idempotent-replayed"


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


async def cancel(client: httpx.AsyncClient, event_id: str, user_id: str) -> None:
    response = await client.delete(f"{registrations_url(event_id)}/{user_id}")
    assert response.status_code == 204, response.text


# --- registering ---------------------------------------------------------------------------


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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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


async def test_an_unknown_event_is_404(client: httpx.AsyncClient, storage: SqlStorage) -> None:
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


async def test_a_deleted_event_is_404(client: httpx.AsyncClient, storage: SqlStorage) -> None:
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
    client: httpx.AsyncClient, storage: SqlStorage, status: str
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage, payload: dict[str, Any], field: str
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


# --- Idempotency-Key -----------------------------------------------------------------------


async def test_a_retry_with_the_same_key_replays_the_first_response(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=5)
    (user_id,) = await new_users(client, 1)
    url, key = registrations_url(event["id"]), {"Idempotency-Key": "attempt-1"}
    first = await client.post(url, json={"userId": user_id}, headers=key)
    retry = await client.post(url, json={"userId": user_id}, headers=key)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers


async def test_a_replayed_request_registers_nobody_twice(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=5)
    (user_id,) = await new_users(client, 1)
    for _ in range(3):
        await register(client, event["id"], user_id, headers={"Idempotency-Key": "k"})
    assert await counts(client, event["id"]) == (1, 0)
    assert [p["userId"] for p in await participants(client, event["id"])] == [user_id]


async def test_a_replayed_waitlisting_returns_the_same_position(
    client: httpx.AsyncClient,
) -> None:
    event_id, _, _ = await full_event(client, capacity=1, waiting=1)
    (user_id,) = await new_users(client, 1)
    key = {"Idempotency-Key": "wait-1"}
    first = await register(client, event_id, user_id, headers=key)
    retry = await register(client, event_id, user_id, headers=key)
    assert retry == first
    assert (first["status"], first["waitlistPosition"]) == ("waitlisted", 2)
    assert await counts(client, event_id) == (1, 2)


async def test_the_same_key_with_a_different_body_is_422_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    event = await create_event(client)
    first, second = await new_users(client, 2)
    key = {"Idempotency-Key": "shared"}
    await register(client, event["id"], first, headers=key)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=422,
        code="idempotency_key_reused",
        json={"userId": second},
        headers=key,
    )


async def test_the_same_key_with_another_role_is_422(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    key = {"Idempotency-Key": "shared"}
    await register(client, event["id"], user_id, headers=key)
    response = await client.post(
        registrations_url(event["id"]), json={"userId": user_id, "role": "host"}, headers=key
    )
    assert_problem(response, 422, code="idempotency_key_reused")


async def test_a_key_is_scoped_to_its_event(client: httpx.AsyncClient) -> None:
    a, b = await create_event(client), await create_event(client)
    (user_id,) = await new_users(client, 1)
    key = {"Idempotency-Key": "same-key"}
    await register(client, a["id"], user_id, headers=key)
    response = await client.post(registrations_url(b["id"]), json={"userId": user_id}, headers=key)
    assert response.status_code == 201
    assert REPLAYED not in response.headers
    assert await counts(client, b["id"]) == (1, 0)


async def test_a_refused_request_is_not_remembered_under_its_key(
    client: httpx.AsyncClient,
) -> None:
    event_id, _, _ = await full_event(client, capacity=1, waiting=0, waitlistEnabled=False)
    (user_id,) = await new_users(client, 1)
    url, key = registrations_url(event_id), {"Idempotency-Key": "try-again"}
    refused = await client.post(url, json={"userId": user_id}, headers=key)
    assert_problem(refused, 409, code="event_full")
    await client.patch(f"{EVENTS}/{event_id}", json={"capacity": 2})
    retry = await client.post(url, json={"userId": user_id}, headers=key)
    assert retry.status_code == 201
    assert REPLAYED not in retry.headers


async def test_without_a_key_a_retry_is_409(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    response = await client.post(registrations_url(event["id"]), json={"userId": user_id})
    assert_problem(response, 409, code="already_registered")


@pytest.mark.parametrize("key", ["has space", "x" * 256])
async def test_a_malformed_idempotency_key_is_422(
    client: httpx.AsyncClient, storage: SqlStorage, key: str
) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=422,
        field="Idempotency-Key",
        json={"userId": user_id},
        headers={"Idempotency-Key": key},
    )


# --- cancelling and promotion --------------------------------------------------------------


async def test_cancelling_frees_the_seat(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=2)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    response = await client.delete(f"{registrations_url(event['id'])}/{user_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert await counts(client, event["id"]) == (0, 0)
    assert await participants(client, event["id"]) == []


async def test_a_freed_seat_goes_to_the_first_waitlisted_person_in_the_same_request(
    client: httpx.AsyncClient,
) -> None:
    event_id, seated, queued = await full_event(client, capacity=2, waiting=3)
    await cancel(client, event_id, seated[0])
    promoted = await status_of(client, event_id, queued[0])
    assert (promoted["status"], promoted["waitlistPosition"]) == ("registered", None)
    assert promoted["promotedAt"] is not None
    assert await counts(client, event_id) == (2, 2)
    assert await waitlist(client, event_id) == [(queued[1], 1), (queued[2], 2)]


async def test_a_promoted_person_keeps_their_original_join_time(
    client: httpx.AsyncClient,
) -> None:
    event_id, seated, queued = await full_event(client, capacity=1, waiting=1)
    joined = (await status_of(client, event_id, queued[0]))["registeredAt"]
    await cancel(client, event_id, seated[0])
    assert (await status_of(client, event_id, queued[0]))["registeredAt"] == joined


async def test_a_newcomer_after_a_cancellation_queues_behind_the_waitlist(
    client: httpx.AsyncClient,
) -> None:
    event_id, seated, queued = await full_event(client, capacity=1, waiting=1)
    await cancel(client, event_id, seated[0])
    (newcomer,) = await new_users(client, 1)
    result = await register(client, event_id, newcomer)
    assert (result["status"], result["waitlistPosition"]) == ("waitlisted", 1)
    assert (await status_of(client, event_id, queued[0]))["status"] == "registered"


async def test_leaving_the_waitlist_renumbers_it_without_gaps(client: httpx.AsyncClient) -> None:
    event_id, _, queued = await full_event(client, capacity=1, waiting=4)
    await cancel(client, event_id, queued[1])
    assert await waitlist(client, event_id) == [(queued[0], 1), (queued[2], 2), (queued[3], 3)]
    assert await counts(client, event_id) == (1, 3)


async def test_leaving_the_waitlist_promotes_nobody(client: httpx.AsyncClient) -> None:
    event_id, seated, queued = await full_event(client, capacity=1, waiting=2)
    await cancel(client, event_id, queued[0])
    assert (await status_of(client, event_id, seated[0]))["status"] == "registered"
    assert await waitlist(client, event_id) == [(queued[1], 1)]


async def test_a_cancelled_events_waitlist_is_not_promoted(client: httpx.AsyncClient) -> None:
    event_id, seated, queued = await full_event(client, capacity=1, waiting=1)
    await client.patch(f"{EVENTS}/{event_id}", json={"status": "cancelled"})
    await cancel(client, event_id, seated[0])
    assert await waitlist(client, event_id) == [(queued[0], 1)]
    assert await counts(client, event_id) == (0, 1)


async def test_reopening_a_completed_event_fills_the_seats_freed_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    event_id, seated, queued = await full_event(client, capacity=1, waiting=2)
    await client.patch(f"{EVENTS}/{event_id}", json={"status": "completed"})
    await cancel(client, event_id, seated[0])
    assert await counts(client, event_id) == (0, 2)
    await client.patch(f"{EVENTS}/{event_id}", json={"status": "active"})
    assert (await status_of(client, event_id, queued[0]))["status"] == "registered"
    assert await waitlist(client, event_id) == [(queued[1], 1)]


async def test_cancelling_the_owner_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    (owner,) = await new_users(client, 1)
    event = await create_event(client, ownerId=owner)
    await assert_refused(
        client,
        storage,
        "DELETE",
        f"{registrations_url(event['id'])}/{owner}",
        status=409,
        code="owner_registration",
    )


async def test_a_host_can_step_down(client: httpx.AsyncClient) -> None:
    host, other = await new_users(client, 2)
    event = await create_event(client, hostIds=[host, other])
    await cancel(client, event["id"], host)
    assert (await read_event(client, event["id"]))["hostIds"] == [other]


async def test_cancelling_someone_not_registered_is_404(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "DELETE",
        f"{registrations_url(event['id'])}/{user_id}",
        status=404,
        code="registration_not_found",
    )


async def test_cancelling_on_an_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"{registrations_url('ghost')}/someone")
    assert_problem(response, 404, code="event_not_found")


# --- capacity changes ----------------------------------------------------------------------


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
    client: httpx.AsyncClient, storage: SqlStorage
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


# --- check-in ------------------------------------------------------------------------------


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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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


# --- the participant list ------------------------------------------------------------------


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


# --- hosts and owners through the event ----------------------------------------------------


async def test_adding_a_host_by_patch_registers_them_as_host(client: httpx.AsyncClient) -> None:
    (host,) = await new_users(client, 1)
    event = await create_event(client)
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"hostIds": [host]})
    assert response.json()["hostIds"] == [host]
    (item,) = await participants(client, event["id"], role="host")
    assert (item["userId"], item["status"]) == (host, "registered")


async def test_removing_a_host_by_patch_drops_their_registration(
    client: httpx.AsyncClient,
) -> None:
    kept, dropped = await new_users(client, 2)
    event = await create_event(client, hostIds=[kept, dropped])
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"hostIds": [kept]})
    assert response.json()["hostIds"] == [kept]
    assert [p["userId"] for p in await participants(client, event["id"])] == [kept]


async def test_patch_without_host_ids_keeps_the_hosts(client: httpx.AsyncClient) -> None:
    (host,) = await new_users(client, 1)
    event = await create_event(client, hostIds=[host])
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"title": "Renamed"})
    assert response.json()["hostIds"] == [host]


async def test_put_without_host_ids_removes_the_hosts(client: httpx.AsyncClient) -> None:
    (host,) = await new_users(client, 1)
    event = await create_event(client, hostIds=[host])
    payload = {k: event[k] for k in ("title", "startAt", "endAt")}
    response = await client.put(f"{EVENTS}/{event['id']}", json=payload)
    assert response.json()["hostIds"] == []
    assert await participants(client, event["id"]) == []


async def test_making_an_attendee_a_host_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    event = await create_event(client)
    (attendee,) = await new_users(client, 1)
    await register(client, event["id"], attendee)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{event['id']}",
        status=409,
        code="already_registered",
        json={"hostIds": [attendee]},
    )


async def test_making_a_waitlisted_person_the_owner_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    event_id, _, queued = await full_event(client, capacity=1, waiting=1)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{event_id}",
        status=409,
        code="already_registered",
        json={"ownerId": queued[0]},
    )


async def test_changing_the_owner_moves_the_owner_registration(
    client: httpx.AsyncClient,
) -> None:
    old, new = await new_users(client, 2)
    event = await create_event(client, ownerId=old)
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"ownerId": new})
    assert response.json()["ownerId"] == new
    assert [p["userId"] for p in await participants(client, event["id"], role="owner")] == [new]
    assert await participants(client, event["id"], role="host") == []


async def test_a_host_promoted_to_owner_leaves_the_host_list(client: httpx.AsyncClient) -> None:
    owner, host = await new_users(client, 2)
    event = await create_event(client, ownerId=owner, hostIds=[host])
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"ownerId": host})
    assert (response.json()["ownerId"], response.json()["hostIds"]) == (host, [])
    roles = {p["userId"]: p["role"] for p in await participants(client, event["id"])}
    assert roles == {host: "owner"}


async def test_clearing_the_owner_drops_their_registration(client: httpx.AsyncClient) -> None:
    (owner,) = await new_users(client, 1)
    event = await create_event(client, ownerId=owner)
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"ownerId": None})
    assert response.json()["ownerId"] is None
    assert await participants(client, event["id"]) == []
