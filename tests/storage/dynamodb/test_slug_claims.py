"""A slug's guard is claimed at once (pending), confirmed by the commit, and given
back by a rollback; a pending claim whose request died is free after it runs out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eventcrm.events.errors import EventSlugTaken
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import dt
from eventcrm.storage.dynamodb.session import CLAIM_UNTIL
from eventcrm.storage.dynamodb.storage import DynamoStorage
from tests.support.factories import make_event


async def _pending_claim(storage: DynamoStorage, slug: str, *, owner: str, until: datetime) -> None:
    await storage.db.call(
        "put_item",
        TableName=storage.table,
        Item={
            "PK": {"S": f"SLUG#{slug}"},
            "SK": {"S": "GUARD"},
            "owner": {"S": owner},
            CLAIM_UNTIL: {"S": dt(until)},
        },
    )


async def test_a_rolled_back_create_frees_its_slug(storage: DynamoStorage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.add(make_event(id="gone", slug="launch"))
        assert await storage.db.get(keys.slug_guard("launch")) is not None  # claimed at once
        await uow.rollback()
    assert await storage.db.get(keys.slug_guard("launch")) is None
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.add(make_event(id="kept", slug="launch"))
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        found = await uow.events.get_by_slug("launch")
    assert found is not None
    assert found.id == "kept"


async def test_a_committed_create_makes_its_claim_permanent(storage: DynamoStorage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.add(make_event(id="e1", slug="launch"))
        await uow.commit()
    guard = await storage.db.get(keys.slug_guard("launch"))
    assert guard is not None
    assert guard["owner"] == "e1"
    assert CLAIM_UNTIL not in guard
    assert "ttl" not in guard


async def test_a_concurrent_claim_makes_the_second_add_raise_at_once(
    storage: DynamoStorage,
) -> None:
    async with (
        storage.unit_of_work(write=True) as first,
        storage.unit_of_work(write=True) as second,
    ):
        assert not await second.events.slug_taken("launch")  # checked before the other claims
        await first.events.add(make_event(id="first", slug="launch"))
        with pytest.raises(EventSlugTaken):
            await second.events.add(make_event(id="second", slug="launch"))
        await second.events.add(make_event(id="second", slug="launch-2"))
        await first.commit()
        await second.commit()
    async with storage.unit_of_work(write=False) as uow:
        assert (await uow.events.get_by_slug("launch") or make_event()).id == "first"
        assert (await uow.events.get_by_slug("launch-2") or make_event()).id == "second"


async def test_a_pending_claim_holds_its_slug_until_it_runs_out(storage: DynamoStorage) -> None:
    await _pending_claim(
        storage, "launch", owner="alive", until=datetime.now(UTC) + timedelta(minutes=1)
    )
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.slug_taken("launch")
        assert await uow.events.get_by_slug("launch") is None
        with pytest.raises(EventSlugTaken):
            await uow.events.add(make_event(id="e1", slug="launch"))


async def test_an_expired_pending_claim_is_taken_over(storage: DynamoStorage) -> None:
    await _pending_claim(
        storage, "launch", owner="dead", until=datetime.now(UTC) - timedelta(seconds=1)
    )
    async with storage.unit_of_work(write=True) as uow:
        assert not await uow.events.slug_taken("launch")
        assert await uow.events.get_by_slug("launch") is None
        await uow.events.add(make_event(id="e1", slug="launch"))
        await uow.commit()
    guard = await storage.db.get(keys.slug_guard("launch"))
    assert guard == {"PK": "SLUG#launch", "SK": "GUARD", "owner": "e1"}


async def test_a_slug_change_claims_the_new_slug_at_once(storage: DynamoStorage) -> None:
    event = make_event(id="e1", slug="old")
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.add(event)
        await uow.commit()
    async with (
        storage.unit_of_work(write=True) as renaming,
        storage.unit_of_work(write=True) as other,
    ):
        await renaming.events.replace(replace(event, slug="new"))
        with pytest.raises(EventSlugTaken):
            await other.events.add(make_event(id="e2", slug="new"))
        await renaming.rollback()
    async with storage.unit_of_work(write=False) as uow:
        assert not await uow.events.slug_taken("new")
        assert (await uow.events.get_by_slug("old") or make_event()).id == "e1"
