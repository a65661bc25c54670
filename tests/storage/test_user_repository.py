"""Contract tests for the user repository, run against every storage backend."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eventcrm.kit.filters import Condition, Op
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import RegistrationStatus, Role
from eventcrm.storage.ports import Storage
from eventcrm.users.domain import User
from eventcrm.users.errors import UserEmailTaken, UserIdTaken
from tests.support.factories import make_event, make_registration, make_user, store


async def test_added_user_reads_back_identically(storage: Storage) -> None:
    user = make_user(company="Acme", phone_number="+15125550100", avatar="https://x.org/a.png")
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(user)
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.get(user.id) == user


async def test_absent_optional_fields_read_back_as_none(storage: Storage) -> None:
    user = make_user()
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(user)
        got = await uow.users.get(user.id)
    assert got is not None
    assert (got.company, got.phone_number, got.avatar) == (None, None, None)


async def test_timestamps_come_back_timezone_aware_utc(storage: Storage) -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    user = make_user(created_at=moment, updated_at=moment)
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(user)
        got = await uow.users.get(user.id)
    assert got is not None
    assert got.created_at == moment
    assert got.created_at.utcoffset() == timedelta(0)


async def test_duplicate_id_is_rejected(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(make_user(id="same"))
        with pytest.raises(UserIdTaken):
            await uow.users.add(make_user(id="same"))


async def test_duplicate_email_differing_in_case_is_rejected(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(make_user(email="ada@example.com"))
        with pytest.raises(UserEmailTaken):
            await uow.users.add(make_user(email="ADA@Example.com"))


async def test_a_rejected_insert_leaves_the_transaction_usable(storage: Storage) -> None:
    first = make_user(email="a@example.com")
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(first)
        with pytest.raises(UserEmailTaken):
            await uow.users.add(make_user(email="a@example.com"))
        second = make_user()
        await uow.users.add(second)
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.count(where=None) == 2


async def test_replace_writes_every_writable_field(storage: Storage) -> None:
    user = make_user(company="Acme", city="Austin")
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(user)
        changed = replace(user, company=None, city="Boston", first_name="Grace")
        await uow.users.replace(changed)
        assert await uow.users.get(user.id) == changed


async def test_replace_cannot_take_another_users_email(storage: Storage) -> None:
    a, b = make_user(email="a@example.com"), make_user(email="b@example.com")
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(a)
        await uow.users.add(b)
        with pytest.raises(UserEmailTaken):
            await uow.users.replace(replace(b, email="A@example.com"))
        assert await uow.users.get(b.id) == b


async def test_delete_reports_whether_a_user_existed(storage: Storage) -> None:
    user = make_user()
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(user)
        assert await uow.users.delete(user.id) is True
        assert await uow.users.delete(user.id) is False
        assert await uow.users.get(user.id) is None


async def test_rollback_discards_writes(storage: Storage) -> None:
    user = make_user()
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(user)
        await uow.rollback()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.get(user.id) is None


async def test_leaving_without_commit_rolls_back(storage: Storage) -> None:
    user = make_user()

    async def fail_after_writing() -> None:
        async with storage.unit_of_work(write=True) as uow:
            await uow.users.add(user)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_after_writing()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.get(user.id) is None


async def test_after_commit_callbacks_run_only_after_a_commit(storage: Storage) -> None:
    ran: list[str] = []

    async def record(name: str) -> None:
        ran.append(name)

    async with storage.unit_of_work(write=True) as uow:
        uow.after_commit(lambda: record("rolled back"))
        await uow.rollback()
    async with storage.unit_of_work(write=True) as uow:
        uow.after_commit(lambda: record("committed"))
        assert ran == []
        await uow.commit()
    assert ran == ["committed"]


async def test_list_filters_sorts_and_pages_by_key(storage: Storage) -> None:
    users = [
        make_user(company=c, events_hosted=h)
        for c, h in [("Acme", 3), ("acme", 1), ("Globex", 5), (None, 2), ("ACME", 2)]
    ]
    async with storage.unit_of_work(write=True) as uow:
        for u in users:
            await uow.users.add(u)
        where = Condition("company", Op.EQ, "aCmE")
        sort = (SortKey("events_hosted", descending=True),)
        first = await uow.users.list(where=where, sort=sort, limit=2)
        assert [u.events_hosted for u in first.items] == [3, 2]
        assert first.next_key is not None
        rest = await uow.users.list(where=where, sort=sort, limit=2, after=first.next_key)
        assert [u.events_hosted for u in rest.items] == [1]
        assert rest.next_key is None
        assert await uow.users.count(where=where) == 3


async def test_concurrent_writers_wait_instead_of_failing(storage: Storage) -> None:
    """SQLite has one writer: others must queue on the lock, never error out."""

    async def add_one() -> None:
        async with storage.unit_of_work(write=True) as uow:
            existing = await uow.users.count(where=None)
            await uow.users.add(make_user(events_hosted=existing))
            await asyncio.sleep(0)
            await uow.commit()

    await asyncio.gather(*(add_one() for _ in range(25)))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.count(where=None) == 25


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (Op.EQ, "abc1", ["abc1"]),
        (Op.EQ, "ABC1", []),
        (Op.IN, ("abc1", "xyz", "ABC1"), ["abc1", "xyz"]),
    ],
)
async def test_ids_are_compared_exactly_on_every_backend(
    storage: Storage, op: Op, value: object, expected: list[str]
) -> None:
    async with storage.unit_of_work(write=True) as uow:
        for user_id in ("abc1", "ABC2", "xyz"):
            await uow.users.add(make_user(id=user_id))
        page = await uow.users.list(where=Condition("id", op, value), sort=(), limit=10)
    assert sorted(u.id for u in page.items) == expected


# --- event-related reads and counters ------------------------------------------------------


async def counters(storage: Storage, *users: User) -> list[tuple[int, int]]:
    async with storage.unit_of_work(write=False) as uow:
        got = [await uow.users.get(u.id) for u in users]
    return [(u.events_hosted, u.events_attended) for u in got if u is not None]


async def test_existing_ids_returns_the_subset_that_exists(storage: Storage) -> None:
    a, b = make_user(), make_user()
    await store(storage, a, b)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.existing_ids([a.id, "ghost", b.id]) == {a.id, b.id}
        assert await uow.users.existing_ids(["ghost"]) == set()


async def test_existing_ids_of_nothing_is_empty(storage: Storage) -> None:
    await store(storage, make_user())
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.existing_ids([]) == set()


async def test_adjust_counters_adds_to_every_given_user(storage: Storage) -> None:
    a, b, untouched = make_user(), make_user(events_hosted=4), make_user()
    await store(storage, a, b, untouched)
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.adjust_counters([a.id, b.id], hosted=2, attended=1)
        await uow.commit()
    assert await counters(storage, a, b, untouched) == [(2, 1), (6, 1), (0, 0)]


async def test_adjust_counters_subtracts(storage: Storage) -> None:
    user = make_user(events_hosted=3, events_attended=2)
    await store(storage, user)
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.adjust_counters([user.id], hosted=-1)
        await uow.users.adjust_counters([user.id], attended=-2)
        await uow.commit()
    assert await counters(storage, user) == [(2, 0)]


async def test_adjust_counters_leaves_the_update_time_alone(storage: Storage) -> None:
    user = make_user()
    await store(storage, user)
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.adjust_counters([user.id], attended=1)
        got = await uow.users.get(user.id)
    assert got == replace(user, events_attended=1)


async def test_adjust_counters_for_event_counts_hosting_and_seated_people(
    storage: Storage,
) -> None:
    owner, host, seated, waiting, bystander = (make_user() for _ in range(5))
    event, other = make_event(owner_id=owner.id, capacity=1), make_event()
    await store(
        storage,
        owner,
        host,
        seated,
        waiting,
        bystander,
        event,
        other,
        make_registration(event.id, owner.id, role=Role.OWNER),
        make_registration(event.id, host.id, role=Role.HOST),
        make_registration(event.id, seated.id),
        make_registration(
            event.id, waiting.id, status=RegistrationStatus.WAITLISTED, waitlist_seq=1
        ),
        make_registration(other.id, bystander.id),
    )
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.adjust_counters_for_event(event.id, sign=1)
        await uow.commit()
    assert await counters(storage, owner, host, seated, waiting, bystander) == [
        (1, 0),
        (1, 0),
        (0, 1),
        (0, 0),
        (0, 0),
    ]


async def test_adjust_counters_for_event_with_a_negative_sign_takes_back(
    storage: Storage,
) -> None:
    host, seated = make_user(events_hosted=2), make_user(events_attended=5)
    event = make_event()
    await store(
        storage,
        host,
        seated,
        event,
        make_registration(event.id, host.id, role=Role.HOST),
        make_registration(event.id, seated.id),
    )
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.adjust_counters_for_event(event.id, sign=-1)
        await uow.commit()
    assert await counters(storage, host, seated) == [(1, 0), (0, 4)]
