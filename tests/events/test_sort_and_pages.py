"""GET /events: sorting, keyset pages, totals and bad paging parameters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.assertions import assert_problem
from tests.support.events_api import EVENTS, at, ids, listed
from tests.support.factories import create_event


async def walk(client: httpx.AsyncClient, **params: Any) -> list[list[str]]:
    """Follow nextCursor from the first page to the last; the ids of each page."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = await client.get(
            EVENTS, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        pages.append(ids(response))
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not terminate"


async def test_list_sorts_by_title_case_insensitively(client: httpx.AsyncClient) -> None:
    b = await create_event(client, title="banana")
    a = await create_event(client, title="Apple")
    c = await create_event(client, title="cherry")
    assert await listed(client, sort="title") == [a["id"], b["id"], c["id"]]
    assert await listed(client, sort="-title") == [c["id"], b["id"], a["id"]]


async def test_list_sorts_by_start_time_descending(client: httpx.AsyncClient) -> None:
    early = await create_event(client, startAt=at(), endAt=at(hours=1))
    late = await create_event(client, startAt=at(days=1), endAt=at(days=1, hours=1))
    assert await listed(client, sort="-start_at") == [late["id"], early["id"]]


async def test_list_sorts_by_creation_time(client: httpx.AsyncClient) -> None:
    first = await create_event(client, startAt=at(days=2), endAt=at(days=2, hours=1))
    second = await create_event(client, startAt=at(), endAt=at(hours=1))
    assert await listed(client, sort="created_at") == [first["id"], second["id"]]
    assert await listed(client, sort="-createdAt") == [second["id"], first["id"]]


async def test_list_refuses_a_sort_field_outside_the_allow_list(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(EVENTS, params={"sort": "capacity"})
    assert_problem(response, 422, field="sort")


async def test_keyset_pages_visit_every_event_once_in_order(client: httpx.AsyncClient) -> None:
    titles = ["b", "a", "c", "a", "b", "d", "a"]
    created = [await create_event(client, title=t) for t in titles]
    pages = await walk(client, sort="title", limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [i for p in pages for i in p]
    assert flat == await listed(client, sort="title", limit=100)
    assert sorted(flat) == sorted(e["id"] for e in created)


async def test_keyset_pages_keep_the_filters(client: httpx.AsyncClient) -> None:
    wanted = [await create_event(client, status="active") for _ in range(5)]
    for _ in range(3):
        await create_event(client, status="draft")
    pages = await walk(client, status="active", limit=2)
    assert [i for p in pages for i in p] == [e["id"] for e in wanted]


async def test_a_cursor_from_another_sort_is_400(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create_event(client)
    cursor = (await client.get(EVENTS, params={"limit": 1})).json()["nextCursor"]
    response = await client.get(EVENTS, params={"limit": 1, "sort": "title", "cursor": cursor})
    assert_problem(response, 400, code="invalid_cursor")


async def test_a_tampered_cursor_is_400(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create_event(client)
    cursor = (await client.get(EVENTS, params={"limit": 1})).json()["nextCursor"]
    response = await client.get(EVENTS, params={"limit": 1, "cursor": cursor[:-2] + "xx"})
    assert_problem(response, 400, code="invalid_cursor")


async def test_include_total_counts_every_match_not_just_the_page(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(4):
        await create_event(client)
    body = (await client.get(EVENTS, params={"limit": 1, "include_total": "true"})).json()
    assert (len(body["items"]), body["total"]) == (1, 4)


@pytest.mark.parametrize("limit", ["0", "101", "many"])
async def test_list_with_a_bad_limit_is_422(client: httpx.AsyncClient, limit: str) -> None:
    assert_problem(await client.get(EVENTS, params={"limit": limit}), 422, field="limit")


async def test_list_with_an_unknown_query_parameter_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(EVENTS, params={"colour": "red"}), 422)
