"""Test data as plain functions with keyword arguments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx

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


def event_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "title": f"Meetup {n}",
        "startAt": "2030-06-01T18:00:00+00:00",
        "endAt": "2030-06-01T20:00:00+00:00",
        "venue": "Hall A",
        "timezone": "America/Chicago",
        "status": "scheduled",
    }
    payload.update(overrides)
    return payload


async def create_event(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/events", json=event_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def register(
    client: httpx.AsyncClient, event_id: str, user_id: str, role: str = "attendee"
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/events/{event_id}/registrations", json={"userId": user_id, "role": role}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
