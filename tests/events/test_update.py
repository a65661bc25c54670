"""PUT and PATCH /events/{id}: changing an event (both change only what they are sent),
and refusing bad changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.events_api import EVENTS, at, read
from tests.support.factories import (
    create_category,
    create_event,
    create_user,
    event_payload,
    register,
)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- PUT /events/{id} ----------------------------------------------------------------------


async def test_put_changes_only_the_fields_sent_and_keeps_the_others(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(
        client, venue="Hall A", description="Old", organizer="Ada", capacity=10
    )
    response = await client.put(
        f"{EVENTS}/{created['id']}",
        json={"title": "Renamed", "startAt": at(days=3), "endAt": at(days=3, hours=1)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["startAt"], body["endAt"]) == (
        "Renamed",
        at(days=3),
        at(days=3, hours=1),
    )
    assert (body["venue"], body["description"], body["organizer"], body["capacity"]) == (
        "Hall A",
        "Old",
        "Ada",
        10,
    )
    assert await read(client, created["id"]) == body


async def test_put_with_null_clears_an_optional_field(client: httpx.AsyncClient) -> None:
    created = await create_event(client, venue="Hall A", capacity=10)
    response = await client.put(f"{EVENTS}/{created['id']}", json={"venue": None})
    assert response.status_code == 200, response.text
    assert (response.json()["venue"], response.json()["capacity"]) == (None, 10)


async def test_put_without_a_slug_keeps_the_current_slug(client: httpx.AsyncClient) -> None:
    created = await create_event(client, slug="launch")
    response = await client.put(f"{EVENTS}/{created['id']}", json=event_payload(title="Renamed"))
    assert response.json()["slug"] == "launch"


async def test_put_keeps_the_id_creation_time_and_counters(client: httpx.AsyncClient) -> None:
    created = await create_event(client, capacity=5)
    attendee = await create_user(client)
    await register(client, created["id"], attendee["id"])
    response = await client.put(f"{EVENTS}/{created['id']}", json=event_payload(capacity=5))
    body = response.json()
    assert (body["id"], body["createdAt"], body["registeredCount"]) == (
        created["id"],
        created["createdAt"],
        1,
    )
    assert when(body["updatedAt"]) > when(created["updatedAt"])


async def test_put_of_an_unknown_event_is_404(client: httpx.AsyncClient, storage: Storage) -> None:
    await assert_refused(
        client, storage, "PUT", f"{EVENTS}/ghost", status=404, json=event_payload()
    )


async def test_put_clearing_a_required_field_is_422_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_event(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{EVENTS}/{created['id']}",
        status=422,
        field="startAt",
        json={"title": "No dates", "startAt": None},
    )


async def test_put_with_the_id_is_422(client: httpx.AsyncClient, storage: Storage) -> None:
    created = await create_event(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{EVENTS}/{created['id']}",
        status=422,
        field="id",
        json=event_payload(id="other"),
    )


async def test_put_with_a_taken_slug_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_event(client, slug="taken")
    created = await create_event(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{EVENTS}/{created['id']}",
        status=409,
        code="event_slug_taken",
        json=event_payload(slug="taken"),
    )


# --- PATCH /events/{id} --------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    created = await create_event(client, venue="Hall A", capacity=10, description="Talks")
    response = await client.patch(f"{EVENTS}/{created['id']}", json={"venue": "Hall B"})
    assert response.status_code == 200, response.text
    body = response.json()
    unchanged = {k: v for k, v in created.items() if k not in ("venue", "updatedAt")}
    assert {k: v for k, v in body.items() if k not in ("venue", "updatedAt")} == unchanged
    assert body["venue"] == "Hall B"
    assert when(body["updatedAt"]) > when(created["updatedAt"])


async def test_patch_with_null_clears_an_optional_field(client: httpx.AsyncClient) -> None:
    created = await create_event(client, venue="Hall A", capacity=10)
    response = await client.patch(
        f"{EVENTS}/{created['id']}", json={"venue": None, "capacity": None}
    )
    assert (response.json()["venue"], response.json()["capacity"]) == (None, None)


async def test_patch_with_an_empty_body_changes_nothing_but_the_update_time(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client)
    body = (await client.patch(f"{EVENTS}/{created['id']}", json={})).json()
    assert {**body, "updatedAt": None} == {**created, "updatedAt": None}


async def test_patch_can_move_the_event_in_time(client: httpx.AsyncClient) -> None:
    created = await create_event(client, startAt=at(), endAt=at(hours=1))
    body = (
        await client.patch(
            f"{EVENTS}/{created['id']}", json={"startAt": at(days=5), "endAt": at(days=5, hours=3)}
        )
    ).json()
    assert (body["startAt"], body["endAt"]) == (at(days=5), at(days=5, hours=3))


async def test_patch_can_take_the_slug_of_a_deleted_event(client: httpx.AsyncClient) -> None:
    old = await create_event(client, slug="launch")
    await client.delete(f"{EVENTS}/{old['id']}")
    created = await create_event(client)
    response = await client.patch(f"{EVENTS}/{created['id']}", json={"slug": "launch"})
    assert response.json()["slug"] == "launch"


async def test_patch_to_a_new_category_embeds_it(client: httpx.AsyncClient) -> None:
    category = await create_category(client, name="Workshops")
    created = await create_event(client)
    body = (
        await client.patch(f"{EVENTS}/{created['id']}", json={"categoryId": category["id"]})
    ).json()
    assert body["category"] == {"id": category["id"], "name": "Workshops"}


BAD_PATCHES: list[tuple[str, dict[str, Any], str]] = [
    ("null title", {"title": None}, "title"),
    ("null slug", {"slug": None}, "slug"),
    ("null startAt", {"startAt": None}, "startAt"),
    ("null status", {"status": None}, "status"),
    ("null hostIds", {"hostIds": None}, "hostIds"),
    ("null waitlistEnabled", {"waitlistEnabled": None}, "waitlistEnabled"),
    ("naive endAt", {"endAt": "2026-09-01T12:00:00"}, "endAt"),
    ("end before start in the body", {"startAt": at(hours=3), "endAt": at()}, "endAt"),
    ("end before the stored start", {"endAt": at(days=-30)}, "endAt"),
    ("start after the stored end", {"startAt": at(days=30)}, "endAt"),
    ("negative capacity", {"capacity": -5}, "capacity"),
    ("capacity over the maximum", {"capacity": 10**7}, "capacity"),
    ("bad slug", {"slug": "Bad Slug"}, "slug"),
    ("bad time zone", {"timezone": "Atlantis/Capital"}, "timezone"),
    ("unknown category", {"categoryId": "ghost"}, "categoryId"),
    ("unknown owner", {"ownerId": "ghost"}, "ownerId"),
    ("unknown host", {"hostIds": ["ghost"]}, "hostIds"),
    ("repeated host", {"hostIds": ["h1", "h1"]}, "hostIds"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("read-only registeredCount", {"registeredCount": 0}, "registeredCount"),
    ("read-only id", {"id": "other"}, "id"),
    ("read-only updatedAt", {"updatedAt": at()}, "updatedAt"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [pytest.param(c, f, id=name) for name, c, f in BAD_PATCHES],
)
async def test_patch_with_bad_input_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, changes: dict[str, Any], field: str
) -> None:
    created = await create_event(client, startAt=at(), endAt=at(hours=2))
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{created['id']}",
        status=422,
        field=field,
        json=changes,
    )
    assert await read(client, created["id"]) == created


async def test_patch_making_the_owner_a_host_is_422(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    owner = await create_user(client)
    created = await create_event(client, ownerId=owner["id"])
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{created['id']}",
        status=422,
        field="hostIds",
        json={"hostIds": [owner["id"]]},
    )


async def test_patch_with_a_taken_slug_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_event(client, slug="taken")
    created = await create_event(client)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{created['id']}",
        status=409,
        code="event_slug_taken",
        json={"slug": "taken"},
    )


async def test_patch_of_an_unknown_event_is_404(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client, storage, "PATCH", f"{EVENTS}/ghost", status=404, json={"title": "x"}
    )


async def test_patch_of_a_deleted_event_is_404(client: httpx.AsyncClient, storage: Storage) -> None:
    created = await create_event(client)
    await client.delete(f"{EVENTS}/{created['id']}")
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{created['id']}",
        status=404,
        code="event_not_found",
        json={"title": "x"},
    )
