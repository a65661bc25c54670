"""A batch of registrations (group commit) on DynamoDB: the event's lease taken once,
the batch written in as few transactions as fit 100 items, each carrying its own
share of the event's counters; and the events each commit reports to watchers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eventcrm.access.domain import Actor
from eventcrm.access.domain import Role as ActorRole
from eventcrm.errors import Busy
from eventcrm.kit.clock import SystemClock
from eventcrm.kit.ids import uuid7_id
from eventcrm.notifications.service import Notifications
from eventcrm.registrations.batch import AttendeeRequest, Outcome, register_attendees
from eventcrm.registrations.domain import Registration, RegistrationStatus
from eventcrm.registrations.errors import AlreadyRegistered, EventFull
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.session import MAX_TRANSACTION_ITEMS, Op, key_of, split
from eventcrm.storage.dynamodb.storage import DynamoStorage
from eventcrm.storage.ports import EventChanges
from eventcrm.users.errors import UserNotFound
from tests.storage.test_event_repository import (  # the shared contract, on DynamoDB
    test_take_seats_and_waitlist_counts_a_batch_in_one_update,
    test_take_seats_and_waitlist_takes_nothing_when_the_seats_are_not_free,
    test_take_seats_and_waitlist_without_a_capacity_takes_any_number,
)
from tests.storage.test_registration_repository import (
    test_add_new_many_inserts_in_one_go_and_leaves_out_existing_pairs,
    test_people_and_registrations_leaves_out_who_does_not_exist,
)
from tests.support.factories import make_category, make_event, make_registration, make_user, store

__all__ = [
    "test_add_new_many_inserts_in_one_go_and_leaves_out_existing_pairs",
    "test_people_and_registrations_leaves_out_who_does_not_exist",
    "test_take_seats_and_waitlist_counts_a_batch_in_one_update",
    "test_take_seats_and_waitlist_takes_nothing_when_the_seats_are_not_free",
    "test_take_seats_and_waitlist_without_a_capacity_takes_any_number",
]

ADMIN = Actor(id="key:admin", role=ActorRole.ADMIN, label="admin")
T0 = datetime(2030, 1, 1, tzinfo=UTC)
REGISTERED, WAITLISTED = RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED


async def run_batch(storage: DynamoStorage, event_id: str, user_ids: list[str]) -> list[Outcome]:
    requests = [
        AttendeeRequest(u, ADMIN, T0 + timedelta(milliseconds=i)) for i, u in enumerate(user_ids)
    ]
    async with storage.unit_of_work(write=True) as uow:
        notifier = Notifications(uow=uow, clock=SystemClock(), new_id=uuid7_id)
        outcomes = await register_attendees(
            uow, event_id=event_id, requests=requests, notifier=notifier
        )
        await uow.commit()
    return outcomes


async def people(storage: DynamoStorage, n: int) -> list[str]:
    users = [make_user(id=f"p{i:03d}", email=f"p{i:03d}@example.com") for i in range(n)]
    for start in range(0, n, 40):
        await store(storage, *users[start : start + 40])
    return [u.id for u in users]


async def test_a_batch_answers_duplicates_and_unknown_people_and_writes_the_rest(
    storage: DynamoStorage,
) -> None:
    ids = await people(storage, 3)
    await store(storage, make_event(id="e1", capacity=10), make_registration("e1", ids[0]))
    outcomes = await run_batch(storage, "e1", [ids[0], ids[1], "nobody", ids[1], ids[2]])
    assert isinstance(outcomes[0], AlreadyRegistered)
    assert isinstance(outcomes[1], Registration)
    assert outcomes[1].status is REGISTERED
    assert isinstance(outcomes[2], UserNotFound)
    assert isinstance(outcomes[3], AlreadyRegistered)  # earlier in the same batch
    assert isinstance(outcomes[4], Registration)
    assert outcomes[4].status is REGISTERED
    async with storage.unit_of_work(write=False) as uow:
        event = await uow.events.get("e1")
        stored = [await uow.registrations.get("e1", u) for u in ids]
        attended = [(await uow.users.get(u)) for u in ids]
    assert event is not None
    assert event.registered_count == 2
    assert all(r is not None and r.status is REGISTERED for r in stored)
    assert [u.events_attended for u in attended if u is not None] == [0, 1, 1]


async def test_a_full_batch_fills_the_capacity_exactly_and_waitlists_the_rest_in_order(
    storage: DynamoStorage,
) -> None:
    # 100 people in one batch: 1 event + 100 registrations + 100 people's counters
    # + 30 waitlist entries + the confirmation and its 70 deliveries: several
    # transactions, each consistent alone.
    ids = await people(storage, 100)
    await store(storage, make_event(id="e1", capacity=70, waitlist_enabled=True))
    outcomes = await run_batch(storage, "e1", ids)
    assert all(isinstance(o, Registration) for o in outcomes)
    statuses = [o.status for o in outcomes if isinstance(o, Registration)]
    assert statuses == [REGISTERED] * 70 + [WAITLISTED] * 30
    places = [o.waitlist_position for o in outcomes if isinstance(o, Registration)]
    assert places[70:] == list(range(1, 31))
    async with storage.unit_of_work(write=False) as uow:
        event = await uow.events.get("e1")
        assert event is not None
        assert (event.registered_count, event.waitlist_count) == (70, 30)
        first = await uow.registrations.first_waitlisted("e1")
        last = await uow.registrations.get("e1", ids[-1])
        seated = await uow.users.get(ids[0])
        waiting = await uow.users.get(ids[-1])
        # One confirmation for the 70 seated: its deliveries are due now, not before.
        now = datetime.now(UTC)
        assert await uow.deliveries.count_due(now + timedelta(minutes=5)) == 70
        assert await uow.deliveries.count_due(now - timedelta(minutes=5)) == 0
    assert first is not None
    assert first.user_id == ids[70]
    assert last is not None
    assert last.waitlist_position == 30
    assert seated is not None
    assert seated.events_attended == 1
    assert waiting is not None
    assert waiting.events_attended == 0
    # The lease was given back by the last transaction: the next batch goes on.
    more = await people_more(storage)
    outcomes = await run_batch(storage, "e1", [more])
    assert isinstance(outcomes[0], Registration)
    assert outcomes[0].waitlist_position == 31


async def people_more(storage: DynamoStorage) -> str:
    await store(storage, make_user(id="late", email="late@example.com"))
    return "late"


async def test_a_batch_without_a_waitlist_refuses_past_the_capacity(
    storage: DynamoStorage,
) -> None:
    ids = await people(storage, 5)
    await store(storage, make_event(id="e1", capacity=3, waitlist_enabled=False))
    outcomes = await run_batch(storage, "e1", ids)
    assert [isinstance(o, Registration) for o in outcomes] == [True] * 3 + [False] * 2
    assert all(isinstance(o, EventFull) for o in outcomes[3:])
    async with storage.unit_of_work(write=False) as uow:
        event = await uow.events.get("e1")
    assert event is not None
    assert event.registered_count == 3


def test_a_split_change_carries_each_transactions_share_of_the_counters() -> None:
    event = keys.event("e1")
    ops: list[tuple[tuple[str, str], Op]] = [
        (event, Op("update", adds={"registered_count": 120}, limits={"registered_count": 120}))
    ]
    for i in range(120):
        unit = f"u{i}"
        share = (event, {"registered_count": 1})
        ops.append((keys.registration("e1", unit), Op("put", item={}, unit=unit, share=share)))
        ops.append((keys.user(unit), Op("check", unit=unit)))
    chunks = split(ops)
    assert len(chunks) == 3
    assert all(len(chunk) <= MAX_TRANSACTION_ITEMS for chunk in chunks)
    for chunk in chunks:  # a registration and its person's check travel together
        units = [o.unit for k, o in chunk if k != event]
        assert all(units.count(u) == 2 for u in units)
        (counter,) = [o for k, o in chunk if k == event]
        assert counter.adds["registered_count"] == len(units) // 2
        assert counter.limits == {"registered_count": 120}
    assert sum(o.adds["registered_count"] for c in chunks for k, o in c if k == event) == 120


async def test_a_split_batch_never_oversells_when_the_seats_went_meanwhile(
    storage: DynamoStorage,
) -> None:
    # The seats' condition travels with every transaction of a split change: should
    # seats be gone by the commit (here: a write behind the lease's back, as a
    # lapsed lease would allow), the transaction that would oversell is refused.
    # 60 registrations and their people's counters need two transactions: the
    # first still fits, the second would oversell by one.
    ids = await people(storage, 60)
    await store(storage, make_event(id="e1", capacity=60))
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.lock("e1") is not None
        assert await uow.events.take_seats_and_waitlist("e1", seats=60, waitlisted=0) == 0
        new = [make_registration("e1", u) for u in ids]
        assert await uow.registrations.add_new_many(new) == set(ids)
        await uow.users.adjust_counters(ids, attended=1)
        await storage.db.call(
            "update_item",
            TableName=storage.table,
            Key=key_of(*keys.event("e1")),
            UpdateExpression="SET registered_count = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        with pytest.raises(Busy):
            await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        event = await uow.events.get("e1")
        stored = [await uow.registrations.get("e1", u) for u in ids]
    written = sum(r is not None for r in stored)
    assert 0 < written < 60
    # Each transaction wrote its registrations with their seats: consistent, not oversold.
    assert event is not None
    assert event.registered_count == 1 + written <= 60


async def test_commits_report_the_events_they_touched(storage: DynamoStorage) -> None:
    seen: list[EventChanges] = []

    async def listener(changes: EventChanges) -> None:
        seen.append(changes)

    stop = storage.watch_events(listener)
    try:
        await store(storage, make_user(id="u1"), make_event(id="e1"), make_event(id="e2"))
        assert seen.pop() == EventChanges(frozenset({"e1", "e2"}))
        await store(storage, make_user(id="u2"))  # no event changed: nothing reported
        assert seen == []
        await run_batch(storage, "e1", ["u2"])
        assert seen.pop() == EventChanges(frozenset({"e1"}))
        async with storage.unit_of_work(write=True) as uow:  # a lease taken and given back
            assert await uow.events.lock("e2") is not None
            await uow.commit()
        assert seen == []
        async with storage.unit_of_work(write=True) as uow:  # rolled back: nothing
            await uow.events.set_deleted("e2", T0)
        assert seen == []
        await store(storage, make_category(id="c1"))  # a new category is on no event
        assert seen == []
        async with storage.unit_of_work(write=True) as uow:
            category = await uow.categories.get("c1")
            assert category is not None
            await uow.categories.replace(replace(category, name="Renamed"))
            await uow.commit()
        assert seen.pop() == EventChanges(frozenset(), all_events=True)
        async with storage.unit_of_work(write=True) as uow:
            await uow.users.delete("u1")
            await uow.commit()
        assert seen.pop() == EventChanges(frozenset(), all_events=True)
    finally:
        stop()
    await store(storage, make_event(id="e3"))
    assert seen == []


async def test_one_registration_takes_an_open_seat_then_the_waitlist_with_its_place(
    storage: DynamoStorage,
) -> None:
    await store(
        storage,
        make_user(id="a"),
        make_user(id="b"),
        make_event(id="e1", capacity=1, waitlist_enabled=True),
    )
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.registrations.user_and_registration("e1", "a") == (True, None)
        assert await uow.events.take_open_seat("e1")
        await uow.registrations.add_new(make_registration("e1", "a"))
        with pytest.raises(AlreadyRegistered):
            await uow.registrations.add_new(make_registration("e1", "a"))
        await uow.commit()
    async with storage.unit_of_work(write=True) as uow:
        assert not await uow.events.take_open_seat("e1")  # full; the lease is held now
        assert await uow.events.join_waitlist("e1") == (1, 1)
        with pytest.raises(UserNotFound):
            await uow.registrations.add_new(make_registration("e1", "nobody"))
        await uow.registrations.add_new(
            make_registration("e1", "b", status=WAITLISTED, waitlist_seq=1)
        )
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        known, registration = await uow.registrations.user_and_registration("e1", "b")
        event = await uow.events.get("e1", with_hosts=False)
    assert known
    assert registration is not None
    assert registration.waitlist_position == 1
    assert event is not None
    assert (event.registered_count, event.waitlist_count, event.host_ids) == (1, 1, ())
