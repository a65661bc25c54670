"""Contract tests for the registration repository, run against every storage backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from eventcrm.events.domain import EventStatus
from eventcrm.kit.cursor import KeyValue
from eventcrm.registrations.domain import Registration, RegistrationStatus, Role
from eventcrm.registrations.errors import AlreadyRegistered
from eventcrm.storage.ports import Storage
from eventcrm.users.errors import UserNotFound
from tests.support.factories import make_event, make_registration, make_user, store

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REGISTERED, WAITLISTED = RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED

#: The schema's own constraints, last line of defence under the service's rules: SQL's
#: IntegrityError. (DynamoDB has no schema; its adapter's conditions are tested through
#: the service and the API.)
SQL_CONSTRAINT = pytest.mark.sql("a SQL constraint raising IntegrityError")


def waitlisted(event_id: str, user_id: str, seq: int, **overrides: object) -> Registration:
    return make_registration(event_id, user_id, status=WAITLISTED, waitlist_seq=seq, **overrides)


async def get(storage: Storage, event_id: str, user_id: str) -> Registration | None:
    async with storage.unit_of_work(write=False) as uow:
        return await uow.registrations.get(event_id, user_id)


async def positions(storage: Storage, event_id: str, user_ids: list[str]) -> list[int | None]:
    return [r.waitlist_position for u in user_ids if (r := await get(storage, event_id, u))]


# --- add / get / update / delete -----------------------------------------------------------


async def test_added_registration_reads_back_identically(storage: Storage) -> None:
    user, event = make_user(), make_event()
    registration = make_registration(
        event.id, user.id, promoted_at=T0, checked_in_at=T0 + timedelta(hours=1)
    )
    await store(storage, user, event, registration)
    assert await get(storage, event.id, user.id) == registration


async def test_a_registered_person_has_no_waitlist_position(storage: Storage) -> None:
    user, event = make_user(), make_event()
    await store(storage, user, event, make_registration(event.id, user.id))
    got = await get(storage, event.id, user.id)
    assert got is not None
    assert got.waitlist_position is None


async def test_get_of_an_unknown_pair_is_none(storage: Storage) -> None:
    user, event = make_user(), make_event()
    await store(storage, user, event)
    assert await get(storage, event.id, user.id) is None


async def test_waitlist_positions_are_one_based_in_sequence_order(storage: Storage) -> None:
    event = make_event(capacity=0)
    users = [make_user() for _ in range(3)]
    await store(
        storage,
        event,
        *users,
        waitlisted(event.id, users[0].id, 7),
        waitlisted(event.id, users[1].id, 3),
        waitlisted(event.id, users[2].id, 12),
    )
    assert await positions(storage, event.id, [u.id for u in users]) == [2, 1, 3]


async def test_waitlist_positions_close_the_gap_when_someone_leaves(storage: Storage) -> None:
    event = make_event(capacity=0)
    users = [make_user() for _ in range(4)]
    await store(
        storage,
        event,
        *users,
        *(waitlisted(event.id, u.id, seq) for seq, u in enumerate(users, start=1)),
    )
    async with storage.unit_of_work(write=True) as uow:
        await uow.registrations.delete(event.id, users[1].id)
        await uow.commit()
    rest = [users[0].id, users[2].id, users[3].id]
    assert await positions(storage, event.id, rest) == [1, 2, 3]


async def test_waitlist_positions_are_counted_per_event(storage: Storage) -> None:
    a, b = make_event(capacity=0), make_event(capacity=0)
    first, second = make_user(), make_user()
    await store(
        storage,
        a,
        b,
        first,
        second,
        waitlisted(a.id, first.id, 1),
        waitlisted(b.id, second.id, 2),
    )
    assert await positions(storage, b.id, [second.id]) == [1]


async def test_update_writes_status_times_and_role(storage: Storage) -> None:
    user, event = make_user(), make_event()
    registration = waitlisted(event.id, user.id, 1)
    await store(storage, user, event, registration)
    promoted = replace(
        registration,
        status=REGISTERED,
        waitlist_seq=None,
        promoted_at=T0,
        checked_in_at=T0 + timedelta(minutes=5),
    )
    async with storage.unit_of_work(write=True) as uow:
        await uow.registrations.update(promoted)
        await uow.commit()
    assert await get(storage, event.id, user.id) == promoted


async def test_update_changes_only_the_given_pair(storage: Storage) -> None:
    a, b, event = make_user(), make_user(), make_event()
    ra, rb = make_registration(event.id, a.id), make_registration(event.id, b.id)
    await store(storage, a, b, event, ra, rb)
    async with storage.unit_of_work(write=True) as uow:
        await uow.registrations.update(replace(ra, checked_in_at=T0))
        await uow.commit()
    assert await get(storage, event.id, b.id) == rb


async def test_delete_removes_only_the_given_pair(storage: Storage) -> None:
    a, b, event = make_user(), make_user(), make_event()
    ra, rb = make_registration(event.id, a.id), make_registration(event.id, b.id)
    await store(storage, a, b, event, ra, rb)
    async with storage.unit_of_work(write=True) as uow:
        await uow.registrations.delete(event.id, a.id)
        await uow.commit()
    assert await get(storage, event.id, a.id) is None
    assert await get(storage, event.id, b.id) == rb


@SQL_CONSTRAINT
async def test_the_database_refuses_a_second_registration_for_the_same_pair(
    storage: Storage,
) -> None:
    user, event = make_user(), make_event()
    await store(storage, user, event, make_registration(event.id, user.id))
    with pytest.raises(IntegrityError):
        await store(storage, make_registration(event.id, user.id, role=Role.HOST))


@SQL_CONSTRAINT
async def test_the_database_refuses_a_waitlisted_registration_without_a_sequence(
    storage: Storage,
) -> None:
    user, event = make_user(), make_event()
    await store(storage, user, event)
    with pytest.raises(IntegrityError):
        await store(storage, make_registration(event.id, user.id, status=WAITLISTED))


@SQL_CONSTRAINT
async def test_the_database_refuses_two_waitlist_entries_with_one_sequence(
    storage: Storage,
) -> None:
    a, b, event = make_user(), make_user(), make_event()
    await store(storage, a, b, event, waitlisted(event.id, a.id, 1))
    with pytest.raises(IntegrityError):
        await store(storage, waitlisted(event.id, b.id, 1))


# --- first_waitlisted / for_user -----------------------------------------------------------


async def test_first_waitlisted_is_the_lowest_sequence_not_the_earliest_join(
    storage: Storage,
) -> None:
    event = make_event(capacity=0)
    early, late, seated = make_user(), make_user(), make_user()
    await store(
        storage,
        event,
        early,
        late,
        seated,
        make_registration(event.id, seated.id, registered_at=T0 - timedelta(days=9)),
        waitlisted(event.id, early.id, 5, registered_at=T0),
        waitlisted(event.id, late.id, 2, registered_at=T0 + timedelta(days=1)),
    )
    async with storage.unit_of_work(write=False) as uow:
        first = await uow.registrations.first_waitlisted(event.id)
    assert first is not None
    assert first.user_id == late.id


async def test_first_waitlisted_is_none_without_a_waitlist(storage: Storage) -> None:
    user, event = make_user(), make_event()
    await store(storage, user, event, make_registration(event.id, user.id))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.registrations.first_waitlisted(event.id) is None


async def test_first_waitlisted_looks_only_at_the_given_event(storage: Storage) -> None:
    user, a, b = make_user(), make_event(), make_event()
    await store(storage, user, a, b, waitlisted(a.id, user.id, 1))
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.registrations.first_waitlisted(b.id) is None


async def test_for_user_returns_every_registration_of_the_user_including_deleted_events(
    storage: Storage,
) -> None:
    user, other = make_user(), make_user()
    live, gone = make_event(), make_event(deleted_at=T0)
    mine = [
        make_registration(live.id, user.id, role=Role.HOST),
        make_registration(gone.id, user.id),
    ]
    await store(storage, user, other, live, gone, *mine, make_registration(live.id, other.id))
    async with storage.unit_of_work(write=False) as uow:
        got = await uow.registrations.for_user(user.id)
    assert sorted(got, key=lambda r: r.event_id) == sorted(mine, key=lambda r: r.event_id)


async def test_for_user_without_registrations_is_empty(storage: Storage) -> None:
    user = make_user()
    await store(storage, user)
    async with storage.unit_of_work(write=False) as uow:
        assert await uow.registrations.for_user(user.id) == []


# --- participants --------------------------------------------------------------------------


async def test_participants_carry_the_contact_fields(storage: Storage) -> None:
    event = make_event()
    user = make_user(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone_number="+15125550100",
        job_title="Analyst",
        company="Acme",
        city="Austin",
        state="TX",
    )
    registration = make_registration(event.id, user.id)
    await store(storage, event, user, registration)
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.participants(event.id, status=None, role=None, limit=10)
    (participant,) = page.items
    assert participant.registration == registration
    assert (
        participant.first_name,
        participant.last_name,
        participant.email,
        participant.phone_number,
        participant.job_title,
        participant.company,
        participant.city,
        participant.state,
    ) == ("Ada", "Lovelace", "ada@example.com", "+15125550100", "Analyst", "Acme", "Austin", "TX")


async def test_participants_absent_contact_fields_are_none(storage: Storage) -> None:
    event, user = make_event(), make_user()
    await store(storage, event, user, make_registration(event.id, user.id))
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.participants(event.id, status=None, role=None, limit=10)
    (p,) = page.items
    assert (p.phone_number, p.job_title, p.company, p.city, p.state) == (None,) * 5


async def _event_with_everyone(storage: Storage) -> tuple[str, dict[str, str]]:
    """An event with an owner, a host, two attendees and one person on the waitlist."""
    people = {name: make_user() for name in ("owner", "host", "seated", "seated2", "waiting")}
    event = make_event(owner_id=people["owner"].id, capacity=2)
    await store(
        storage,
        *people.values(),
        event,
        make_registration(event.id, people["owner"].id, role=Role.OWNER, registered_at=T0),
        make_registration(
            event.id, people["host"].id, role=Role.HOST, registered_at=T0 + timedelta(1)
        ),
        make_registration(event.id, people["seated"].id, registered_at=T0 + timedelta(2)),
        waitlisted(event.id, people["waiting"].id, 1, registered_at=T0 + timedelta(3)),
        make_registration(event.id, people["seated2"].id, registered_at=T0 + timedelta(4)),
    )
    return event.id, {name: u.id for name, u in people.items()}


async def participant_ids(
    storage: Storage,
    event_id: str,
    status: RegistrationStatus | None = None,
    role: Role | None = None,
) -> list[str]:
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.participants(event_id, status=status, role=role, limit=50)
    return [p.registration.user_id for p in page.items]


async def test_participants_are_listed_in_the_order_they_joined(storage: Storage) -> None:
    event_id, who = await _event_with_everyone(storage)
    order = ["owner", "host", "seated", "waiting", "seated2"]
    assert await participant_ids(storage, event_id) == [who[n] for n in order]


async def test_participants_filter_by_status(storage: Storage) -> None:
    event_id, who = await _event_with_everyone(storage)
    assert await participant_ids(storage, event_id, status=WAITLISTED) == [who["waiting"]]


async def test_participants_filter_by_role(storage: Storage) -> None:
    event_id, who = await _event_with_everyone(storage)
    assert await participant_ids(storage, event_id, role=Role.HOST) == [who["host"]]
    assert await participant_ids(storage, event_id, role=Role.ATTENDEE) == [
        who["seated"],
        who["waiting"],
        who["seated2"],
    ]


async def test_participants_filter_by_status_and_role_together(storage: Storage) -> None:
    event_id, who = await _event_with_everyone(storage)
    got = await participant_ids(storage, event_id, status=REGISTERED, role=Role.ATTENDEE)
    assert got == [who["seated"], who["seated2"]]


async def test_participants_include_waitlist_positions(storage: Storage) -> None:
    event_id, _ = await _event_with_everyone(storage)
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.participants(
            event_id, status=WAITLISTED, role=None, limit=10
        )
    assert [p.registration.waitlist_position for p in page.items] == [1]


async def test_participants_list_only_the_given_event(storage: Storage) -> None:
    await _event_with_everyone(storage)
    other, user = make_event(), make_user()
    await store(storage, other, user, make_registration(other.id, user.id))
    assert await participant_ids(storage, other.id) == [user.id]


async def test_participants_page_by_key_with_ties_broken_by_user_id(storage: Storage) -> None:
    event = make_event()
    users = [make_user(id=f"p{i:02d}") for i in range(7)]
    same_time = [make_registration(event.id, u.id, registered_at=T0) for u in users[:4]]
    later = [
        make_registration(event.id, u.id, registered_at=T0 + timedelta(minutes=i))
        for i, u in enumerate(users[4:], start=1)
    ]
    await store(storage, event, *reversed(users), *reversed(same_time), *later)
    seen: list[str] = []
    after: tuple[KeyValue, ...] | None = None
    async with storage.unit_of_work(write=False) as uow:
        while True:
            page = await uow.registrations.participants(
                event.id, status=None, role=None, limit=3, after=after
            )
            seen.extend(p.registration.user_id for p in page.items)
            if page.next_key is None:
                break
            after = page.next_key
    assert seen == [u.id for u in users]


# --- user_events ---------------------------------------------------------------------------


async def user_event_ids(
    storage: Storage,
    user_id: str,
    status: RegistrationStatus | None = None,
    role: Role | None = None,
) -> list[str]:
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.user_events(user_id, status=status, role=role, limit=50)
    return [e.registration.event_id for e in page.items]


async def test_user_events_carry_the_event_headline(storage: Storage) -> None:
    user = make_user()
    event = make_event(title="Launch", slug="launch", status=EventStatus.ACTIVE)
    registration = make_registration(event.id, user.id)
    await store(storage, user, event, registration)
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.user_events(user.id, status=None, role=None, limit=10)
    (item,) = page.items
    assert item.registration == registration
    assert (item.title, item.slug, item.start_at, item.end_at, item.event_status) == (
        "Launch",
        "launch",
        event.start_at,
        event.end_at,
        "active",
    )


async def test_user_events_are_ordered_by_start_time(storage: Storage) -> None:
    user = make_user()
    later, sooner = make_event(start_at=T0 + timedelta(days=3)), make_event(start_at=T0)
    await store(
        storage,
        user,
        later,
        sooner,
        make_registration(later.id, user.id),
        make_registration(sooner.id, user.id),
    )
    assert await user_event_ids(storage, user.id) == [sooner.id, later.id]


async def test_user_events_hide_deleted_events(storage: Storage) -> None:
    user = make_user()
    live, gone = make_event(), make_event(deleted_at=T0)
    await store(
        storage,
        user,
        live,
        gone,
        make_registration(live.id, user.id),
        make_registration(gone.id, user.id, role=Role.HOST),
    )
    assert await user_event_ids(storage, user.id) == [live.id]


async def test_user_events_filter_by_status_and_role(storage: Storage) -> None:
    user = make_user()
    hosted, seated, waiting = make_event(), make_event(), make_event(capacity=0)
    await store(
        storage,
        user,
        hosted,
        seated,
        waiting,
        make_registration(hosted.id, user.id, role=Role.HOST),
        make_registration(seated.id, user.id),
        waitlisted(waiting.id, user.id, 1),
    )
    assert await user_event_ids(storage, user.id, role=Role.HOST) == [hosted.id]
    assert await user_event_ids(storage, user.id, status=WAITLISTED) == [waiting.id]
    assert await user_event_ids(storage, user.id, status=REGISTERED) == [hosted.id, seated.id]
    assert await user_event_ids(storage, user.id, status=REGISTERED, role=Role.ATTENDEE) == [
        seated.id
    ]


async def test_user_events_include_the_waitlist_position(storage: Storage) -> None:
    user, ahead = make_user(), make_user()
    event = make_event(capacity=0)
    await store(
        storage,
        user,
        ahead,
        event,
        waitlisted(event.id, ahead.id, 1),
        waitlisted(event.id, user.id, 2),
    )
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.registrations.user_events(user.id, status=None, role=None, limit=10)
    assert [e.registration.waitlist_position for e in page.items] == [2]


async def test_user_events_page_by_key_through_every_event(storage: Storage) -> None:
    user = make_user()
    events = [make_event(start_at=T0 + timedelta(days=i % 3)) for i in range(7)]
    await store(storage, user, *events, *(make_registration(e.id, user.id) for e in events))
    seen: list[str] = []
    after: tuple[KeyValue, ...] | None = None
    async with storage.unit_of_work(write=False) as uow:
        while True:
            page = await uow.registrations.user_events(
                user.id, status=None, role=None, limit=2, after=after
            )
            seen.extend(e.registration.event_id for e in page.items)
            if page.next_key is None:
                break
            after = page.next_key
    expected = sorted(events, key=lambda e: (e.start_at, e.id))
    assert seen == [e.id for e in expected]


# --- add_new / user_and_registration: the checks of the registration hot path -------------


async def test_add_new_refuses_a_second_registration_as_already_registered(
    storage: Storage,
) -> None:
    user, event = make_user(), make_event()
    await store(storage, user, event, waitlisted(event.id, user.id, 1))
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(AlreadyRegistered, match=r"already waitlisted .* as attendee"):
            await uow.registrations.add_new(make_registration(event.id, user.id))
    assert (await get(storage, event.id, user.id)) is not None


async def test_add_new_refuses_a_person_who_does_not_exist_as_user_not_found(
    storage: Storage,
) -> None:
    event = make_event()
    await store(storage, event)
    async with storage.unit_of_work(write=True) as uow:
        with pytest.raises(UserNotFound):
            await uow.registrations.add_new(make_registration(event.id, "no-such-user"))


async def test_user_and_registration_reads_both_in_one_go(storage: Storage) -> None:
    user, other, event = make_user(), make_user(), make_event()
    await store(storage, user, other, event, waitlisted(event.id, user.id, 1))
    async with storage.unit_of_work(write=False) as uow:
        known, found = await uow.registrations.user_and_registration(event.id, user.id)
        assert known
        assert found is not None
        assert (found.status, found.waitlist_position) == (WAITLISTED, 1)
        assert await uow.registrations.user_and_registration(event.id, other.id) == (True, None)
        assert await uow.registrations.user_and_registration(event.id, "nobody") == (False, None)


# --- a batch of registrations (group commit) ----------------------------------------------


async def test_people_and_registrations_leaves_out_who_does_not_exist(storage: Storage) -> None:
    seated, waiting, free, event = make_user(), make_user(), make_user(), make_event()
    await store(
        storage,
        seated,
        waiting,
        free,
        event,
        make_registration(event.id, seated.id),
        waitlisted(event.id, waiting.id, 1),
    )
    async with storage.unit_of_work(write=True) as uow:
        found = await uow.registrations.people_and_registrations(
            event.id, [seated.id, waiting.id, free.id, "nobody"]
        )
    assert found.keys() == {seated.id, waiting.id, free.id}
    assert found[free.id] is None
    statuses = {user_id: r.status for user_id, r in found.items() if r is not None}
    assert statuses == {seated.id: REGISTERED, waiting.id: WAITLISTED}


async def test_add_new_many_inserts_in_one_go_and_leaves_out_existing_pairs(
    storage: Storage,
) -> None:
    first, second, third, event = make_user(), make_user(), make_user(), make_event()
    await store(storage, first, second, third, event, make_registration(event.id, first.id))
    batch = [
        make_registration(event.id, first.id),
        make_registration(event.id, second.id),
        waitlisted(event.id, third.id, 1, registered_at=T0),
    ]
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.registrations.add_new_many(batch) == {second.id, third.id}
        assert await uow.registrations.add_new_many([]) == set()
        await uow.commit()
    assert await get(storage, event.id, second.id) == batch[1]
    assert await positions(storage, event.id, [third.id]) == [1]
