"""The events HTTP API, end to end over the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eventcrm.storage.sql.storage import SqlStorage
from tests.assertions import assert_problem, assert_refused
from tests.factories import (
    create_category,
    create_event,
    create_user,
    event_payload,
    iso,
    register,
)

EVENTS = "/api/v1/events"
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
STATUSES = ("draft", "scheduled", "active", "completed", "cancelled")
#: The allowed status changes, as the issue describes them: cancelled is final.
ALLOWED = {
    ("draft", "scheduled"),
    ("draft", "active"),
    ("draft", "cancelled"),
    ("scheduled", "draft"),
    ("scheduled", "active"),
    ("scheduled", "completed"),
    ("scheduled", "cancelled"),
    ("active", "completed"),
    ("active", "cancelled"),
    ("completed", "active"),
}
#: Marks a field left out of a request body.
MISSING: Any = object()
CHANGES = [(a, b) for a in STATUSES for b in STATUSES if a != b]


def at(days: float = 0, hours: float = 0) -> str:
    return iso(T0 + timedelta(days=days, hours=hours))


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


async def listed(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return ids(await client.get(EVENTS, params=params))


async def counted(client: httpx.AsyncClient, **params: Any) -> int:
    response = await client.get(f"{EVENTS}/count", params=params)
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def read(client: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    response = await client.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


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


# --- POST /events --------------------------------------------------------------------------


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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage, overrides: dict[str, Any], field: str
) -> None:
    payload = {k: v for k, v in event_payload(**overrides).items() if v is not MISSING}
    await assert_refused(client, storage, "POST", EVENTS, status=422, field=field, json=payload)


async def test_create_with_an_unknown_category_is_422_naming_the_field(
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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


# --- GET /events/{id} and /events/by-slug/{slug} -------------------------------------------


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


# --- PUT /events/{id} ----------------------------------------------------------------------


async def test_put_replaces_every_field_and_clears_the_optional_ones_not_sent(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(
        client, venue="Hall A", description="Old", organizer="Ada", capacity=10
    )
    response = await client.put(
        f"{EVENTS}/{created['id']}",
        json={"title": "Replaced", "startAt": at(days=3), "endAt": at(days=3, hours=1)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["startAt"], body["endAt"]) == (
        "Replaced",
        at(days=3),
        at(days=3, hours=1),
    )
    assert (body["venue"], body["description"], body["organizer"], body["capacity"]) == (
        None,
        None,
        None,
        None,
    )
    assert await read(client, created["id"]) == body


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


async def test_put_of_an_unknown_event_is_404(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    await assert_refused(
        client, storage, "PUT", f"{EVENTS}/ghost", status=404, json=event_payload()
    )


async def test_put_without_a_required_field_is_422_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    created = await create_event(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{EVENTS}/{created['id']}",
        status=422,
        field="startAt",
        json={"title": "No dates", "endAt": at()},
    )


async def test_put_with_the_id_is_422(client: httpx.AsyncClient, storage: SqlStorage) -> None:
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage, changes: dict[str, Any], field: str
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    await assert_refused(
        client, storage, "PATCH", f"{EVENTS}/ghost", status=404, json={"title": "x"}
    )


async def test_patch_of_a_deleted_event_is_404(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
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


# --- status transitions --------------------------------------------------------------------


@pytest.mark.parametrize(("current", "requested"), sorted(ALLOWED))
async def test_an_allowed_status_change_succeeds(
    client: httpx.AsyncClient, current: str, requested: str
) -> None:
    created = await create_event(client, status=current)
    response = await client.patch(f"{EVENTS}/{created['id']}", json={"status": requested})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == requested
    assert (await read(client, created["id"]))["status"] == requested


@pytest.mark.parametrize(("current", "requested"), [c for c in CHANGES if c not in ALLOWED])
async def test_a_disallowed_status_change_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage, current: str, requested: str
) -> None:
    created = await create_event(client, status=current)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{created['id']}",
        status=409,
        code="invalid_status_transition",
        json={"status": requested},
    )


@pytest.mark.parametrize("status", STATUSES)
async def test_sending_the_current_status_again_is_accepted(
    client: httpx.AsyncClient, status: str
) -> None:
    created = await create_event(client, status=status)
    response = await client.patch(
        f"{EVENTS}/{created['id']}", json={"status": status, "venue": "Hall C"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["venue"]) == (status, "Hall C")


async def test_a_cancelled_event_cannot_be_reopened_by_put(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    created = await create_event(client, status="cancelled")
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{EVENTS}/{created['id']}",
        status=409,
        code="invalid_status_transition",
        json=event_payload(status="scheduled"),
    )


async def test_the_refused_status_change_names_the_allowed_ones(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client, status="active")
    response = await client.patch(f"{EVENTS}/{created['id']}", json={"status": "draft"})
    detail = assert_problem(response, 409)["detail"]
    assert "completed" in detail
    assert "cancelled" in detail


async def test_a_status_change_with_other_fields_is_refused_as_a_whole(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client, status="cancelled", venue="Hall A")
    response = await client.patch(
        f"{EVENTS}/{created['id']}", json={"status": "active", "venue": "Hall B"}
    )
    assert_problem(response, 409, code="invalid_status_transition")
    assert (await read(client, created["id"]))["venue"] == "Hall A"


# --- DELETE and restore --------------------------------------------------------------------


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
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    await assert_refused(client, storage, "DELETE", f"{EVENTS}/ghost", status=404)


async def test_deleting_twice_is_404_the_second_time(
    client: httpx.AsyncClient, storage: SqlStorage
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
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    await assert_refused(client, storage, "POST", f"{EVENTS}/ghost/restore", status=404)


async def test_restore_when_the_slug_was_taken_meanwhile_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: SqlStorage
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


# --- GET /events: filters --------------------------------------------------------------------


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


# --- GET /events: sorting and keyset pages ---------------------------------------------------


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


# --- GET /events/count ---------------------------------------------------------------------


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
