"""Registering with an Idempotency-Key: a retry replays the first answer, registers nobody twice."""

from __future__ import annotations

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.factories import create_event, register
from tests.support.registrations_api import (
    EVENTS,
    counts,
    full_event,
    new_users,
    participants,
    registrations_url,
)

REPLAYED = "idempotent-replayed"


async def test_a_retry_with_the_same_key_replays_the_first_response(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=5)
    (user_id,) = await new_users(client, 1)
    url, key = registrations_url(event["id"]), {"Idempotency-Key": "attempt-1"}
    first = await client.post(url, json={"userId": user_id}, headers=key)
    retry = await client.post(url, json={"userId": user_id}, headers=key)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers


async def test_a_replayed_request_registers_nobody_twice(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=5)
    (user_id,) = await new_users(client, 1)
    for _ in range(3):
        await register(client, event["id"], user_id, headers={"Idempotency-Key": "k"})
    assert await counts(client, event["id"]) == (1, 0)
    assert [p["userId"] for p in await participants(client, event["id"])] == [user_id]


async def test_a_replayed_waitlisting_returns_the_same_position(
    client: httpx.AsyncClient,
) -> None:
    event_id, _, _ = await full_event(client, capacity=1, waiting=1)
    (user_id,) = await new_users(client, 1)
    key = {"Idempotency-Key": "wait-1"}
    first = await register(client, event_id, user_id, headers=key)
    retry = await register(client, event_id, user_id, headers=key)
    assert retry == first
    assert (first["status"], first["waitlistPosition"]) == ("waitlisted", 2)
    assert await counts(client, event_id) == (1, 2)


async def test_the_same_key_with_a_different_body_is_422_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    first, second = await new_users(client, 2)
    key = {"Idempotency-Key": "shared"}
    await register(client, event["id"], first, headers=key)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=422,
        code="idempotency_key_reused",
        json={"userId": second},
        headers=key,
    )


async def test_the_same_key_with_another_role_is_422(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    key = {"Idempotency-Key": "shared"}
    await register(client, event["id"], user_id, headers=key)
    response = await client.post(
        registrations_url(event["id"]), json={"userId": user_id, "role": "host"}, headers=key
    )
    assert_problem(response, 422, code="idempotency_key_reused")


async def test_a_key_is_scoped_to_its_event(client: httpx.AsyncClient) -> None:
    a, b = await create_event(client), await create_event(client)
    (user_id,) = await new_users(client, 1)
    key = {"Idempotency-Key": "same-key"}
    await register(client, a["id"], user_id, headers=key)
    response = await client.post(registrations_url(b["id"]), json={"userId": user_id}, headers=key)
    assert response.status_code == 201
    assert REPLAYED not in response.headers
    assert await counts(client, b["id"]) == (1, 0)


async def test_a_refused_request_is_not_remembered_under_its_key(
    client: httpx.AsyncClient,
) -> None:
    event_id, _, _ = await full_event(client, capacity=1, waiting=0, waitlistEnabled=False)
    (user_id,) = await new_users(client, 1)
    url, key = registrations_url(event_id), {"Idempotency-Key": "try-again"}
    refused = await client.post(url, json={"userId": user_id}, headers=key)
    assert_problem(refused, 409, code="event_full")
    await client.patch(f"{EVENTS}/{event_id}", json={"capacity": 2})
    retry = await client.post(url, json={"userId": user_id}, headers=key)
    assert retry.status_code == 201
    assert REPLAYED not in retry.headers


async def test_without_a_key_a_retry_is_409(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await register(client, event["id"], user_id)
    response = await client.post(registrations_url(event["id"]), json={"userId": user_id})
    assert_problem(response, 409, code="already_registered")


@pytest.mark.parametrize("key", ["has space", "x" * 256])
async def test_a_malformed_idempotency_key_is_422(
    client: httpx.AsyncClient, storage: Storage, key: str
) -> None:
    event = await create_event(client)
    (user_id,) = await new_users(client, 1)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        status=422,
        field="Idempotency-Key",
        json={"userId": user_id},
        headers={"Idempotency-Key": key},
    )
