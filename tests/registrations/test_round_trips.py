"""What registrations send to the database (docs/registrations.md lists the
numbers): an attendee registration runs in its event's batch, a fixed number of
statements however many people the batch holds; the others in the request's
own transaction, with the checks before the lock and as few statements as
possible after the conditional seat UPDATE takes it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from eventcrm.registrations.batcher import RegistrationBatcher
from eventcrm.storage.sql.storage import SqlStorage
from tests.support.factories import create_mail_event, create_user
from tests.support.statements import recorded_statements

#: Statement counts are the SQL adapter's (DynamoDB's calls are described in docs/dynamodb.md).
pytestmark = pytest.mark.sql("counts SQL statements on the engine")


async def _register(
    client: httpx.AsyncClient,
    storage: SqlStorage,
    event_id: str,
    user_id: str,
    *,
    headers: dict[str, str] | None = None,
    body: dict[str, str] | None = None,
) -> tuple[httpx.Response, list[str]]:
    with recorded_statements(storage.engine) as sent:
        response = await client.post(
            f"/api/v1/events/{event_id}/registrations",
            json=body or {"userId": user_id},
            headers=headers,
        )
    return response, _last_transaction(sent)


def _last_transaction(sent: list[str]) -> list[str]:
    # The batch's (or the request's) transaction: the credential's look-up (a read
    # without a transaction) comes first.
    start = len(sent) - sent[::-1].index("BEGIN") - 1
    return sent[start:]


BATCH_SEATED = [
    "BEGIN",
    "SELECT",  # the event, locked (FOR UPDATE on PostgreSQL)
    "SELECT",  # the people and any registration they have
    "UPDATE",  # the conditional seat UPDATE, waitlist places included
    "INSERT",  # the registrations
    "UPDATE",  # the seated people's eventsAttended
    "INSERT",  # the confirmation, its template read inside
    "INSERT",  # its deliveries
    "COMMIT",
]


async def test_a_lone_registration_is_a_batch_of_one_with_nine_round_trips(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    user = await create_user(client)
    event = await create_mail_event(client, capacity=1)
    response, sent = await _register(client, storage, event["id"], user["id"])
    assert response.json()["status"] == "registered"
    assert sent == BATCH_SEATED


async def test_a_batch_of_five_sends_what_a_batch_of_one_sends(
    client: httpx.AsyncClient, storage: SqlStorage, batcher: RegistrationBatcher
) -> None:
    people = [await create_user(client) for _ in range(5)]
    event = await create_mail_event(client, capacity=3)
    url = f"/api/v1/events/{event['id']}/registrations"
    batcher.hold(len(people))
    with recorded_statements(storage.engine) as sent:
        responses = await asyncio.gather(
            *(client.post(url, json={"userId": p["id"]}) for p in people)
        )
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["registered"] * 3 + ["waitlisted"] * 2
    assert _last_transaction(sent) == BATCH_SEATED
    # One transaction for the five; each request's credential look-up runs without one.
    assert sent.count("BEGIN") == 1


async def test_joining_the_waitlist_locks_once_and_reads_nothing_back(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    seated, waiting = await create_user(client), await create_user(client)
    event = await create_mail_event(client, capacity=1)
    await _register(client, storage, event["id"], seated["id"])
    response, sent = await _register(client, storage, event["id"], waiting["id"])
    assert response.json()["status"] == "waitlisted"
    assert response.json()["waitlistPosition"] == 1
    assert sent == [
        "BEGIN",
        "SELECT",  # the event, locked
        "SELECT",  # the person
        "UPDATE",  # waitlist count and sequence, returning the sequence number
        "INSERT",
        "COMMIT",
    ]


async def test_a_duplicate_writes_nothing(client: httpx.AsyncClient, storage: SqlStorage) -> None:
    user = await create_user(client)
    event = await create_mail_event(client)
    await _register(client, storage, event["id"], user["id"])
    response, sent = await _register(client, storage, event["id"], user["id"])
    assert response.status_code == 409
    assert sent == ["BEGIN", "SELECT", "SELECT", "COMMIT"]


async def test_with_an_idempotency_key_a_seat_is_taken_in_the_requests_transaction(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    user = await create_user(client)
    event = await create_mail_event(client, capacity=1)
    response, sent = await _register(
        client, storage, event["id"], user["id"], headers={"Idempotency-Key": "k-1"}
    )
    assert response.json()["status"] == "registered"
    advisory_lock = ["SELECT"] if storage.engine.dialect.name == "postgresql" else []
    assert sent == [
        "BEGIN",
        *advisory_lock,  # the key, locked for this transaction
        "SELECT",  # a stored response under the key
        "SELECT",  # the event (no hosts)
        "SELECT",  # the person and any registration they have
        "UPDATE",  # the conditional seat UPDATE: from here the event is locked
        "INSERT",  # the registration
        "UPDATE",  # the person's eventsAttended
        "INSERT",  # the confirmation, its template read inside
        "INSERT",  # its delivery
        "DELETE",  # an expired response under the key, if any
        "INSERT",  # the stored response
        "COMMIT",
    ]
