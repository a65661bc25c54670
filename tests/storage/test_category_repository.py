"""Contract tests for the category repository, run against every storage backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from eventcrm.categories.errors import CategoryIdTaken, CategoryInUse, CategoryNameTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.storage.ports import Storage
from tests.support.factories import make_category, make_event, store

T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def test_added_category_reads_back_identically(storage: Storage) -> None:
    category = make_category(description="Evening talks")
    await store(storage, category)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.categories.get(category.id) == category


async def test_absent_description_reads_back_as_none(storage: Storage) -> None:
    category = make_category(description=None)
    await store(storage, category)
    async with storage.unit_of_work(write=False) as uow:
        got = await uow.categories.get(category.id)
    assert got is not None
    assert got.description is None


async def test_get_of_an_unknown_id_is_none(storage: Storage) -> None:
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.categories.get("nope") is None


async def test_adding_a_taken_id_raises_category_id_taken(storage: Storage) -> None:
    await store(storage, make_category(id="same"))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(CategoryIdTaken):
            await uow.categories.add(make_category(id="same"))


async def test_adding_a_taken_name_in_another_case_raises_category_name_taken(
    storage: Storage,
) -> None:
    await store(storage, make_category(name="Meetups"))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(CategoryNameTaken):
            await uow.categories.add(make_category(name="MEETUPS"))


async def test_a_rejected_insert_leaves_the_transaction_usable(storage: Storage) -> None:
    await store(storage, make_category(name="Meetups"))
    other = make_category()
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(CategoryNameTaken):
            await uow.categories.add(make_category(name="meetups"))
        await uow.categories.add(other)
        await uow.commit()
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.categories.get(other.id) == other


async def test_replace_writes_name_description_and_update_time(storage: Storage) -> None:
    category = make_category(description="Old")
    await store(storage, category)
    changed = replace(category, name="Renamed", description=None, updated_at=T0)
    async with storage.unit_of_work(write=True) as uow:
        await uow.categories.replace(changed)
        assert await uow.categories.get(category.id) == changed


async def test_replace_keeps_the_creation_time(storage: Storage) -> None:
    category = make_category()
    await store(storage, category)
    async with storage.unit_of_work(write=True) as uow:
        await uow.categories.replace(replace(category, created_at=T0))
        got = await uow.categories.get(category.id)
    assert got is not None
    assert got.created_at == category.created_at


async def test_replace_may_change_the_case_of_its_own_name(storage: Storage) -> None:
    category = make_category(name="meetups")
    await store(storage, category)
    async with storage.unit_of_work(write=True) as uow:
        await uow.categories.replace(replace(category, name="Meetups"))
        got = await uow.categories.get(category.id)
    assert got is not None
    assert got.name == "Meetups"


async def test_replace_with_another_categorys_name_raises_and_changes_nothing(
    storage: Storage,
) -> None:
    a, b = make_category(name="Meetups"), make_category(name="Workshops")
    await store(storage, a, b)
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(CategoryNameTaken):
            await uow.categories.replace(replace(b, name="meetUPS"))
        assert await uow.categories.get(b.id) == b


async def test_delete_reports_whether_a_category_existed(storage: Storage) -> None:
    category = make_category()
    await store(storage, category)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.categories.delete(category.id) is True
        assert await uow.categories.delete(category.id) is False
        assert await uow.categories.get(category.id) is None


async def test_delete_of_a_category_used_by_an_event_raises_category_in_use(
    storage: Storage,
) -> None:
    category = make_category()
    await store(storage, category, make_event(category_id=category.id))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(CategoryInUse):
            await uow.categories.delete(category.id)
        assert await uow.categories.get(category.id) == category


async def test_a_soft_deleted_event_still_keeps_its_category_in_use(storage: Storage) -> None:
    category = make_category()
    await store(storage, category, make_event(category_id=category.id, deleted_at=T0))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(CategoryInUse):
            await uow.categories.delete(category.id)


async def test_another_categorys_events_do_not_block_a_delete(storage: Storage) -> None:
    used, free = make_category(), make_category()
    await store(storage, used, free, make_event(category_id=used.id))
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.categories.delete(free.id) is True


async def test_list_orders_by_name_case_insensitively(storage: Storage) -> None:
    categories = [make_category(name=n) for n in ("banana", "Apple", "cherry")]
    await store(storage, *categories)
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.categories.list(limit=10)
    assert [c.name for c in page.items] == ["Apple", "banana", "cherry"]
    assert page.next_key is None


async def test_list_pages_by_key_through_every_category_exactly_once(storage: Storage) -> None:
    categories = [make_category(name=f"Category {chr(ord('a') + i)}") for i in range(7)]
    await store(storage, *reversed(categories))
    seen: list[str] = []
    after: tuple[KeyValue, ...] | None = None
    async with storage.unit_of_work(write=False) as uow:
        while True:
            page = await uow.categories.list(limit=3, after=after)
            seen.extend(c.id for c in page.items)
            if page.next_key is None:
                break
            after = page.next_key
    assert seen == [c.id for c in categories]
