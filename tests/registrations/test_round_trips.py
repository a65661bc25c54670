"""What one registration sends to the database (docs/registrations.md lists the
numbers): the checks before the lock, and as few statements as possible after
the conditional seat UPDATE takes it."""

from __future__ import annotations

import httpx

from eventcrm.storage.sql.storage import SqlStorage
from tests.support.factories import create_mail_event, create_user
from tests.support.statements import recorded_statements


async def _register(
    client: httpx.AsyncClient, storage: SqlStorage, event_id: str, user_id: str
) -> tuple[httpx.Response, list[str]]:
    with recorded_statements(storage.engine) as sent:
        response = await client.post(
            f"/api/v1/events/{event_id}/registrations", json={"userId": user_id}
        )
    # The request's own transaction: the credential's look-up comes before it.
    start = len(sent) - sent[::-1].index("BEGIN") - 1
    return response, sent[start:]


async def test_a_seat_is_taken_with_five_statements_after_two_unlocked_reads(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    user = await create_user(client)
    event = await create_mail_event(client, capacity=1)
    response, sent = await _register(client, storage, event["id"], user["id"])
    assert response.json()["status"] == "registered"
    assert sent == [
        "BEGIN",
        "SELECT",  # the event (no hosts)
        "SELECT",  # the person and any registration they have
        "UPDATE",  # the conditional seat UPDATE: from here the event is locked
        "INSERT",  # the registration
        "UPDATE",  # the person's eventsAttended
        "INSERT",  # the confirmation, its template read inside
        "INSERT",  # its delivery
        "COMMIT",
    ]


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
        "SELECT",
        "SELECT",
        "UPDATE",  # no free seat: nothing changed
        "SELECT",  # the event, locked (FOR UPDATE on PostgreSQL)
        "UPDATE",  # waitlist count and sequence, returning the place
        "INSERT",
        "COMMIT",
    ]


async def test_a_duplicate_is_refused_before_any_lock(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    user = await create_user(client)
    event = await create_mail_event(client)
    await _register(client, storage, event["id"], user["id"])
    response, sent = await _register(client, storage, event["id"], user["id"])
    assert response.status_code == 409
    assert sent == ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]
