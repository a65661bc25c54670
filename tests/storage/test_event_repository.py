"""Contract tests for the event repository, run against every storage backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eventcrm.events.domain import CategoryRef, Event, EventStatus
from eventcrm.events.errors import EventIdTaken, EventSlugTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Condition, Node, Op, Or, all_of
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import Role
from eventcrm.storage.ports import Storage
from eventcrm.storage.sql.storage import SqlStorage
from eventcrm.storage.sql.tables import events as events_table
from tests.support.factories import make_category, make_event, make_registration, make_user, store

T0 = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
LIVE = Condition("deleted_at", Op.IS_NULL, True)

#: The schema's CHECK constraints, under every write the adapter makes: SQL only (DynamoDB
#: has no schema; its adapter's conditional writes are tested through the ports).
SQL_CHECK = pytest.mark.sql("a SQL CHECK constraint, exercised with a raw UPDATE")


async def stored_event(storage: Storage, event_id: str) -> Event | None:
    async with storage.unit_of_work(write=False) as uow:
        return await uow.events.get(event_id, include_deleted=True)


async def listed_ids(
    storage: Storage, where: Node | None, sort: tuple[SortKey, ...] = (SortKey("start_at"),)
) -> list[str]:
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.events.list(where=where, sort=sort, limit=100)
    return [e.id for e in page.items]


# --- add / get -----------------------------------------------------------------------------


async def test_added_event_reads_back_identically(storage: Storage) -> None:
    owner = make_user()
    event = make_event(
        description="Talks and pizza",
        timezone="America/Chicago",
        venue="Hall A",
        capacity=30,
        waitlist_enabled=False,
        status=EventStatus.DRAFT,
        organizer="Ada",
        owner_id=owner.id,
        start_at=datetime(2026, 6, 1, 18, 30, 15, 123456, tzinfo=UTC),
    )
    await store(storage, owner, event)
    assert await stored_event(storage, event.id) == event


async def test_absent_optional_fields_read_back_as_none(storage: Storage) -> None:
    event = make_event()
    await store(storage, event)
    got = await stored_event(storage, event.id)
    assert got is not None
    assert (got.description, got.timezone, got.venue, got.organizer) == (None, None, None, None)


async def test_an_event_reads_back_with_its_category_embedded(storage: Storage) -> None:
    category = make_category(name="Meetups")
    event = make_event(category_id=category.id)
    await store(storage, category, event)
    got = await stored_event(storage, event.id)
    assert got is not None
    assert got.category == CategoryRef(category.id, "Meetups")


async def test_host_ids_are_the_host_registrations_in_the_order_they_joined(
    storage: Storage,
) -> None:
    owner, first, second, attendee = make_user(), make_user(), make_user(), make_user()
    event = make_event(owner_id=owner.id)
    await store(
        storage,
        owner,
        first,
        second,
        attendee,
        event,
        make_registration(event.id, owner.id, role=Role.OWNER),
        make_registration(event.id, first.id, role=Role.HOST),
        make_registration(event.id, attendee.id),
        make_registration(event.id, second.id, role=Role.HOST),
    )
    got = await stored_event(storage, event.id)
    assert got is not None
    assert got.host_ids == (first.id, second.id)


async def test_adding_a_taken_id_raises_event_id_taken(storage: Storage) -> None:
    await store(storage, make_event(id="same"))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(EventIdTaken):
            await uow.events.add(make_event(id="same"))


async def test_the_id_of_a_deleted_event_stays_taken(storage: Storage) -> None:
    await store(storage, make_event(id="same", deleted_at=T0))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(EventIdTaken):
            await uow.events.add(make_event(id="same"))


async def test_adding_a_live_events_slug_raises_event_slug_taken(storage: Storage) -> None:
    await store(storage, make_event(slug="launch"))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(EventSlugTaken):
            await uow.events.add(make_event(slug="launch"))


async def test_a_deleted_events_slug_can_be_reused(storage: Storage) -> None:
    await store(storage, make_event(slug="launch", deleted_at=T0))
    fresh = make_event(slug="launch")
    await store(storage, fresh)
    assert await stored_event(storage, fresh.id) == fresh


async def test_a_rejected_insert_leaves_the_transaction_usable(storage: Storage) -> None:
    await store(storage, make_event(slug="launch"))
    other = make_event()
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(EventSlugTaken):
            await uow.events.add(make_event(slug="launch"))
        await uow.events.add(other)
        await uow.commit()
    assert await stored_event(storage, other.id) == other


async def test_get_hides_a_deleted_event_unless_asked(storage: Storage) -> None:
    event = make_event(deleted_at=T0)
    await store(storage, event)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.get(event.id) is None
        assert await uow.events.get(event.id, include_deleted=True) == event


async def test_get_of_an_unknown_id_is_none(storage: Storage) -> None:
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.get("nope", include_deleted=True) is None


async def test_get_by_slug_finds_the_live_event(storage: Storage) -> None:
    event = make_event(slug="launch")
    await store(storage, event)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.get_by_slug("launch") == event


async def test_get_by_slug_ignores_deleted_events(storage: Storage) -> None:
    await store(storage, make_event(slug="launch", deleted_at=T0))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.get_by_slug("launch") is None


async def test_get_by_slug_prefers_the_live_event_over_a_deleted_one(storage: Storage) -> None:
    live = make_event(slug="launch")
    await store(storage, make_event(slug="launch", deleted_at=T0), live)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.get_by_slug("launch") == live


# --- lock ----------------------------------------------------------------------------------


async def test_lock_returns_the_live_event(storage: Storage) -> None:
    event = make_event(capacity=3)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.lock(event.id) == event


async def test_lock_skips_a_deleted_event_unless_asked(storage: Storage) -> None:
    event = make_event(deleted_at=T0)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.lock(event.id) is None
        assert await uow.events.lock(event.id, include_deleted=True) == event


async def test_lock_of_an_unknown_id_is_none(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.lock("nope") is None


async def test_lock_reads_an_event_with_a_category(storage: Storage) -> None:
    category = make_category()
    event = make_event(category_id=category.id)
    await store(storage, category, event)
    async with storage.unit_of_work(write=True) as uow:
        locked = await uow.events.lock(event.id)
    assert locked is not None
    assert locked.category == CategoryRef(category.id, category.name)


# --- replace / slug_taken ------------------------------------------------------------------


async def test_replace_writes_the_events_own_fields(storage: Storage) -> None:
    category, owner = make_category(), make_user()
    event = make_event(venue="Hall A", description="Old")
    await store(storage, category, owner, event)
    changed = replace(
        event,
        slug="renamed",
        title="Renamed",
        description=None,
        venue="Hall B",
        capacity=12,
        waitlist_enabled=False,
        status=EventStatus.ACTIVE,
        category_id=category.id,
        owner_id=owner.id,
        timezone="Europe/Paris",
        organizer="Grace",
        start_at=T0,
        end_at=T0 + timedelta(hours=5),
        updated_at=T0,
    )
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.replace(changed)
        await uow.commit()
    expected = replace(changed, category=CategoryRef(category.id, category.name))
    assert await stored_event(storage, event.id) == expected


async def test_replace_leaves_the_counters_and_deletion_alone(storage: Storage) -> None:
    event = make_event(capacity=10)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.take_seat(event.id)
        await uow.events.join_waitlist(event.id)
        await uow.events.replace(
            replace(event, registered_count=7, waitlist_count=5, deleted_at=T0, title="New")
        )
        got = await uow.events.get(event.id, include_deleted=True)
    assert got is not None
    assert (got.title, got.registered_count, got.waitlist_count) == ("New", 1, 1)
    assert got.deleted_at is None


async def test_replace_with_another_live_events_slug_raises_and_changes_nothing(
    storage: Storage,
) -> None:
    taken, event = make_event(slug="taken"), make_event(slug="mine")
    await store(storage, taken, event)
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(EventSlugTaken):
            await uow.events.replace(replace(event, slug="taken", title="Changed"))
        assert await uow.events.get(event.id) == event


async def test_replace_may_take_a_deleted_events_slug(storage: Storage) -> None:
    event = make_event(slug="mine")
    await store(storage, make_event(slug="old", deleted_at=T0), event)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.replace(replace(event, slug="old"))
        got = await uow.events.get(event.id)
    assert got is not None
    assert got.slug == "old"


async def test_slug_taken_is_true_for_a_live_events_slug(storage: Storage) -> None:
    await store(storage, make_event(slug="launch"))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.slug_taken("launch") is True
        assert await uow.events.slug_taken("other") is False


async def test_slug_taken_ignores_deleted_events(storage: Storage) -> None:
    await store(storage, make_event(slug="launch", deleted_at=T0))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.slug_taken("launch") is False


async def test_slug_taken_ignores_the_excepted_event(storage: Storage) -> None:
    event = make_event(slug="launch")
    await store(storage, event)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.slug_taken("launch", except_id=event.id) is False
        assert await uow.events.slug_taken("launch", except_id="someone-else") is True


# --- set_deleted ---------------------------------------------------------------------------


async def test_set_deleted_marks_the_event_deleted(storage: Storage) -> None:
    event = make_event()
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.set_deleted(event.id, T0)
        await uow.commit()
    assert await stored_event(storage, event.id) == replace(event, deleted_at=T0)


async def test_set_deleted_to_none_restores_the_event(storage: Storage) -> None:
    event = make_event(deleted_at=T0)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.set_deleted(event.id, None)
        await uow.commit()
    assert await stored_event(storage, event.id) == replace(event, deleted_at=None)


async def test_restoring_when_the_slug_was_taken_meanwhile_raises_event_slug_taken(
    storage: Storage,
) -> None:
    deleted = make_event(slug="launch", deleted_at=T0)
    await store(storage, deleted, make_event(slug="launch"))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(EventSlugTaken):
            await uow.events.set_deleted(deleted.id, None)
        assert await uow.events.get(deleted.id, include_deleted=True) == deleted


# --- seats and the waitlist ----------------------------------------------------------------


async def test_take_seat_succeeds_until_the_event_is_full(storage: Storage) -> None:
    event = make_event(capacity=2)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        taken = [await uow.events.take_seat(event.id) for _ in range(4)]
        got = await uow.events.get(event.id)
    assert taken == [True, True, False, False]
    assert got is not None
    assert got.registered_count == 2


async def test_take_seat_on_a_zero_capacity_event_is_refused(storage: Storage) -> None:
    event = make_event(capacity=0)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.take_seat(event.id) is False


async def test_take_seat_always_succeeds_without_a_capacity(storage: Storage) -> None:
    event = make_event(capacity=None)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        taken = [await uow.events.take_seat(event.id) for _ in range(25)]
        got = await uow.events.get(event.id)
    assert all(taken)
    assert got is not None
    assert got.registered_count == 25


async def test_release_seat_frees_a_seat_for_the_next_taker(storage: Storage) -> None:
    event = make_event(capacity=1)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.take_seat(event.id)
        await uow.events.release_seat(event.id)
        got = await uow.events.get(event.id)
        assert got is not None
        assert got.registered_count == 0
        assert await uow.events.take_seat(event.id)


async def test_join_waitlist_hands_out_increasing_sequence_numbers_and_places(
    storage: Storage,
) -> None:
    event = make_event(capacity=0)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        seqs = [await uow.events.join_waitlist(event.id) for _ in range(3)]
        got = await uow.events.get(event.id)
    assert seqs == [(1, 1), (2, 2), (3, 3)]
    assert got is not None
    assert got.waitlist_count == 3


async def test_leave_waitlist_lowers_the_count_but_never_reuses_a_sequence_number(
    storage: Storage,
) -> None:
    event = make_event(capacity=0)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.join_waitlist(event.id)
        await uow.events.join_waitlist(event.id)
        await uow.events.leave_waitlist(event.id)
        got = await uow.events.get(event.id)
        assert got is not None
        assert got.waitlist_count == 1
        assert await uow.events.join_waitlist(event.id) == (3, 2)  # seq 3, second in line


async def test_waitlist_sequences_are_per_event(storage: Storage) -> None:
    a, b = make_event(capacity=0), make_event(capacity=0)
    await store(storage, a, b)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.join_waitlist(a.id)
        await uow.events.join_waitlist(a.id)
        assert await uow.events.join_waitlist(b.id) == (1, 1)


@SQL_CHECK
async def test_the_database_refuses_more_registered_than_capacity(storage: SqlStorage) -> None:
    """Even a write that bypasses take_seat cannot oversell: a CHECK constraint refuses it."""
    event = make_event(capacity=2)
    await store(storage, event)
    oversell = events_table.update().where(events_table.c.id == event.id).values(registered_count=3)
    with pytest.raises(IntegrityError):
        async with storage.engine.begin() as conn:
            await conn.execute(oversell)
    got = await stored_event(storage, event.id)
    assert got is not None
    assert got.registered_count == 0


@SQL_CHECK
async def test_the_database_refuses_lowering_capacity_below_registered(
    storage: SqlStorage,
) -> None:
    event = make_event(capacity=2)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.take_seat(event.id)
        await uow.events.take_seat(event.id)
        await uow.commit()
    shrink = events_table.update().where(events_table.c.id == event.id).values(capacity=1)
    with pytest.raises(IntegrityError):
        async with storage.engine.begin() as conn:
            await conn.execute(shrink)


@SQL_CHECK
async def test_the_database_refuses_a_negative_capacity(storage: SqlStorage) -> None:
    event = make_event(capacity=2)
    await store(storage, event)
    with pytest.raises(IntegrityError):
        async with storage.engine.begin() as conn:
            await conn.execute(
                events_table.update()
                .where(events_table.c.id == event.id)
                .values(capacity=-1, registered_count=0)
            )


@SQL_CHECK
async def test_the_database_refuses_negative_counts(storage: SqlStorage) -> None:
    event = make_event(capacity=None)
    await store(storage, event)
    with pytest.raises(IntegrityError):
        async with storage.engine.begin() as conn:
            await conn.execute(
                events_table.update()
                .where(events_table.c.id == event.id)
                .values(waitlist_count=events_table.c.waitlist_count - 1)
            )


# --- list / count --------------------------------------------------------------------------


async def test_list_filters_by_status(storage: Storage) -> None:
    draft = make_event(status=EventStatus.DRAFT)
    active = make_event(status=EventStatus.ACTIVE)
    done = make_event(status=EventStatus.COMPLETED)
    await store(storage, draft, active, done)
    where = Condition("status", Op.IN, ("draft", "completed"))
    assert await listed_ids(storage, where) == [draft.id, done.id]


async def test_list_filters_by_category(storage: Storage) -> None:
    category = make_category()
    inside, outside = make_event(category_id=category.id), make_event()
    await store(storage, category, inside, outside)
    assert await listed_ids(storage, Condition("category_id", Op.EQ, category.id)) == [inside.id]


async def test_list_filters_by_owner(storage: Storage) -> None:
    owner = make_user()
    owned, other = make_event(owner_id=owner.id), make_event()
    await store(storage, owner, owned, other)
    assert await listed_ids(storage, Condition("owner_id", Op.EQ, owner.id)) == [owned.id]


async def test_list_filters_by_host_through_host_registrations(storage: Storage) -> None:
    host, attendee = make_user(), make_user()
    hosted, attended, neither = make_event(), make_event(), make_event()
    await store(
        storage,
        host,
        attendee,
        hosted,
        attended,
        neither,
        make_registration(hosted.id, host.id, role=Role.HOST),
        make_registration(attended.id, host.id),
        make_registration(hosted.id, attendee.id),
    )
    assert await listed_ids(storage, Condition("host_id", Op.EQ, host.id)) == [hosted.id]
    assert await listed_ids(storage, Condition("host_id", Op.EQ, attendee.id)) == []


async def test_list_host_predicate_accepts_several_hosts(storage: Storage) -> None:
    a, b, c = make_user(), make_user(), make_user()
    ea, eb, ec = make_event(), make_event(), make_event()
    await store(
        storage,
        a,
        b,
        c,
        ea,
        eb,
        ec,
        make_registration(ea.id, a.id, role=Role.HOST),
        make_registration(eb.id, b.id, role=Role.HOST),
        make_registration(ec.id, c.id, role=Role.HOST),
    )
    assert await listed_ids(storage, Condition("host_id", Op.IN, (a.id, b.id))) == [ea.id, eb.id]


async def test_list_start_and_end_bounds_are_inclusive(storage: Storage) -> None:
    early = make_event(start_at=T0)
    middle = make_event(start_at=T0 + timedelta(days=1))
    late = make_event(start_at=T0 + timedelta(days=2))
    await store(storage, early, middle, late)
    where = all_of(
        Condition("start_at", Op.GTE, middle.start_at),
        Condition("end_at", Op.LTE, late.end_at),
    )
    assert await listed_ids(storage, where) == [middle.id, late.id]


async def test_list_text_search_is_case_insensitive_over_title_and_description(
    storage: Storage,
) -> None:
    by_title = make_event(title="Python Meetup")
    by_description = make_event(title="Evening", description="all about PYTHON")
    neither = make_event(title="Rust", description="systems")
    await store(storage, by_title, by_description, neither)
    where = Or(
        (Condition("title", Op.CONTAINS, "python"), Condition("description", Op.CONTAINS, "python"))
    )
    assert await listed_ids(storage, where) == [by_title.id, by_description.id]


async def test_list_hides_deleted_events_only_when_filtered(storage: Storage) -> None:
    live, gone = make_event(), make_event(deleted_at=T0)
    await store(storage, live, gone)
    assert await listed_ids(storage, LIVE) == [live.id]
    assert await listed_ids(storage, None) == [live.id, gone.id]


async def test_list_sorts_by_start_time_descending(storage: Storage) -> None:
    events = [make_event(start_at=T0 + timedelta(days=d)) for d in (2, 0, 1)]
    await store(storage, *events)
    got = await listed_ids(storage, None, (SortKey("start_at", descending=True),))
    assert got == [events[0].id, events[2].id, events[1].id]


async def test_list_sorts_by_title_case_insensitively(storage: Storage) -> None:
    events = [make_event(title=t) for t in ("banana", "Apple", "cherry")]
    await store(storage, *events)
    got = await listed_ids(storage, None, (SortKey("title"),))
    assert got == [events[1].id, events[0].id, events[2].id]


async def test_list_sorts_by_creation_time(storage: Storage) -> None:
    events = [make_event(created_at=T0 - timedelta(days=d)) for d in (1, 3, 2)]
    await store(storage, *events)
    got = await listed_ids(storage, None, (SortKey("created_at"),))
    assert got == [events[1].id, events[2].id, events[0].id]


async def test_list_breaks_ties_by_id(storage: Storage) -> None:
    events = [make_event(id=i, start_at=T0) for i in ("e3", "e1", "e2")]
    await store(storage, *events)
    assert await listed_ids(storage, None) == ["e1", "e2", "e3"]


async def test_list_pages_by_key_through_every_row_exactly_once(storage: Storage) -> None:
    events = [make_event(title=t, start_at=T0) for t in ("b", "a", "c", "a", "b", "d", "a")]
    await store(storage, *events)
    sort = (SortKey("title", descending=True),)
    seen: list[str] = []
    after: tuple[KeyValue, ...] | None = None
    async with storage.unit_of_work(write=False) as uow:
        while True:
            page = await uow.events.list(where=None, sort=sort, limit=3, after=after)
            seen.extend(e.id for e in page.items)
            if page.next_key is None:
                break
            after = page.next_key
    assert sorted(seen) == sorted(e.id for e in events)
    assert seen == await listed_ids(storage, None, sort)


async def test_list_returns_events_with_their_hosts(storage: Storage) -> None:
    host = make_user()
    event = make_event()
    await store(storage, host, event, make_registration(event.id, host.id, role=Role.HOST))
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.events.list(where=None, sort=(SortKey("start_at"),), limit=10)
    assert [e.host_ids for e in page.items] == [(host.id,)]


async def test_count_counts_the_matching_events(storage: Storage) -> None:
    await store(
        storage,
        make_event(status=EventStatus.DRAFT),
        make_event(status=EventStatus.DRAFT, deleted_at=T0),
        make_event(status=EventStatus.ACTIVE),
    )
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.count(where=None) == 3
        assert await uow.events.count(where=LIVE) == 2
        draft_live = all_of(Condition("status", Op.EQ, "draft"), LIVE)
        assert await uow.events.count(where=draft_live) == 1


async def test_count_applies_the_host_predicate(storage: Storage) -> None:
    host = make_user()
    hosted, other = make_event(), make_event()
    await store(storage, host, hosted, other, make_registration(hosted.id, host.id, role=Role.HOST))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.events.count(where=Condition("host_id", Op.EQ, host.id)) == 1


async def test_stored_times_are_utc_whatever_the_input_offset(storage: Storage) -> None:
    start = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    paris = start.astimezone(ZoneInfo("Europe/Paris"))
    event = make_event(start_at=paris, end_at=paris + timedelta(hours=1))
    await store(storage, event)
    got = await stored_event(storage, event.id)
    assert got is not None
    assert got.start_at == start
    assert got.start_at.utcoffset() == timedelta(0)


@pytest.mark.sql("compares the stored column in a SQL query")
async def test_a_stored_time_matches_its_utc_instant_in_sql(storage: SqlStorage) -> None:
    start = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    paris = start.astimezone(ZoneInfo("Europe/Paris"))
    await store(storage, make_event(start_at=paris, end_at=paris + timedelta(hours=1)))
    async with storage.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(events_table)
            .where(events_table.c.start_at == start)
        )
    assert found == 1


async def test_take_seats_and_waitlist_counts_a_batch_in_one_update(storage: Storage) -> None:
    event = make_event(capacity=3)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.join_waitlist(event.id) == (1, 1)  # earlier waitlist numbers
        assert await uow.events.take_seats_and_waitlist(event.id, seats=2, waitlisted=3) == 4
        assert await uow.events.take_seats_and_waitlist(event.id, seats=1, waitlisted=0) == 4
        got = await uow.events.get(event.id)
    assert got is not None
    assert (got.registered_count, got.waitlist_count) == (3, 4)


async def test_take_seats_and_waitlist_takes_nothing_when_the_seats_are_not_free(
    storage: Storage,
) -> None:
    event = make_event(capacity=2)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.take_seats_and_waitlist(event.id, seats=3, waitlisted=1) is None
        got = await uow.events.get(event.id)
    assert got is not None
    assert (got.registered_count, got.waitlist_count) == (0, 0)


async def test_take_seats_and_waitlist_without_a_capacity_takes_any_number(
    storage: Storage,
) -> None:
    event = make_event(capacity=None)
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.take_seats_and_waitlist(event.id, seats=50, waitlisted=0) == 0
        got = await uow.events.get(event.id)
    assert got is not None
    assert got.registered_count == 50
