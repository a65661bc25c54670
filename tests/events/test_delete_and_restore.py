"""DELETE /events/{id} (a soft delete) and restoring a deleted event."""

from __future__ import annotations

import httpx

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.events_api import EVENTS, counted, listed
from tests.support.factories import create_event


async def test_delete_returns_204_and_hides_the_event(client: httpx.AsyncClient) -> None:
    created = await create_event(client)
    response = await client.delete(f"{EVENTS}/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{EVENTS}/{created['id']}"), 404)


async def test_a_deleted_event_is_hidden_from_listing_and_count(
    client: httpx.AsyncClient,
) -> None:
    kept, gone = await create_event(client), await create_event(client)
    await client.delete(f"{EVENTS}/{gone['id']}")
    assert await listed(client) == [kept["id"]]
    assert await counted(client) == 1


async def test_include_deleted_lists_deleted_events_with_their_deletion_time(
    client: httpx.AsyncClient,
) -> None:
    kept, gone = await create_event(client), await create_event(client)
    await client.delete(f"{EVENTS}/{gone['id']}")
    response = await client.get(EVENTS, params={"include_deleted": "true"})
    items = {e["id"]: e for e in response.json()["items"]}
    assert set(items) == {kept["id"], gone["id"]}
    assert items[kept["id"]]["deletedAt"] is None
    assert items[gone["id"]]["deletedAt"] is not None
    assert await counted(client, include_deleted="true") == 2


async def test_delete_of_an_unknown_event_is_404(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(client, storage, "DELETE", f"{EVENTS}/ghost", status=404)


async def test_deleting_twice_is_404_the_second_time(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_event(client)
    await client.delete(f"{EVENTS}/{created['id']}")
    await assert_refused(client, storage, "DELETE", f"{EVENTS}/{created['id']}", status=404)


async def test_restore_brings_the_event_back(client: httpx.AsyncClient) -> None:
    created = await create_event(client)
    await client.delete(f"{EVENTS}/{created['id']}")
    response = await client.post(f"{EVENTS}/{created['id']}/restore")
    assert response.status_code == 200, response.text
    assert response.json()["deletedAt"] is None
    assert {**response.json(), "updatedAt": None} == {**created, "updatedAt": None}
    assert await listed(client) == [created["id"]]


async def test_restore_of_a_live_event_changes_nothing(client: httpx.AsyncClient) -> None:
    created = await create_event(client)
    response = await client.post(f"{EVENTS}/{created['id']}/restore")
    assert response.status_code == 200
    assert response.json() == created


async def test_restore_of_an_unknown_event_is_404(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(client, storage, "POST", f"{EVENTS}/ghost/restore", status=404)


async def test_restore_when_the_slug_was_taken_meanwhile_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    old = await create_event(client, slug="launch")
    await client.delete(f"{EVENTS}/{old['id']}")
    await create_event(client, slug="launch")
    await assert_refused(
        client,
        storage,
        "POST",
        f"{EVENTS}/{old['id']}/restore",
        status=409,
        code="event_slug_taken",
    )
    assert_problem(await client.get(f"{EVENTS}/{old['id']}"), 404)
