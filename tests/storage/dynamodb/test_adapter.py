"""What the DynamoDB adapter adds to the storage contract: the table's creation, the
unit of work's own reads, uniqueness guards decided at commit, the event lease, large
changes, and the read ceiling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from eventcrm.bootstrap import migrate
from eventcrm.errors import Busy, QueryNeedsSqlBackend
from eventcrm.kit.filters import Condition, Op
from eventcrm.settings import Settings
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import dt
from eventcrm.storage.dynamodb.session import LOCK_TOKEN, LOCK_UNTIL
from eventcrm.storage.dynamodb.storage import DynamoStorage
from eventcrm.users.errors import UserEmailTaken
from tests.support.factories import make_event, make_user, store


async def test_creating_the_table_again_changes_nothing(storage: DynamoStorage) -> None:
    await store(storage, make_user(id="kept"))
    assert await storage.create_table() is False
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.get("kept") is not None


def test_sql_only_migration_commands_refuse_dynamodb(settings: Settings) -> None:
    with pytest.raises(ValueError, match="only `eventcrm db upgrade` exists"):
        migrate(settings, action="downgrade", revision="base")


async def test_a_unit_of_work_reads_its_own_writes_before_commit(storage: DynamoStorage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.add(make_user(id="mine", company="Acme"))
        async with storage.unit_of_work(write=False) as other:
            assert await other.users.get("mine") is None
        page = await uow.users.list(where=None, sort=(), limit=10)
        assert [u.id for u in page.items] == ["mine"]
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.count(where=None) == 1


async def test_a_guard_taken_between_check_and_commit_refuses_the_commit(
    storage: DynamoStorage,
) -> None:
    async with storage.unit_of_work(write=True) as first:
        await first.users.add(make_user(id="a", email="same@example.com"))
        async with storage.unit_of_work(write=True) as second:
            await second.users.add(make_user(id="b", email="SAME@example.com"))
            await second.commit()
        with pytest.raises(UserEmailTaken):
            await first.commit()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.get("a") is None
        assert await uow.users.get("b") is not None


async def test_an_event_lock_makes_others_wait_then_answers_busy(
    storage: DynamoStorage, settings: Settings
) -> None:
    await store(storage, make_event(id="e1"))
    impatient = DynamoStorage(settings.dynamodb_table, lock_wait=0.3)
    try:
        async with storage.unit_of_work(write=True) as holder:
            assert await holder.events.lock("e1") is not None
            async with impatient.unit_of_work(write=True) as waiter:
                with pytest.raises(Busy):
                    await waiter.events.lock("e1")
    finally:
        await impatient.close()


async def test_a_rolled_back_unit_of_work_gives_its_lock_back(storage: DynamoStorage) -> None:
    await store(storage, make_event(id="e1"))
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.lock("e1")
    async with storage.unit_of_work(write=True) as uow:
        assert await asyncio.wait_for(uow.events.lock("e1"), timeout=5) is not None
        await uow.commit()
    item = await storage.db.get(keys.event("e1"))
    assert item is not None
    assert LOCK_TOKEN not in item


async def test_an_expired_lease_is_taken_over(storage: DynamoStorage) -> None:
    await store(storage, make_event(id="e1", capacity=1))
    past = dt(datetime.now(UTC) - timedelta(seconds=1))
    await storage.db.call(
        "update_item",
        TableName=storage.table,
        Key={"PK": {"S": "EVENT#e1"}, "SK": {"S": "EVENT"}},
        UpdateExpression="SET #t = :t, #u = :u",
        ExpressionAttributeNames={"#t": LOCK_TOKEN, "#u": LOCK_UNTIL},
        ExpressionAttributeValues={":t": {"S": "dead-worker"}, ":u": {"S": past}},
    )
    async with storage.unit_of_work(write=True) as uow:
        assert await asyncio.wait_for(uow.events.lock("e1"), timeout=5) is not None
        assert await uow.events.take_seat("e1")
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        event = await uow.events.get("e1")
    assert event is not None
    assert event.registered_count == 1


async def test_a_change_of_more_than_a_hundred_items_is_written(storage: DynamoStorage) -> None:
    # 150 users and their 150 email guards: three transactions.
    await store(storage, *(make_user() for _ in range(150)))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.users.count(where=None) == 150


async def test_a_listing_over_the_read_ceiling_needs_the_sql_backend(
    storage: DynamoStorage, settings: Settings
) -> None:
    await store(storage, *(make_user() for _ in range(5)))
    small = DynamoStorage(settings.dynamodb_table, scan_limit=3)
    try:
        async with small.unit_of_work(write=False) as uow:
            with pytest.raises(QueryNeedsSqlBackend):
                await uow.users.list(where=None, sort=(), limit=2)
    finally:
        await small.close()


async def test_an_empty_value_is_not_looked_up_in_a_sparse_index(storage: DynamoStorage) -> None:
    # Users without a city are not in the city index; `city = ''` must still find them.
    await store(storage, make_user(id="nowhere", city=None), make_user(id="austin", city="Austin"))
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.users.list(where=Condition("city", Op.EQ, ""), sort=(), limit=10)
    assert [u.id for u in page.items] == ["nowhere"]
