"""Events written with earlier systems' field names (docs/migrating.md): aliases, an
all-day ``date``, and what a date-time field expects."""

from __future__ import annotations

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.events_api import EVENTS, read
from tests.support.factories import create_event, event_payload


async def test_the_seed_002_event_body_is_created(client: httpx.AsyncClient) -> None:
    response = await client.post(
        EVENTS,
        json={
            "eventId": "event-123",
            "title": "Tech Conference 2024",
            "description": "Annual technology conference",
            "date": "2024-12-25",
            "location": "Tokyo Convention Center",
            "capacity": 100,
            "organizer": "Tech Events Inc",
            "status": "active",
            "waitlistEnabled": True,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["venue"], body["organizer"], body["status"]) == (
        "event-123",
        "Tokyo Convention Center",
        "Tech Events Inc",
        "active",
    )
    assert (body["startAt"], body["endAt"]) == ("2024-12-25T00:00:00Z", "2024-12-26T00:00:00Z")
    assert "location" not in body
    assert "date" not in body


async def test_a_date_is_a_whole_day_in_the_events_timezone(client: httpx.AsyncClient) -> None:
    response = await client.post(
        EVENTS, json={"title": "Meetup", "date": "2027-03-14", "timezone": "America/Chicago"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    # 14 March 2027 is the day Chicago moves its clocks forward: 23 hours long.
    assert (body["startAt"], body["endAt"]) == ("2027-03-14T06:00:00Z", "2027-03-15T05:00:00Z")


@pytest.mark.parametrize(
    ("alias", "field", "value"),
    [
        ("max_capacity", "capacity", 7),
        ("maxCapacity", "capacity", 7),
        ("location", "venue", "Hall B"),
        ("event_id", "id", "ev-9"),
    ],
)
async def test_an_alias_sets_its_field(
    client: httpx.AsyncClient, alias: str, field: str, value: object
) -> None:
    response = await client.post(EVENTS, json=event_payload(**{alias: value}))
    assert response.status_code == 201, response.text
    assert response.json()[field] == value


async def test_start_date_and_end_date_set_the_times(client: httpx.AsyncClient) -> None:
    payload = event_payload()
    del payload["startAt"], payload["endAt"]
    response = await client.post(
        EVENTS,
        json={**payload, "start_date": "2027-01-01T09:00:00Z", "end_date": "2027-01-01T17:00:00Z"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["endAt"] == "2027-01-01T17:00:00Z"


async def test_location_and_a_different_venue_are_refused_naming_both(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        json=event_payload(location="Hall A", venue="Hall B"),
        status=422,
        field="location",
    )
    assert "venue" in body["errors"][0]["message"]


async def test_a_date_beside_a_different_start_is_refused(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        json=event_payload(date="2027-01-01"),
        status=422,
        field="date",
    )


@pytest.mark.parametrize("value", ["2027-13-01", "next tuesday", 20270101])
async def test_a_date_that_is_not_a_calendar_day_is_refused(
    client: httpx.AsyncClient, storage: Storage, value: object
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        json={"title": "Bad day", "date": value},
        status=422,
        field="date",
    )


async def test_an_error_on_an_aliased_field_names_the_alias(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        json=event_payload(max_capacity=-1),
        status=422,
        field="max_capacity",
    )


async def test_a_date_only_start_says_a_time_and_timezone_are_expected(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        json=event_payload(startAt="2027-12-01"),
        status=422,
        field="startAt",
    )
    message = body["errors"][0]["message"]
    assert "2027-12-01T09:00:00Z" in message
    assert "timezone info" not in message


async def test_a_start_without_an_offset_shows_an_example(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        json=event_payload(startAt="2027-12-01T09:00:00"),
        status=422,
        field="startAt",
    )
    assert "like 2027-12-01T09:00:00Z" in body["errors"][0]["message"]


async def test_put_with_a_seed_003_body_changes_those_fields_only(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client, description="Kept", capacity=10)
    response = await client.put(
        f"{EVENTS}/{created['id']}",
        json={"date": "2030-12-01", "location": "Seattle", "organizer": "Tech Community"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["venue"], body["organizer"], body["description"], body["capacity"]) == (
        "Seattle",
        "Tech Community",
        "Kept",
        10,
    )
    assert (body["startAt"], body["endAt"]) == ("2030-12-01T00:00:00Z", "2030-12-02T00:00:00Z")
    assert await read(client, created["id"]) == body
