"""Cancelling a registration frees its seat for the first person on the waitlist."""

from __future__ import annotations

import httpx

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.factories import create_event, register
from tests.support.registrations_api import (
    EVENTS,
    counts,
    full_event,
    new_users,
    participants,
    read_event,
    registrations_url,
    status_of,
    waitlist,
)


async def cancel(client: httpx.AsyncClient, event_id: str, user_id: str) -> None:
    response = await client.delete(f"{registrations_url(event_id)}/{user_id}")
    assert response.status_code == 204, response.text


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
    client: httpx.AsyncClient, storage: Storage
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
    client: httpx.AsyncClient, storage: Storage
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
