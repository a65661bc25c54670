"""Group commit: registrations queued for one event are taken in one transaction, and
each request still gets its own answer.

Batches are formed deterministically: ``batcher.hold(n)`` keeps the next batch
from starting until ``n`` requests are queued for the event, and the requests
are sent one after the other, each waiting until the previous one is queued,
so the arrival order is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from eventcrm.access.domain import Actor
from eventcrm.access.domain import Role as ActorRole
from eventcrm.errors import Busy, Forbidden
from eventcrm.events.domain import Event
from eventcrm.kit.clock import SystemClock
from eventcrm.kit.ids import uuid7_id
from eventcrm.notifications.service import Notifications
from eventcrm.registrations.batcher import RegistrationBatcher
from eventcrm.storage.ports import UnitOfWork
from eventcrm.storage.sql.storage import SqlStorage
from tests.support.assertions import assert_problem
from tests.support.factories import create_event, create_mail_event, register
from tests.support.registrations_api import (
    counts,
    new_users,
    participants,
    registrations_url,
    waitlist,
)

ADMIN = Actor(id="test", role=ActorRole.ADMIN, label="test")
REPLAYED = "idempotent-replayed"


async def _until_queued(batcher: RegistrationBatcher, event_id: str, count: int) -> None:
    for _ in range(30_000):  # bounded: a broken batcher fails the test instead of hanging it
        if batcher.queued(event_id) >= count:
            return
        await asyncio.sleep(0.001)
    pytest.fail(f"{count} registrations never queued for {event_id}")


async def _one_batch(
    client: httpx.AsyncClient,
    batcher: RegistrationBatcher,
    event_id: str,
    user_ids: Sequence[str],
) -> list[httpx.Response]:
    """Register ``user_ids`` in this order, all in one batch."""
    batcher.hold(len(user_ids))
    sent = []
    for i, user_id in enumerate(user_ids):
        body = {"userId": user_id}
        sent.append(asyncio.create_task(client.post(registrations_url(event_id), json=body)))
        if i < len(user_ids) - 1:
            await _until_queued(batcher, event_id, i + 1)
    return list(await asyncio.gather(*sent))


async def _transactional(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/campaigns", params={"kind": "transactional"})
    return response.json()["items"]  # type: ignore[no-any-return]


async def _recipients(client: httpx.AsyncClient, campaign_id: str) -> list[str]:
    page = await client.get(f"/api/v1/campaigns/{campaign_id}/deliveries")
    return sorted(d["userId"] for d in page.json()["items"])


async def test_seats_then_waitlist_places_go_in_arrival_order(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=2)
    people = await new_users(client, 6)
    responses = await _one_batch(client, batcher, event["id"], people)
    answers = [(r.status_code, r.json()["status"], r.json()["waitlistPosition"]) for r in responses]
    assert answers == [
        (201, "registered", None),
        (201, "registered", None),
        (201, "waitlisted", 1),
        (201, "waitlisted", 2),
        (201, "waitlisted", 3),
        (201, "waitlisted", 4),
    ]
    assert await counts(client, event["id"]) == (2, 4)
    assert await waitlist(client, event["id"]) == [(p, i) for i, p in enumerate(people[2:], 1)]


async def test_a_batch_continues_an_existing_waitlist(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=1)
    first, waiting, *late = await new_users(client, 4)
    await register(client, event["id"], first)
    await register(client, event["id"], waiting)
    responses = await _one_batch(client, batcher, event["id"], late)
    assert [r.json()["waitlistPosition"] for r in responses] == [2, 3]
    assert await waitlist(client, event["id"]) == [(waiting, 1), (late[0], 2), (late[1], 3)]


async def test_the_same_person_twice_in_one_batch_is_registered_once(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=5)
    alice, bob = await new_users(client, 2)
    responses = await _one_batch(client, batcher, event["id"], [alice, bob, alice])
    assert [r.status_code for r in responses] == [201, 201, 409]
    problem = assert_problem(responses[2], 409, code="already_registered")
    assert "already registered" in problem["detail"]
    assert await counts(client, event["id"]) == (2, 0)
    assert sorted(p["userId"] for p in await participants(client, event["id"])) == sorted(
        [alice, bob]
    )


async def test_someone_already_registered_gets_409_and_the_rest_of_the_batch_its_seats(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=3)
    first, second, new_one, last = await new_users(client, 4)
    await register(client, event["id"], first)
    await register(client, event["id"], second)  # one seat is left
    responses = await _one_batch(client, batcher, event["id"], [second, new_one, last])
    assert_problem(responses[0], 409, code="already_registered")
    assert responses[1].json()["status"] == "registered"
    assert (responses[2].json()["status"], responses[2].json()["waitlistPosition"]) == (
        "waitlisted",
        1,
    )
    assert await counts(client, event["id"]) == (3, 1)


async def test_without_a_waitlist_the_overflow_of_a_batch_is_refused_one_by_one(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=1, waitlistEnabled=False)
    people = await new_users(client, 3)
    responses = await _one_batch(client, batcher, event["id"], people)
    assert responses[0].json()["status"] == "registered"
    for refused in responses[1:]:
        assert_problem(refused, 409, code="event_full")
    assert await counts(client, event["id"]) == (1, 0)


async def test_an_unknown_person_gets_404_and_the_others_are_registered(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=5)
    alice, bob = await new_users(client, 2)
    responses = await _one_batch(client, batcher, event["id"], [alice, "nobody-here", bob])
    assert [r.status_code for r in responses] == [201, 404, 201]
    assert_problem(responses[1], 404, code="user_not_found")
    assert await counts(client, event["id"]) == (2, 0)


async def test_a_person_deleted_while_queued_gets_404_and_does_not_fail_the_batch(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_mail_event(client, capacity=5)
    gone, stays, last = await new_users(client, 3)
    url = registrations_url(event["id"])
    batcher.hold(3)
    queued = [
        asyncio.create_task(client.post(url, json={"userId": gone})),
        asyncio.create_task(client.post(url, json={"userId": stays})),
    ]
    await _until_queued(batcher, event["id"], 2)
    # Deleted after the request was accepted for the batch, before the batch ran.
    assert (await client.delete(f"/api/v1/users/{gone}")).status_code == 204
    queued.append(asyncio.create_task(client.post(url, json={"userId": last})))
    responses = await asyncio.gather(*queued)
    assert [r.status_code for r in responses] == [404, 201, 201]
    assert_problem(responses[0], 404, code="user_not_found")
    assert await counts(client, event["id"]) == (2, 0)
    [confirmation] = await _transactional(client)
    assert await _recipients(client, confirmation["id"]) == sorted([stays, last])


async def test_one_confirmation_per_batch_reaches_each_seated_person_once(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_mail_event(client, capacity=3)
    a, b, c, d = await new_users(client, 4)
    responses = await _one_batch(client, batcher, event["id"], [a, b, a, c, d])
    assert [r.status_code for r in responses] == [201, 201, 409, 201, 201]
    assert responses[4].json()["status"] == "waitlisted"
    [confirmation] = await _transactional(client)
    assert confirmation["counts"]["queued"] == 3
    assert await _recipients(client, confirmation["id"]) == sorted([a, b, c])


async def test_a_keyed_request_runs_beside_a_batch_and_its_replay_still_works(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    event = await create_event(client, capacity=10)
    alice, bob, carol = await new_users(client, 3)
    url, key = registrations_url(event["id"]), {"Idempotency-Key": "carol-1"}
    batcher.hold(3)
    batched = [
        asyncio.create_task(client.post(url, json={"userId": alice})),
        asyncio.create_task(client.post(url, json={"userId": bob})),
    ]
    await _until_queued(batcher, event["id"], 2)
    # With a key the request takes its own transaction (the response is stored in
    # it): it is answered while the batch is still held, and so is its replay. On
    # SQLite this also shows the queued requests hold no write lock: the keyed
    # request's BEGIN IMMEDIATE would wait for it until busy_timeout.
    first = await client.post(url, json={"userId": carol}, headers=key)
    replay = await client.post(url, json={"userId": carol}, headers=key)
    assert batcher.queued(event["id"]) == 2
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert replay.headers[REPLAYED] == "true"
    # The same person in the batch: already registered by the keyed request.
    batched.append(asyncio.create_task(client.post(url, json={"userId": carol})))
    responses = await asyncio.gather(*batched)
    assert [r.status_code for r in responses] == [201, 201, 409]
    after_the_batch = await client.post(url, json={"userId": carol}, headers=key)
    assert after_the_batch.json() == first.json()
    assert after_the_batch.headers[REPLAYED] == "true"
    assert await counts(client, event["id"]) == (3, 0)


class _FailsAfterQueueing:
    """The real notifier, then a failure: the batch rolls back after its confirmation
    was written."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._notifications = Notifications(uow=uow, clock=SystemClock(), new_id=uuid7_id)
        self.queued = 0

    async def registration_confirmed(self, *, event: Event, user_ids: Sequence[str]) -> None:
        await self._notifications.registration_confirmed(event=event, user_ids=user_ids)
        raise Busy("the batch fails after queueing its confirmation")

    async def promoted_from_waitlist(self, *, event: Event, user_ids: Sequence[str]) -> None:
        raise AssertionError("a batch promotes nobody")

    async def event_updated(self, *, event: Event, changes: dict[str, Any]) -> None:
        raise AssertionError("a batch changes no event")

    async def event_cancelled(self, *, event: Event) -> None:
        raise AssertionError("a batch cancels no event")


