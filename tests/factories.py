"""Test data as plain functions with keyword arguments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx

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


async def insert_users(storage: Storage, *users: User) -> None:
    """Write users straight through the repository (for server-maintained fields)."""
    async with storage.unit_of_work(write=True) as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()
