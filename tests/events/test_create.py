"""POST /events: creating an event (defaults, slugs, people, categories) and refusing bad input."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.events_api import EVENTS, at, read
from tests.support.factories import create_category, create_event, create_user, event_payload

#: Marks a field left out of a request body.
MISSING: Any = object()


async def test_create_returns_201_with_every_field_and_the_defaults(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        EVENTS, json={"title": "Launch", "startAt": at(), "endAt": at(hours=2)}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "slug",
        "title",
        "description",
        "startAt",
        "endAt",
        "timezone",
        "venue",
        "capacity",
        "waitlistEnabled",
        "status",
        "categoryId",
        "category",
        "organizer",
        "ownerId",
        "hostIds",
        "registeredCount",
        "waitlistCount",
        "seatsLeft",
        "createdAt",
        "updatedAt",
        "deletedAt",
        "createdBy",
        "updatedBy",
    }
    assert {k: body[k] for k in ("title", "startAt", "endAt")} == {
        "title": "Launch",
        "startAt": at(),
        "endAt": at(hours=2),
    }
    assert body["status"] == "scheduled"
    assert body["waitlistEnabled"] is True
    assert body["capacity"] is None
    assert (body["registeredCount"], body["waitlistCount"], body["seatsLeft"]) == (0, 0, None)
    assert (body["hostIds"], body["ownerId"], body["category"], body["deletedAt"]) == (
        [],
        None,
        None,
        None,
    )


async def test_create_stores_every_optional_field(client: httpx.AsyncClient) -> None:
    fields = {
        "description": "Talks and pizza",
        "timezone": "America/Chicago",
        "venue": "Hall A",
        "capacity": 40,
        "waitlistEnabled": False,
        "status": "draft",
        "organizer": "Ada",
        "slug": "talks-and-pizza",
    }
    created = await create_event(client, **fields)
    assert {k: created[k] for k in fields} == fields
    assert created["seatsLeft"] == 40


async def test_created_event_can_be_read_back(client: httpx.AsyncClient) -> None:
    created = await create_event(client, venue="Hall A")
    assert await read(client, created["id"]) == created


async def test_create_points_location_at_the_new_event(client: httpx.AsyncClient) -> None:
    response = await client.post(EVENTS, json=event_payload())
    assert response.headers["location"] == f"{EVENTS}/{response.json()['id']}"


async def test_create_keeps_a_client_chosen_id(client: httpx.AsyncClient) -> None:
    created = await create_event(client, id="launch-2026")
    assert created["id"] == "launch-2026"


async def test_create_returns_times_in_utc(client: httpx.AsyncClient) -> None:
    created = await create_event(
        client, startAt="2026-09-01T20:00:00+02:00", endAt="2026-09-01T22:30:00+02:00"
    )
    assert (created["startAt"], created["endAt"]) == (
        "2026-09-01T18:00:00Z",
        "2026-09-01T20:30:00Z",
    )


async def test_create_generates_a_url_safe_slug_from_the_title(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client, title="Python Meetup: Austin, Ünïcode & more!")
    assert created["slug"] == "python-meetup-austin-unicode-more"


async def test_create_generates_a_slug_that_no_live_event_uses(
    client: httpx.AsyncClient,
) -> None:
    first = await create_event(client, title="Launch")
    second = await create_event(client, title="Launch")
    third = await create_event(client, title="Launch")
    assert [first["slug"], second["slug"], third["slug"]] == ["launch", "launch-2", "launch-3"]


async def test_a_title_without_letters_or_digits_gets_a_fallback_slug(
    client: httpx.AsyncClient,
) -> None:
    assert (await create_event(client, title="!!! ???"))["slug"] == "event"


async def test_a_slug_generated_from_a_long_title_is_short_and_valid(
    client: httpx.AsyncClient,
) -> None:
    slug = (await create_event(client, title="word " * 40))["slug"]
    assert 0 < len(slug) <= 100
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
    assert (await client.get(f"{EVENTS}/by-slug/{slug}")).status_code == 200


async def test_create_may_reuse_the_slug_of_a_deleted_event(client: httpx.AsyncClient) -> None:
    old = await create_event(client, slug="launch")
    assert (await client.delete(f"{EVENTS}/{old['id']}")).status_code == 204
    fresh = await create_event(client, slug="launch")
    generated = await create_event(client, title="Other launch", slug=None)
    assert fresh["slug"] == "launch"
    assert generated["slug"] == "other-launch"


async def test_create_accepts_snake_case_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        EVENTS,
        json={"title": "Snake", "start_at": at(), "end_at": at(hours=1), "waitlist_enabled": False},
    )
    assert response.status_code == 201, response.text
    assert response.json()["waitlistEnabled"] is False


async def test_create_embeds_the_category(client: httpx.AsyncClient) -> None:
    category = await create_category(client, name="Meetups")
    created = await create_event(client, categoryId=category["id"])
    assert created["categoryId"] == category["id"]
    assert created["category"] == {"id": category["id"], "name": "Meetups"}


async def test_create_with_an_owner_and_hosts_lists_them(client: httpx.AsyncClient) -> None:
    owner, a, b = [await create_user(client) for _ in range(3)]
    created = await create_event(client, ownerId=owner["id"], hostIds=[a["id"], b["id"]])
    assert created["ownerId"] == owner["id"]
    assert sorted(created["hostIds"]) == sorted([a["id"], b["id"]])


async def test_create_with_a_taken_id_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_event(client, id="same")
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=409,
        code="event_id_taken",
        json=event_payload(id="same"),
    )


async def test_create_with_the_id_of_a_deleted_event_is_409(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_event(client, id="same")
    await client.delete(f"{EVENTS}/same")
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=409,
        code="event_id_taken",
        json=event_payload(id="same"),
    )


async def test_create_with_a_live_events_slug_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_event(client, slug="launch")
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=409,
        code="event_slug_taken",
        json=event_payload(slug="launch"),
    )


BAD_CREATES: list[tuple[str, dict[str, Any], str]] = [
    ("missing title", {"title": MISSING}, "title"),
    ("null title", {"title": None}, "title"),
    ("empty title", {"title": ""}, "title"),
    ("title too long", {"title": "x" * 201}, "title"),
    ("missing startAt", {"startAt": MISSING}, "startAt"),
    ("missing endAt", {"endAt": MISSING}, "endAt"),
    ("null startAt", {"startAt": None}, "startAt"),
    ("startAt not a date", {"startAt": "next tuesday"}, "startAt"),
    ("endAt impossible date", {"endAt": "2026-02-30T10:00:00Z"}, "endAt"),
    ("naive startAt", {"startAt": "2026-09-01T09:00:00"}, "startAt"),
    ("naive endAt", {"endAt": "2026-09-01T11:00:00"}, "endAt"),
    ("end before start", {"startAt": at(hours=2), "endAt": at()}, "endAt"),
    ("end equal to start", {"startAt": at(), "endAt": at()}, "endAt"),
    ("negative capacity", {"capacity": -1}, "capacity"),
    ("capacity over the maximum", {"capacity": 1_000_001}, "capacity"),
    ("fractional capacity", {"capacity": 2.5}, "capacity"),
    ("text capacity", {"capacity": "ten"}, "capacity"),
    ("slug with spaces", {"slug": "Bad Slug"}, "slug"),
    ("slug in upper case", {"slug": "Launch"}, "slug"),
    ("slug with a double hyphen", {"slug": "a--b"}, "slug"),
    ("slug with a leading hyphen", {"slug": "-launch"}, "slug"),
    ("slug too long", {"slug": "a" * 121}, "slug"),
    ("unknown time zone", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ("UTC offset as a time zone", {"timezone": "+02:00"}, "timezone"),
    ("unknown status", {"status": "open"}, "status"),
    ("waitlistEnabled null", {"waitlistEnabled": None}, "waitlistEnabled"),
    ("bad id", {"id": "has space"}, "id"),
    ("bad category id", {"categoryId": "no/slash"}, "categoryId"),
    ("repeated host", {"hostIds": ["h1", "h1"]}, "hostIds"),
    ("owner also a host", {"ownerId": "o1", "hostIds": ["o1"]}, "hostIds"),
    ("unknown field", {"price": 10}, "price"),
    ("read-only registeredCount", {"registeredCount": 3}, "registeredCount"),
    ("read-only waitlistCount", {"waitlistCount": 3}, "waitlistCount"),
    ("read-only seatsLeft", {"seatsLeft": 3}, "seatsLeft"),
    ("read-only createdAt", {"createdAt": at()}, "createdAt"),
    ("read-only deletedAt", {"deletedAt": at()}, "deletedAt"),
    ("read-only category", {"category": {"id": "c", "name": "C"}}, "category"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(o, f, id=name) for name, o, f in BAD_CREATES],
)
async def test_create_with_bad_input_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, overrides: dict[str, Any], field: str
) -> None:
    payload = {k: v for k, v in event_payload(**overrides).items() if v is not MISSING}
    await assert_refused(client, storage, "POST", EVENTS, status=422, field=field, json=payload)


async def test_create_with_an_unknown_category_is_422_naming_the_field(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=422,
        field="categoryId",
        json=event_payload(categoryId="ghost"),
    )


async def test_create_with_an_unknown_owner_is_422_naming_the_field(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=422,
        field="ownerId",
        json=event_payload(ownerId="ghost"),
    )


async def test_create_with_an_unknown_host_is_422_naming_the_field(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    host = await create_user(client)
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=422,
        field="hostIds",
        json=event_payload(hostIds=[host["id"], "ghost"]),
    )


async def test_create_with_malformed_json_is_400(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=400,
        content=b'{"title": ',
        headers={"content-type": "application/json"},
    )
