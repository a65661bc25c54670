"""GET /events/count, and ids that would shadow an endpoint."""

from __future__ import annotations

import httpx
import pytest

from tests.support.assertions import assert_problem
from tests.support.events_api import EVENTS, at, counted
from tests.support.factories import create_category, create_event, create_user, event_payload


async def test_count_with_no_events_is_zero(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{EVENTS}/count")
    assert response.status_code == 200
    assert response.json() == {"count": 0}


async def test_count_filters_by_status(client: httpx.AsyncClient) -> None:
    await create_event(client, status="draft")
    await create_event(client, status="draft")
    await create_event(client, status="active")
    response = await client.get(f"{EVENTS}/count", params=[("status", "draft")])
    assert response.json() == {"count": 2}


async def test_count_filters_by_category_host_and_owner(client: httpx.AsyncClient) -> None:
    category, person = await create_category(client), await create_user(client)
    await create_event(client, categoryId=category["id"], ownerId=person["id"])
    await create_event(client, categoryId=category["id"])
    await create_event(client, hostIds=[person["id"]])
    assert await counted(client, category_id=category["id"]) == 2
    assert await counted(client, owner_id=person["id"]) == 1
    assert await counted(client, host_id=person["id"]) == 1


async def test_count_filters_by_date_range_and_text(client: httpx.AsyncClient) -> None:
    await create_event(client, title="Python", startAt=at(), endAt=at(hours=1))
    await create_event(client, title="Python", startAt=at(days=3), endAt=at(days=3, hours=1))
    await create_event(client, title="Rust", startAt=at(days=3), endAt=at(days=3, hours=1))
    assert await counted(client, q="python") == 2
    assert await counted(client, q="python", start_after=at(days=1)) == 1
    assert await counted(client, end_before=at(hours=1)) == 1


async def test_count_rejects_paging_parameters(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{EVENTS}/count", params={"limit": 5}), 422)


@pytest.mark.parametrize("reserved", ["count", "by-slug"])
async def test_an_event_id_that_names_an_endpoint_is_refused(
    client: httpx.AsyncClient, reserved: str
) -> None:
    response = await client.post("/api/v1/events", json=event_payload(id=reserved))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id"
    assert (await client.get("/api/v1/events/count")).json() == {"count": 0}
