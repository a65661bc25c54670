"""Test data as plain functions with keyword arguments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from eventcrm.categories.domain import Category
from eventcrm.events.domain import Event, EventStatus
from eventcrm.registrations.domain import Registration, RegistrationStatus, Role
from eventcrm.storage.ports import Storage
from eventcrm.users.domain import User

_seq = itertools.count(1)


def user_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "email": f"person{n}@example.com",
    }
    payload.update(overrides)
    return payload


async def create_user(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/users", json=user_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def make_user(**overrides: Any) -> User:
    n = next(_seq)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": f"u{n:06d}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"person{n}@example.com",
        "phone_number": None,
        "avatar": None,
        "gender": None,
        "job_title": None,
        "company": None,
        "city": None,
        "state": None,
        "events_hosted": 0,
        "events_attended": 0,
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return User(**fields)


# --- Events, categories and registrations ------------------------------------------------

#: Events made here start on consecutive days from this moment (so orders are unambiguous).
EVENT_EPOCH = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """How the API writes a UTC date-time."""
    return moment.isoformat().replace("+00:00", "Z")


def make_category(**overrides: Any) -> Category:
    n = next(_seq)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": f"c{n:06d}",
        "name": f"Category {n}",
        "description": None,
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return Category(**fields)


def make_event(**overrides: Any) -> Event:
    n = next(_seq)
    start = overrides.pop("start_at", EVENT_EPOCH + timedelta(days=n))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": f"e{n:06d}",
        "slug": f"event-{n}",
        "title": f"Event {n}",
        "description": None,
        "start_at": start,
        "end_at": start + timedelta(hours=2),
        "timezone": None,
        "venue": None,
        "capacity": None,
        "waitlist_enabled": True,
        "status": EventStatus.SCHEDULED,
        "category_id": None,
        "organizer": None,
        "owner_id": None,
        "host_ids": (),
        "registered_count": 0,
        "waitlist_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return Event(**fields)


def make_registration(event_id: str, user_id: str, **overrides: Any) -> Registration:
    fields: dict[str, Any] = {
        "event_id": event_id,
        "user_id": user_id,
        "role": Role.ATTENDEE,
        "status": RegistrationStatus.REGISTERED,
        "waitlist_seq": None,
        "registered_at": datetime(2026, 2, 1, tzinfo=UTC) + timedelta(seconds=next(_seq)),
    }
    fields.update(overrides)
    return Registration(**fields)


def category_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {"name": f"Category {n}"}
    payload.update(overrides)
    return payload


async def create_category(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/categories", json=category_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def event_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    start = EVENT_EPOCH + timedelta(days=n)
    payload: dict[str, Any] = {
        "title": f"Event {n}",
        "startAt": iso(start),
        "endAt": iso(start + timedelta(hours=2)),
    }
    payload.update(overrides)
    return payload


async def create_event(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/events", json=event_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def register(
    client: httpx.AsyncClient,
    event_id: str,
    user_id: str,
    *,
    role: str = "attendee",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Register (or waitlist) a user; fails the test unless the API answers 201."""
    response = await client.post(
        f"/api/v1/events/{event_id}/registrations",
        json={"userId": user_id, "role": role},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def store(storage: Storage, *items: User | Category | Event | Registration) -> None:
    """Write domain values straight through the repositories, in one committed transaction."""
    async with storage.unit_of_work(write=True) as uow:
        for item in items:
            if isinstance(item, User):
                await uow.users.add(item)
            elif isinstance(item, Category):
                await uow.categories.add(item)
            elif isinstance(item, Event):
                await uow.events.add(item)
            else:
                await uow.registrations.add(item)
        await uow.commit()


# --- Email ---------------------------------------------------------------------------------


def template_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "name": f"Template {n}",
        "subject": "Hello {{ user.firstName }}",
        "html": "<p>Hi {{ user.firstName }} from {{ user.company }}</p>"
        '<p><a href="{{ unsubscribeUrl }}">unsubscribe</a></p>',
        "text": "Hi {{ user.firstName }} from {{ user.company }}\n"
        "Unsubscribe: {{ unsubscribeUrl }}",
    }
    payload.update(overrides)
    return payload


async def create_template(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/email-templates", json=template_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def create_campaign(
    client: httpx.AsyncClient, *, audience: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "name": f"Campaign {n}",
        "subject": "News for {{ user.firstName }}",
        "html": "<p>Dear {{ user.firstName }} {{ user.lastName }}</p>",
        "audience": audience,
    }
    payload.update(overrides)
    response = await client.post("/api/v1/campaigns", json=payload)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def create_mail_event(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """An event whose time and place the notification tests read back from messages:
    Saturday 1 June 2030, 13:00 in Chicago (18:00 UTC), in Hall A."""
    fields: dict[str, Any] = {
        "startAt": "2030-06-01T18:00:00+00:00",
        "endAt": "2030-06-01T20:00:00+00:00",
        "venue": "Hall A",
        "timezone": "America/Chicago",
    }
    fields.update(overrides)
    return await create_event(client, **fields)
