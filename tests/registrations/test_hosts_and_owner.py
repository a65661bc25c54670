"""Hosts and the owner set through the event become, move and drop registrations."""

from __future__ import annotations

import httpx

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_event, register
from tests.support.registrations_api import EVENTS, full_event, new_users, participants


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


async def test_put_without_host_ids_keeps_the_hosts(client: httpx.AsyncClient) -> None:
    (host,) = await new_users(client, 1)
    event = await create_event(client, hostIds=[host])
    payload = {k: event[k] for k in ("title", "startAt", "endAt")}
    response = await client.put(f"{EVENTS}/{event['id']}", json=payload)
    assert response.json()["hostIds"] == [host]


async def test_put_with_empty_host_ids_removes_the_hosts(client: httpx.AsyncClient) -> None:
    (host,) = await new_users(client, 1)
    event = await create_event(client, hostIds=[host])
    response = await client.put(f"{EVENTS}/{event['id']}", json={"hostIds": []})
    assert response.json()["hostIds"] == []
    assert await participants(client, event["id"]) == []


async def test_making_an_attendee_a_host_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
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
    client: httpx.AsyncClient, storage: Storage
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