async def test_a_batch_that_rolls_back_queues_nothing_and_fails_every_member(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    event = await create_mail_event(client, capacity=5)
    people = await new_users(client, 3)
    batcher = RegistrationBatcher(
        storage=storage, clock=SystemClock(), notifier_for=_FailsAfterQueueing, max_batch=10
    )
    batcher.hold(len(people))
    outcomes = await asyncio.gather(
        *(batcher.register(event_id=event["id"], user_id=p, actor=ADMIN) for p in people),
        return_exceptions=True,
    )
    assert all(isinstance(o, Busy) for o in outcomes), outcomes
    assert await _transactional(client) == []
    assert await participants(client, event["id"]) == []
    assert await counts(client, event["id"]) == (0, 0)


async def test_a_viewer_is_refused_before_joining_a_batch(storage: SqlStorage) -> None:
    batcher = RegistrationBatcher(
        storage=storage, clock=SystemClock(), notifier_for=_FailsAfterQueueing, max_batch=10
    )
    viewer = Actor(id="v", role=ActorRole.VIEWER, label="viewer")
    with pytest.raises(Forbidden, match="change registrations"):
        await batcher.register(event_id="e", user_id="u", actor=viewer)
    assert batcher.queued("e") == 0


async def _organizer_headers(client: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    body = {"name": "desk", "role": "organizer", "userId": user_id}
    response = await client.post("/api/v1/api-keys", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def test_each_caller_in_a_batch_is_checked_against_the_event(
    client: httpx.AsyncClient, batcher: RegistrationBatcher
) -> None:
    owner, stranger, a, b, c = await new_users(client, 5)
    event = await create_event(client, capacity=5, ownerId=owner)
    as_owner = await _organizer_headers(client, owner)
    as_stranger = await _organizer_headers(client, stranger)
    url = registrations_url(event["id"])
    batcher.hold(3)
    sent = []
    for i, (user_id, headers) in enumerate([(a, None), (b, as_stranger), (c, as_owner)]):
        post = client.post(url, json={"userId": user_id}, headers=headers)
        sent.append(asyncio.create_task(post))
        if i < 2:
            await _until_queued(batcher, event["id"], i + 1)
    responses = await asyncio.gather(*sent)
    assert [r.status_code for r in responses] == [201, 404, 201]
    # An organizer who neither owns nor hosts the event does not learn it exists.
    assert_problem(responses[1], 404, code="event_not_found")
    assert await counts(client, event["id"]) == (2, 0)
