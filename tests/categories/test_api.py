"""The categories HTTP API, end to end over the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.factories import category_payload, create_category, create_event

CATEGORIES = "/api/v1/categories"
EVENTS = "/api/v1/events"


async def read(client: httpx.AsyncClient, category_id: str) -> dict[str, Any]:
    response = await client.get(f"{CATEGORIES}/{category_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(CATEGORIES, params=params)
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["items"]]


# --- POST ----------------------------------------------------------------------------------


async def test_create_returns_201_with_every_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        CATEGORIES, json={"name": "Meetups", "description": "Evening talks"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "description",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
    }
    assert (body["name"], body["description"]) == ("Meetups", "Evening talks")
    assert body["createdAt"] == body["updatedAt"]


async def test_create_points_location_at_the_new_category(client: httpx.AsyncClient) -> None:
    response = await client.post(CATEGORIES, json={"name": "Workshops"})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{CATEGORIES}/{response.json()['id']}"
    assert (await client.get(response.headers["Location"])).json() == response.json()


async def test_created_category_can_be_read_back(client: httpx.AsyncClient) -> None:
    created = await create_category(client, description="Hands-on")
    assert await read(client, created["id"]) == created


async def test_create_keeps_a_client_chosen_id(client: httpx.AsyncClient) -> None:
    assert (await create_category(client, id="meetups"))["id"] == "meetups"


async def test_create_trims_the_name(client: httpx.AsyncClient) -> None:
    assert (await create_category(client, name="  Meetups  "))["name"] == "Meetups"


async def test_create_stores_a_blank_description_as_none(client: httpx.AsyncClient) -> None:
    assert (await create_category(client, description=""))["description"] is None


async def test_create_with_a_taken_id_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_category(client, id="same")
    await assert_refused(
        client,
        storage,
        "POST",
        CATEGORIES,
        status=409,
        code="category_id_taken",
        json=category_payload(id="same"),
    )


async def test_create_with_a_taken_name_in_another_case_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_category(client, name="Meetups")
    await assert_refused(
        client,
        storage,
        "POST",
        CATEGORIES,
        status=409,
        code="category_name_taken",
        json={"name": "MEETUPS"},
    )


BAD_CREATES: list[tuple[str, dict[str, Any], str]] = [
    ("missing name", {}, "name"),
    ("null name", {"name": None}, "name"),
    ("blank name", {"name": "   "}, "name"),
    ("name too long", {"name": "x" * 101}, "name"),
    ("description too long", {"name": "Ok", "description": "x" * 2001}, "description"),
    ("bad id", {"name": "Ok", "id": "no spaces"}, "id"),
    ("unknown field", {"name": "Ok", "colour": "red"}, "colour"),
    ("read-only createdAt", {"name": "Ok", "createdAt": "2026-01-01T00:00:00Z"}, "createdAt"),
    ("read-only updatedAt", {"name": "Ok", "updatedAt": "2026-01-01T00:00:00Z"}, "updatedAt"),
]


@pytest.mark.parametrize(
    ("payload", "field"), [pytest.param(p, f, id=name) for name, p, f in BAD_CREATES]
)
async def test_create_with_bad_input_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, payload: dict[str, Any], field: str
) -> None:
    await assert_refused(client, storage, "POST", CATEGORIES, status=422, field=field, json=payload)


# --- GET -----------------------------------------------------------------------------------


async def test_get_of_an_unknown_category_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{CATEGORIES}/ghost"), 404, code="category_not_found")


async def test_list_orders_by_name_case_insensitively(client: httpx.AsyncClient) -> None:
    for name in ("banana", "Apple", "cherry"):
        await create_category(client, name=name)
    assert await names(client) == ["Apple", "banana", "cherry"]


async def test_list_pages_by_key_through_every_category_once(client: httpx.AsyncClient) -> None:
    for letter in "gfedcba":
        await create_category(client, name=f"Category {letter}")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await client.get(CATEGORIES, params=params)
        seen.extend(c["name"] for c in response.json()["items"])
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"Category {letter}" for letter in "abcdefg"]


async def test_list_with_a_tampered_cursor_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(CATEGORIES, params={"cursor": "not-a-cursor"})
    assert_problem(response, 400, code="invalid_cursor")


# --- PUT / PATCH ---------------------------------------------------------------------------


async def test_put_replaces_the_name_and_clears_a_description_not_sent(
    client: httpx.AsyncClient,
) -> None:
    created = await create_category(client, name="Meetups", description="Talks")
    response = await client.put(f"{CATEGORIES}/{created['id']}", json={"name": "Gatherings"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["description"]) == ("Gatherings", None)
    assert body["createdAt"] == created["createdAt"]
    assert datetime.fromisoformat(body["updatedAt"]) > datetime.fromisoformat(created["updatedAt"])
    assert await read(client, created["id"]) == body


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    created = await create_category(client, name="Meetups", description="Talks")
    response = await client.patch(f"{CATEGORIES}/{created['id']}", json={"description": "New"})
    body = response.json()
    assert (body["name"], body["description"]) == ("Meetups", "New")


async def test_patch_may_change_the_case_of_its_own_name(client: httpx.AsyncClient) -> None:
    created = await create_category(client, name="meetups")
    response = await client.patch(f"{CATEGORIES}/{created['id']}", json={"name": "Meetups"})
    assert response.json()["name"] == "Meetups"


async def test_renaming_a_category_shows_in_its_events(client: httpx.AsyncClient) -> None:
    category = await create_category(client, name="Meetups")
    event = await create_event(client, categoryId=category["id"])
    await client.patch(f"{CATEGORIES}/{category['id']}", json={"name": "Gatherings"})
    response = await client.get(f"{EVENTS}/{event['id']}")
    assert response.json()["category"] == {"id": category["id"], "name": "Gatherings"}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_taking_another_categorys_name_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, method: str
) -> None:
    await create_category(client, name="Meetups")
    created = await create_category(client, name="Workshops")
    await assert_refused(
        client,
        storage,
        method,
        f"{CATEGORIES}/{created['id']}",
        status=409,
        code="category_name_taken",
        json={"name": "meetups"},
    )


@pytest.mark.parametrize(
    ("method", "payload", "field"),
    [
        pytest.param("PATCH", {"name": None}, "name", id="patch null name"),
        pytest.param("PATCH", {"name": ""}, "name", id="patch empty name"),
        pytest.param("PATCH", {"id": "other"}, "id", id="patch id"),
        pytest.param("PUT", {}, "name", id="put without name"),
        pytest.param("PUT", {"name": "Ok", "id": "x"}, "id", id="put id"),
        pytest.param("PUT", {"name": "Ok", "extra": 1}, "extra", id="put unknown field"),
    ],
)
async def test_a_bad_update_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    storage: Storage,
    method: str,
    payload: dict[str, Any],
    field: str,
) -> None:
    created = await create_category(client)
    await assert_refused(
        client,
        storage,
        method,
        f"{CATEGORIES}/{created['id']}",
        status=422,
        field=field,
        json=payload,
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_updating_an_unknown_category_is_404(
    client: httpx.AsyncClient, storage: Storage, method: str
) -> None:
    await assert_refused(
        client,
        storage,
        method,
        f"{CATEGORIES}/ghost",
        status=404,
        code="category_not_found",
        json={"name": "Anything"},
    )


# --- DELETE --------------------------------------------------------------------------------


async def test_delete_returns_204_and_the_category_is_gone(client: httpx.AsyncClient) -> None:
    created = await create_category(client)
    response = await client.delete(f"{CATEGORIES}/{created['id']}")
    assert response.status_code == 204
    assert_problem(await client.get(f"{CATEGORIES}/{created['id']}"), 404)
    assert await names(client) == []


async def test_delete_frees_the_name(client: httpx.AsyncClient) -> None:
    created = await create_category(client, name="Meetups")
    await client.delete(f"{CATEGORIES}/{created['id']}")
    assert (await create_category(client, name="Meetups"))["name"] == "Meetups"


async def test_delete_of_an_unknown_category_is_404(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client, storage, "DELETE", f"{CATEGORIES}/ghost", status=404, code="category_not_found"
    )


async def test_delete_of_a_category_in_use_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    category = await create_category(client)
    await create_event(client, categoryId=category["id"])
    await assert_refused(
        client,
        storage,
        "DELETE",
        f"{CATEGORIES}/{category['id']}",
        status=409,
        code="category_in_use",
    )


async def test_a_soft_deleted_event_keeps_its_category_in_use(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    category = await create_category(client)
    event = await create_event(client, categoryId=category["id"])
    await client.delete(f"{EVENTS}/{event['id']}")
    await assert_refused(
        client,
        storage,
        "DELETE",
        f"{CATEGORIES}/{category['id']}",
        status=409,
        code="category_in_use",
    )


async def test_a_category_can_be_deleted_once_its_events_moved_away(
    client: httpx.AsyncClient,
) -> None:
    old, new = await create_category(client), await create_category(client)
    event = await create_event(client, categoryId=old["id"])
    await client.patch(f"{EVENTS}/{event['id']}", json={"categoryId": new["id"]})
    assert (await client.delete(f"{CATEGORIES}/{old['id']}")).status_code == 204
