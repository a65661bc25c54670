"""GET /events: the default order and every filter."""

from __future__ import annotations

import httpx

from tests.support.assertions import assert_problem
from tests.support.events_api import EVENTS, at, counted, ids, listed
from tests.support.factories import create_category, create_event, create_user, register


async def test_list_is_ordered_by_start_time_by_default(client: httpx.AsyncClient) -> None:
    late = await create_event(client, startAt=at(days=2), endAt=at(days=2, hours=1))
    early = await create_event(client, startAt=at(), endAt=at(hours=1))
    middle = await create_event(client, startAt=at(days=1), endAt=at(days=1, hours=1))
    assert await listed(client) == [early["id"], middle["id"], late["id"]]


async def test_list_filters_by_one_status(client: httpx.AsyncClient) -> None:
    draft = await create_event(client, status="draft")
    await create_event(client, status="active")
    assert await listed(client, status="draft") == [draft["id"]]


async def test_list_status_filter_is_repeatable(client: httpx.AsyncClient) -> None:
    draft = await create_event(client, status="draft")
    await create_event(client, status="active")
    done = await create_event(client, status="completed")
    response = await client.get(EVENTS, params=[("status", "draft"), ("status", "completed")])
    assert ids(response) == [draft["id"], done["id"]]


async def test_list_with_an_unknown_status_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(EVENTS, params={"status": "open"}), 422, field="status.0")


async def test_list_filters_by_category(client: httpx.AsyncClient) -> None:
    category = await create_category(client)
    inside = await create_event(client, categoryId=category["id"])
    await create_event(client)
    assert await listed(client, category_id=category["id"]) == [inside["id"]]


async def test_start_after_includes_an_event_starting_exactly_then(
    client: httpx.AsyncClient,
) -> None:
    await create_event(client, startAt=at(hours=-1), endAt=at(hours=1))
    exact = await create_event(client, startAt=at(), endAt=at(hours=1))
    later = await create_event(client, startAt=at(days=1), endAt=at(days=1, hours=1))
    assert await listed(client, start_after=at()) == [exact["id"], later["id"]]


async def test_end_before_includes_an_event_ending_exactly_then(
    client: httpx.AsyncClient,
) -> None:
    earlier = await create_event(client, startAt=at(), endAt=at(hours=1))
    exact = await create_event(client, startAt=at(hours=1), endAt=at(hours=2))
    await create_event(client, startAt=at(hours=1), endAt=at(hours=3))
    assert await listed(client, end_before=at(hours=2)) == [earlier["id"], exact["id"]]


async def test_start_after_and_end_before_together_select_a_window(
    client: httpx.AsyncClient,
) -> None:
    await create_event(client, startAt=at(days=-1), endAt=at(days=-1, hours=2))
    inside = await create_event(client, startAt=at(days=1), endAt=at(days=1, hours=2))
    await create_event(client, startAt=at(days=2), endAt=at(days=9))
    params = {"start_after": at(), "end_before": at(days=3)}
    assert await listed(client, **params) == [inside["id"]]
    assert await counted(client, **params) == 1


async def test_date_filters_compare_instants_across_offsets(client: httpx.AsyncClient) -> None:
    event = await create_event(client, startAt="2026-09-01T10:00:00Z", endAt=at(days=1))
    assert await listed(client, start_after="2026-09-01T12:00:00+02:00") == [event["id"]]
    assert await listed(client, start_after="2026-09-01T12:00:01+02:00") == []


async def test_a_date_filter_without_an_offset_is_read_as_utc(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, startAt="2026-09-01T10:00:00Z", endAt=at(days=1))
    assert await listed(client, start_after="2026-09-01T10:00:00") == [event["id"]]
    assert await listed(client, start_after="2026-09-01T10:00:01") == []


async def test_a_malformed_date_filter_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(EVENTS, params={"start_after": "soon"})
    assert_problem(response, 422, field="start_after")


async def test_q_matches_title_or_description_case_insensitively(
    client: httpx.AsyncClient,
) -> None:
    by_title = await create_event(client, title="Python Meetup")
    by_description = await create_event(client, title="Evening", description="All about PYTHON")
    await create_event(client, title="Rust night", description="systems")
    assert await listed(client, q="python") == [by_title["id"], by_description["id"]]


async def test_q_requires_every_word(client: httpx.AsyncClient) -> None:
    both = await create_event(client, title="Python", description="in Austin")
    await create_event(client, title="Python in Boston")
    assert await listed(client, q="python austin") == [both["id"]]


async def test_q_treats_wildcards_literally(client: httpx.AsyncClient) -> None:
    discount = await create_event(client, title="50% off")
    await create_event(client, title="500 guests")
    assert await listed(client, q="0%") == [discount["id"]]


async def test_list_filters_by_host(client: httpx.AsyncClient) -> None:
    host, other = await create_user(client), await create_user(client)
    hosted = await create_event(client, hostIds=[host["id"]])
    await create_event(client, hostIds=[other["id"]])
    await create_event(client, ownerId=host["id"])
    assert await listed(client, host_id=host["id"]) == [hosted["id"]]


async def test_list_filters_by_owner(client: httpx.AsyncClient) -> None:
    owner = await create_user(client)
    owned = await create_event(client, ownerId=owner["id"])
    await create_event(client, hostIds=[owner["id"]])
    assert await listed(client, owner_id=owner["id"]) == [owned["id"]]


async def test_an_attendee_is_not_listed_as_a_host(client: httpx.AsyncClient) -> None:
    attendee = await create_user(client)
    event = await create_event(client)
    await register(client, event["id"], attendee["id"])
    assert await listed(client, host_id=attendee["id"]) == []


async def test_list_filters_combine(client: httpx.AsyncClient) -> None:
    owner = await create_user(client)
    match = await create_event(client, ownerId=owner["id"], status="active", title="Python")
    await create_event(client, ownerId=owner["id"], status="draft", title="Python")
    await create_event(client, status="active", title="Python")
    params = {"owner_id": owner["id"], "status": "active", "q": "pyth"}
    assert await listed(client, **params) == [match["id"]]
    assert await counted(client, **params) == 1
