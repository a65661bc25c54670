"""GET /events/{id} and /events/by-slug/{slug}."""

from __future__ import annotations

import httpx

from tests.support.assertions import assert_problem
from tests.support.events_api import EVENTS
from tests.support.factories import create_event


async def test_get_of_an_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{EVENTS}/ghost"), 404, code="event_not_found")


async def test_get_with_a_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{EVENTS}/bad%20id"), 422)


async def test_get_by_slug_returns_the_live_event(client: httpx.AsyncClient) -> None:
    created = await create_event(client, slug="launch")
    response = await client.get(f"{EVENTS}/by-slug/launch")
    assert response.status_code == 200
    assert response.json() == created


async def test_get_by_slug_of_an_unknown_slug_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{EVENTS}/by-slug/ghost"), 404, code="event_not_found")


async def test_get_by_slug_of_a_deleted_event_is_404(client: httpx.AsyncClient) -> None:
    created = await create_event(client, slug="launch")
    await client.delete(f"{EVENTS}/{created['id']}")
    assert_problem(await client.get(f"{EVENTS}/by-slug/launch"), 404)


async def test_get_by_slug_finds_the_new_event_after_the_slug_was_reused(
    client: httpx.AsyncClient,
) -> None:
    old = await create_event(client, slug="launch")
    await client.delete(f"{EVENTS}/{old['id']}")
    fresh = await create_event(client, slug="launch")
    response = await client.get(f"{EVENTS}/by-slug/launch")
    assert response.json()["id"] == fresh["id"]


async def test_get_by_slug_with_a_malformed_slug_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{EVENTS}/by-slug/Not_A_Slug"), 422)
