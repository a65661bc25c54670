"""A user's events, registrations and waitlists over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.assertions import assert_problem
from tests.support.factories import create_event, create_user, iso, register

USERS = "/api/v1/users"
EVENTS = "/api/v1/events"
T0 = datetime(2026, 10, 1, 18, 0, tzinfo=UTC)


def on_day(day: int) -> dict[str, str]:
    start = T0 + timedelta(days=day)
    return {"startAt": iso(start), "endAt": iso(start + timedelta(hours=2))}


async def user_items(
    client: httpx.AsyncClient, user_id: str, view: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{USERS}/{user_id}/{view}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def event_ids(client: httpx.AsyncClient, user_id: str, view: str, **params: Any) -> list[str]:
    return [i["eventId"] for i in await user_items(client, user_id, view, **params)]


async def everywhere(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A user who owns one event, hosts another, attends a third and waits for a fourth."""
    me = (await create_user(client))["id"]
    other = (await create_user(client))["id"]
    owned = await create_event(client, ownerId=me, title="Owned", **on_day(1))
    hosted = await create_event(client, hostIds=[me], title="Hosted", **on_day(2))
    attended = await create_event(client, title="Attended", **on_day(3))
    waiting = await create_event(client, capacity=1, title="Waiting", **on_day(4))
    await register(client, attended["id"], me)
    await register(client, waiting["id"], other)
    await register(client, waiting["id"], me)
    ids = {"owned": owned, "hosted": hosted, "attended": attended, "waiting": waiting}
    return me, {name: e["id"] for name, e in ids.items()}


async def test_user_events_list_every_event_with_role_status_and_headline(
    client: httpx.AsyncClient,
) -> None:
    me, events = await everywhere(client)
    items = await user_items(client, me, "events")
    assert [(i["eventId"], i["role"], i["status"]) for i in items] == [
        (events["owned"], "owner", "registered"),
        (events["hosted"], "host", "registered"),
        (events["attended"], "attendee", "registered"),
        (events["waiting"], "attendee", "waitlisted"),
    ]
    first = items[0]
    assert (first["title"], first["startAt"], first["eventStatus"]) == (
        "Owned",
        on_day(1)["startAt"],
        "scheduled",
    )
    assert {"slug", "endAt", "registeredAt", "waitlistPosition", "checkedInAt"} <= set(first)


async def test_user_events_are_ordered_by_start_time(client: httpx.AsyncClient) -> None:
    me = (await create_user(client))["id"]
    later = await create_event(client, **on_day(5))
    sooner = await create_event(client, **on_day(1))
    await register(client, later["id"], me)
    await register(client, sooner["id"], me)
    assert await event_ids(client, me, "events") == [sooner["id"], later["id"]]


@pytest.mark.parametrize("role", ["owner", "host", "attendee"])
async def test_user_events_filter_by_role(client: httpx.AsyncClient, role: str) -> None:
    me, events = await everywhere(client)
    expected = {
        "owner": [events["owned"]],
        "host": [events["hosted"]],
        "attendee": [events["attended"], events["waiting"]],
    }[role]
    assert await event_ids(client, me, "events", role=role) == expected


async def test_user_events_hide_deleted_events(client: httpx.AsyncClient) -> None:
    me, events = await everywhere(client)
    await client.delete(f"{EVENTS}/{events['hosted']}")
    assert events["hosted"] not in await event_ids(client, me, "events")


async def test_user_events_show_a_restored_event_again(client: httpx.AsyncClient) -> None:
    me, events = await everywhere(client)
    await client.delete(f"{EVENTS}/{events['hosted']}")
    await client.post(f"{EVENTS}/{events['hosted']}/restore")
    assert events["hosted"] in await event_ids(client, me, "events")


async def test_user_events_page_by_key_through_every_event_once(
    client: httpx.AsyncClient,
) -> None:
    me = (await create_user(client))["id"]
    created = [await create_event(client, **on_day(d % 3)) for d in range(7)]
    for event in created:
        await register(client, event["id"], me)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{USERS}/{me}/events", params=params)
        seen.extend(i["eventId"] for i in response.json()["items"])
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(e["id"] for e in created)
    assert seen == await event_ids(client, me, "events", limit=100)


async def test_user_registrations_list_events_with_a_seat_or_a_hosting_role(
    client: httpx.AsyncClient,
) -> None:
    me, events = await everywhere(client)
    assert await event_ids(client, me, "registrations") == [
        events["owned"],
        events["hosted"],
        events["attended"],
    ]


async def test_user_waitlists_list_waitlisted_events_with_the_position(
    client: httpx.AsyncClient,
) -> None:
    me, events = await everywhere(client)
    items = await user_items(client, me, "waitlists")
    assert [(i["eventId"], i["status"], i["waitlistPosition"]) for i in items] == [
        (events["waiting"], "waitlisted", 1)
    ]


async def test_a_waitlist_position_moves_up_when_someone_ahead_leaves(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=0)
    ahead, me = (await create_user(client))["id"], (await create_user(client))["id"]
    await register(client, event["id"], ahead)
    await register(client, event["id"], me)
    assert [i["waitlistPosition"] for i in await user_items(client, me, "waitlists")] == [2]
    await client.delete(f"{EVENTS}/{event['id']}/registrations/{ahead}")
    assert [i["waitlistPosition"] for i in await user_items(client, me, "waitlists")] == [1]


async def test_a_promoted_user_moves_from_waitlists_to_registrations(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=1)
    seated, me = (await create_user(client))["id"], (await create_user(client))["id"]
    await register(client, event["id"], seated)
    await register(client, event["id"], me)
    await client.delete(f"{EVENTS}/{event['id']}/registrations/{seated}")
    assert await event_ids(client, me, "waitlists") == []
    (item,) = await user_items(client, me, "registrations")
    assert (item["eventId"], item["status"]) == (event["id"], "registered")
    assert item["promotedAt"] is not None


async def test_a_user_without_registrations_has_empty_views(client: httpx.AsyncClient) -> None:
    me = (await create_user(client))["id"]
    for view in ("events", "registrations", "waitlists"):
        assert await user_items(client, me, view) == []


@pytest.mark.parametrize("view", ["events", "registrations", "waitlists"])
async def test_the_views_of_an_unknown_user_are_404(client: httpx.AsyncClient, view: str) -> None:
    assert_problem(await client.get(f"{USERS}/ghost/{view}"), 404, code="user_not_found")


async def test_user_events_with_an_unknown_role_is_422(client: httpx.AsyncClient) -> None:
    me = (await create_user(client))["id"]
    response = await client.get(f"{USERS}/{me}/events", params={"role": "guest"})
    assert_problem(response, 422, field="role")
