"""eventsHosted / eventsAttended, user deletion with registrations, and the event predicates
of the user filter language, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.factories import create_event, create_user, register

USERS = "/api/v1/users"
EVENTS = "/api/v1/events"


async def new_user(client: httpx.AsyncClient) -> str:
    return (await create_user(client))["id"]  # type: ignore[no-any-return]


async def counters(client: httpx.AsyncClient, user_id: str) -> tuple[int, int]:
    """(eventsHosted, eventsAttended) of a user."""
    response = await client.get(f"{USERS}/{user_id}")
    assert response.status_code == 200, response.text
    return response.json()["eventsHosted"], response.json()["eventsAttended"]


async def cancel(client: httpx.AsyncClient, event_id: str, user_id: str) -> None:
    response = await client.delete(f"{EVENTS}/{event_id}/registrations/{user_id}")
    assert response.status_code == 204, response.text


async def patch_event(client: httpx.AsyncClient, event_id: str, **changes: Any) -> None:
    response = await client.patch(f"{EVENTS}/{event_id}", json=changes)
    assert response.status_code == 200, response.text


# --- eventsAttended ------------------------------------------------------------------------


async def test_a_seat_counts_as_an_attended_event(client: httpx.AsyncClient) -> None:
    me, event = await new_user(client), await create_event(client)
    await register(client, event["id"], me)
    assert await counters(client, me) == (0, 1)


async def test_a_waitlist_place_does_not_count(client: httpx.AsyncClient) -> None:
    me, event = await new_user(client), await create_event(client, capacity=0)
    await register(client, event["id"], me)
    assert await counters(client, me) == (0, 0)


async def test_cancelling_a_seat_takes_the_count_back(client: httpx.AsyncClient) -> None:
    me, event = await new_user(client), await create_event(client)
    await register(client, event["id"], me)
    await cancel(client, event["id"], me)
    assert await counters(client, me) == (0, 0)


async def test_promotion_counts_for_the_promoted_person(client: httpx.AsyncClient) -> None:
    seated, waiting = await new_user(client), await new_user(client)
    event = await create_event(client, capacity=1)
    await register(client, event["id"], seated)
    await register(client, event["id"], waiting)
    await cancel(client, event["id"], seated)
    assert (await counters(client, seated), await counters(client, waiting)) == ((0, 0), (0, 1))


async def test_raising_capacity_counts_for_everyone_promoted(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=0)
    people = [await new_user(client) for _ in range(3)]
    for user_id in people:
        await register(client, event["id"], user_id)
    await patch_event(client, event["id"], capacity=2)
    assert [await counters(client, u) for u in people] == [(0, 1), (0, 1), (0, 0)]


async def test_removing_the_capacity_counts_for_everyone_promoted(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=0)
    people = [await new_user(client) for _ in range(3)]
    for user_id in people:
        await register(client, event["id"], user_id)
    await patch_event(client, event["id"], capacity=None)
    assert [await counters(client, u) for u in people] == [(0, 1)] * 3


async def test_checking_in_does_not_count_twice(client: httpx.AsyncClient) -> None:
    me, event = await new_user(client), await create_event(client)
    await register(client, event["id"], me)
    await client.post(f"{EVENTS}/{event['id']}/registrations/{me}/check-in")
    assert await counters(client, me) == (0, 1)


async def test_attended_events_add_up_across_events(client: httpx.AsyncClient) -> None:
    me = await new_user(client)
    for _ in range(3):
        await register(client, (await create_event(client))["id"], me)
    assert await counters(client, me) == (0, 3)


async def test_a_refused_registration_counts_nothing(client: httpx.AsyncClient) -> None:
    me = await new_user(client)
    event = await create_event(client, capacity=0, waitlistEnabled=False)
    response = await client.post(f"{EVENTS}/{event['id']}/registrations", json={"userId": me})
    assert_problem(response, 409, code="event_full")
    assert await counters(client, me) == (0, 0)


# --- eventsHosted --------------------------------------------------------------------------


async def test_owning_and_hosting_count_as_hosted_events(client: httpx.AsyncClient) -> None:
    owner, host = await new_user(client), await new_user(client)
    await create_event(client, ownerId=owner, hostIds=[host])
    assert (await counters(client, owner), await counters(client, host)) == ((1, 0), (1, 0))


async def test_joining_as_host_counts_as_a_hosted_event(client: httpx.AsyncClient) -> None:
    host, event = await new_user(client), await create_event(client, status="draft")
    await register(client, event["id"], host, role="host")
    assert await counters(client, host) == (1, 0)


async def test_stepping_down_as_host_takes_the_count_back(client: httpx.AsyncClient) -> None:
    host = await new_user(client)
    event = await create_event(client, hostIds=[host])
    await cancel(client, event["id"], host)
    assert await counters(client, host) == (0, 0)


async def test_adding_and_removing_hosts_by_patch_updates_their_counts(
    client: httpx.AsyncClient,
) -> None:
    a, b = await new_user(client), await new_user(client)
    event = await create_event(client, hostIds=[a])
    await patch_event(client, event["id"], hostIds=[b])
    assert (await counters(client, a), await counters(client, b)) == ((0, 0), (1, 0))


async def test_a_new_owner_gains_and_the_old_owner_loses_a_hosted_event(
    client: httpx.AsyncClient,
) -> None:
    old, new = await new_user(client), await new_user(client)
    event = await create_event(client, ownerId=old)
    await patch_event(client, event["id"], ownerId=new)
    assert (await counters(client, old), await counters(client, new)) == ((0, 0), (1, 0))


async def test_a_host_becoming_owner_still_counts_once(client: httpx.AsyncClient) -> None:
    owner, host = await new_user(client), await new_user(client)
    event = await create_event(client, ownerId=owner, hostIds=[host])
    await patch_event(client, event["id"], ownerId=host)
    assert (await counters(client, owner), await counters(client, host)) == ((0, 0), (1, 0))


async def test_an_owner_becoming_a_host_still_counts_once(client: httpx.AsyncClient) -> None:
    owner, other = await new_user(client), await new_user(client)
    event = await create_event(client, ownerId=owner)
    await patch_event(client, event["id"], ownerId=other, hostIds=[owner])
    assert (await counters(client, owner), await counters(client, other)) == ((1, 0), (1, 0))


async def test_clearing_the_owner_takes_the_count_back(client: httpx.AsyncClient) -> None:
    owner = await new_user(client)
    event = await create_event(client, ownerId=owner)
    await patch_event(client, event["id"], ownerId=None)
    assert await counters(client, owner) == (0, 0)


async def test_a_refused_host_change_counts_nothing(client: httpx.AsyncClient) -> None:
    host, attendee = await new_user(client), await new_user(client)
    event = await create_event(client)
    await register(client, event["id"], attendee)
    response = await client.patch(f"{EVENTS}/{event['id']}", json={"hostIds": [host, attendee]})
    assert_problem(response, 409, code="already_registered")
    assert (await counters(client, host), await counters(client, attendee)) == ((0, 0), (0, 1))


# --- soft delete and restore ---------------------------------------------------------------


async def _populated_event(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    people = {name: await new_user(client) for name in ("owner", "host", "seated", "waiting")}
    event = await create_event(
        client, capacity=1, ownerId=people["owner"], hostIds=[people["host"]]
    )
    await register(client, event["id"], people["seated"])
    await register(client, event["id"], people["waiting"])
    return event["id"], people


async def test_deleting_an_event_takes_back_everyones_count(client: httpx.AsyncClient) -> None:
    event_id, people = await _populated_event(client)
    await client.delete(f"{EVENTS}/{event_id}")
    assert [await counters(client, u) for u in people.values()] == [(0, 0)] * 4


async def test_restoring_an_event_gives_everyones_count_back(client: httpx.AsyncClient) -> None:
    event_id, people = await _populated_event(client)
    await client.delete(f"{EVENTS}/{event_id}")
    await client.post(f"{EVENTS}/{event_id}/restore")
    assert [await counters(client, u) for u in people.values()] == [
        (1, 0),
        (1, 0),
        (0, 1),
        (0, 0),
    ]


async def test_restoring_a_live_event_counts_nothing_twice(client: httpx.AsyncClient) -> None:
    event_id, people = await _populated_event(client)
    await client.post(f"{EVENTS}/{event_id}/restore")
    assert await counters(client, people["owner"]) == (1, 0)


async def test_a_failed_restore_counts_nothing(client: httpx.AsyncClient) -> None:
    owner = await new_user(client)
    event = await create_event(client, ownerId=owner, slug="launch")
    await client.delete(f"{EVENTS}/{event['id']}")
    await create_event(client, slug="launch")
    assert_problem(await client.post(f"{EVENTS}/{event['id']}/restore"), 409)
    assert await counters(client, owner) == (0, 0)


# --- a cancelled event ---------------------------------------------------------------------


async def test_cancelling_an_event_takes_back_everyones_count(client: httpx.AsyncClient) -> None:
    event_id, people = await _populated_event(client)
    await patch_event(client, event_id, status="cancelled")
    assert [await counters(client, u) for u in people.values()] == [(0, 0)] * 4


async def test_a_cancelled_event_keeps_its_registrations(client: httpx.AsyncClient) -> None:
    event_id, people = await _populated_event(client)
    await patch_event(client, event_id, status="cancelled")
    response = await client.get(f"{EVENTS}/{event_id}/registrations")
    assert {p["userId"] for p in response.json()["items"]} == set(people.values())


async def test_cancelling_and_changing_hosts_at_once_counts_nobody(
    client: httpx.AsyncClient,
) -> None:
    old, new = await new_user(client), await new_user(client)
    event = await create_event(client, hostIds=[old])
    await patch_event(client, event["id"], status="cancelled", hostIds=[new])
    assert (await counters(client, old), await counters(client, new)) == ((0, 0), (0, 0))


async def test_a_refused_cancellation_counts_nothing(client: httpx.AsyncClient) -> None:
    event_id, people = await _populated_event(client)
    response = await client.patch(
        f"{EVENTS}/{event_id}", json={"status": "cancelled", "capacity": 0}
    )
    assert_problem(response, 409)
    assert await counters(client, people["owner"]) == (1, 0)
    assert await counters(client, people["seated"]) == (0, 1)


async def test_cancelling_a_cancelled_event_again_takes_nothing_twice(
    client: httpx.AsyncClient,
) -> None:
    me = await new_user(client)
    await register(client, (await create_event(client))["id"], me)
    event = await create_event(client)
    await register(client, event["id"], me)
    await patch_event(client, event["id"], status="cancelled")
    await patch_event(client, event["id"], status="cancelled", title="Called off")
    assert await counters(client, me) == (0, 1)


async def test_leaving_a_cancelled_event_takes_nothing_twice(client: httpx.AsyncClient) -> None:
    me, host = await new_user(client), await new_user(client)
    await register(client, (await create_event(client))["id"], me)
    await create_event(client, hostIds=[host])
    event = await create_event(client, hostIds=[host])
    await register(client, event["id"], me)
    await patch_event(client, event["id"], status="cancelled")
    await cancel(client, event["id"], me)
    await cancel(client, event["id"], host)
    assert (await counters(client, me), await counters(client, host)) == ((0, 1), (1, 0))


async def test_deleting_and_restoring_a_cancelled_event_counts_nothing(
    client: httpx.AsyncClient,
) -> None:
    event_id, people = await _populated_event(client)
    await patch_event(client, event_id, status="cancelled")
    assert (await client.delete(f"{EVENTS}/{event_id}")).status_code == 204
    assert [await counters(client, u) for u in people.values()] == [(0, 0)] * 4
    assert (await client.post(f"{EVENTS}/{event_id}/restore")).status_code == 200
    assert [await counters(client, u) for u in people.values()] == [(0, 0)] * 4


async def test_deleting_a_contact_of_a_cancelled_event_keeps_the_others_counts(
    client: httpx.AsyncClient,
) -> None:
    seated, waiting = await new_user(client), await new_user(client)
    event = await create_event(client, capacity=1)
    await register(client, event["id"], seated)
    await register(client, event["id"], waiting)
    await patch_event(client, event["id"], status="cancelled")
    assert (await client.delete(f"{USERS}/{seated}")).status_code == 204
    assert await counters(client, waiting) == (0, 0)  # a cancelled event promotes nobody


async def test_min_events_hosted_follows_a_cancellation(client: httpx.AsyncClient) -> None:
    owner = await new_user(client)
    first = await create_event(client, ownerId=owner)
    await create_event(client, ownerId=owner)
    assert await listed_users(client, min_events_hosted=2) == [owner]
    await patch_event(client, first["id"], status="cancelled")
    assert await listed_users(client, min_events_hosted=2) == []
    assert await listed_users(client, min_events_hosted=1) == [owner]


# --- deleting a user -----------------------------------------------------------------------


async def test_deleting_a_seated_user_promotes_the_waitlist(client: httpx.AsyncClient) -> None:
    seated, waiting = await new_user(client), await new_user(client)
    event = await create_event(client, capacity=1)
    await register(client, event["id"], seated)
    await register(client, event["id"], waiting)
    assert (await client.delete(f"{USERS}/{seated}")).status_code == 204
    response = await client.get(f"{EVENTS}/{event['id']}/registrations")
    assert [(p["userId"], p["status"]) for p in response.json()["items"]] == [
        (waiting, "registered")
    ]
    after = (await client.get(f"{EVENTS}/{event['id']}")).json()
    assert (after["registeredCount"], after["waitlistCount"]) == (1, 0)
    assert await counters(client, waiting) == (0, 1)


async def test_deleting_a_waitlisted_user_closes_the_gap(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=0)
    people = [await new_user(client) for _ in range(3)]
    for user_id in people:
        await register(client, event["id"], user_id)
    await client.delete(f"{USERS}/{people[0]}")
    response = await client.get(f"{EVENTS}/{event['id']}/registrations")
    assert [(p["userId"], p["waitlistPosition"]) for p in response.json()["items"]] == [
        (people[1], 1),
        (people[2], 2),
    ]
    assert (await client.get(f"{EVENTS}/{event['id']}")).json()["waitlistCount"] == 2


async def test_deleting_a_host_removes_them_from_the_event(client: httpx.AsyncClient) -> None:
    host, other = await new_user(client), await new_user(client)
    event = await create_event(client, hostIds=[host, other])
    assert (await client.delete(f"{USERS}/{host}")).status_code == 204
    assert (await client.get(f"{EVENTS}/{event['id']}")).json()["hostIds"] == [other]


async def test_deleting_an_owner_leaves_their_event_without_an_owner(
    client: httpx.AsyncClient,
) -> None:
    owner = await new_user(client)
    event = await create_event(client, ownerId=owner)
    response = await client.delete(f"{USERS}/{owner}")
    assert response.status_code == 204, response.text
    after = (await client.get(f"{EVENTS}/{event['id']}")).json()
    assert after["ownerId"] is None
    assert (await client.get(f"{EVENTS}/{event['id']}/registrations")).json()["items"] == []


async def test_deleting_the_owner_of_a_deleted_event_succeeds(client: httpx.AsyncClient) -> None:
    owner = await new_user(client)
    event = await create_event(client, ownerId=owner)
    await client.delete(f"{EVENTS}/{event['id']}")
    assert (await client.delete(f"{USERS}/{owner}")).status_code == 204
    restored = await client.post(f"{EVENTS}/{event['id']}/restore")
    assert restored.json()["ownerId"] is None


async def test_deleting_a_user_with_registrations_on_a_deleted_event_succeeds(
    client: httpx.AsyncClient,
) -> None:
    seated, waiting = await new_user(client), await new_user(client)
    event = await create_event(client, capacity=1)
    await register(client, event["id"], seated)
    await register(client, event["id"], waiting)
    await client.delete(f"{EVENTS}/{event['id']}")
    assert (await client.delete(f"{USERS}/{seated}")).status_code == 204
    listed = await client.get(EVENTS, params={"include_deleted": "true"})
    (after,) = listed.json()["items"]
    assert (after["registeredCount"], after["waitlistCount"]) == (0, 1)
    assert await counters(client, waiting) == (0, 0)


async def test_restoring_an_event_serves_its_waitlist_into_seats_freed_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    seated, waiting = await new_user(client), await new_user(client)
    event = await create_event(client, capacity=1)
    await register(client, event["id"], seated)
    await register(client, event["id"], waiting)
    await client.delete(f"{EVENTS}/{event['id']}")
    await client.delete(f"{USERS}/{seated}")
    restored = (await client.post(f"{EVENTS}/{event['id']}/restore")).json()
    assert (restored["registeredCount"], restored["waitlistCount"]) == (1, 0)
    (item,) = (await client.get(f"{EVENTS}/{event['id']}/registrations")).json()["items"]
    assert (item["userId"], item["status"]) == (waiting, "registered")
    assert item["promotedAt"] is not None
    assert await counters(client, waiting) == (0, 1)


async def test_deleting_an_unknown_user_is_404_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(client, storage, "DELETE", f"{USERS}/ghost", status=404)


# --- GET /users?min_events_hosted=… --------------------------------------------------------


async def _hosting(client: httpx.AsyncClient, counts: list[int]) -> list[str]:
    """Users hosting the given numbers of events, alternating owner and host roles."""
    people = [await new_user(client) for _ in counts]
    for user_id, n in zip(people, counts, strict=True):
        for i in range(n):
            await create_event(
                client, **({"ownerId": user_id} if i % 2 else {"hostIds": [user_id]})
            )
    return people


async def listed_users(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(USERS, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return sorted(u["id"] for u in response.json()["items"])


async def test_min_events_hosted_selects_exactly_the_users_at_or_above(
    client: httpx.AsyncClient,
) -> None:
    people = await _hosting(client, [0, 1, 2, 3])
    assert await listed_users(client, min_events_hosted=2) == sorted(people[2:])


async def test_min_events_hosted_follows_an_event_soft_delete(client: httpx.AsyncClient) -> None:
    owner, host = await new_user(client), await new_user(client)
    first = await create_event(client, ownerId=owner, hostIds=[host])
    await create_event(client, ownerId=owner, hostIds=[host])
    assert await listed_users(client, min_events_hosted=2) == sorted([owner, host])
    await client.delete(f"{EVENTS}/{first['id']}")
    assert await listed_users(client, min_events_hosted=2) == []
    await client.post(f"{EVENTS}/{first['id']}/restore")
    assert await listed_users(client, min_events_hosted=2) == sorted([owner, host])


async def test_max_events_hosted_and_min_events_attended_are_exact(
    client: httpx.AsyncClient,
) -> None:
    people = await _hosting(client, [0, 1, 2])
    event = await create_event(client)
    await register(client, event["id"], people[0])
    assert await listed_users(client, max_events_hosted=1) == sorted(people[:2])
    assert await listed_users(client, min_events_attended=1) == [people[0]]


# --- POST /users/search: event predicates --------------------------------------------------


async def searched(client: httpx.AsyncClient, *conditions: dict[str, Any]) -> list[str]:
    body = {"filter": {"and": list(conditions)}, "limit": 100}
    response = await client.post(f"{USERS}/search", json=body)
    assert response.status_code == 200, response.text
    return sorted(u["id"] for u in response.json()["items"])


def cond(field: str, value: Any, op: str = "eq") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


async def _cast(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """One event with an owner, a host, a checked-in and a not-checked-in attendee, someone
    waitlisted, and a bystander registered only elsewhere."""
    people = {
        name: await new_user(client)
        for name in ("owner", "host", "present", "absent", "waiting", "bystander")
    }
    event = await create_event(
        client, capacity=2, ownerId=people["owner"], hostIds=[people["host"]]
    )
    for name in ("present", "absent", "waiting"):
        await register(client, event["id"], people[name])
    await client.post(f"{EVENTS}/{event['id']}/registrations/{people['present']}/check-in")
    await register(client, (await create_event(client))["id"], people["bystander"])
    return event["id"], people


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("owner", ["owner"]),
        ("host", ["host"]),
        ("attendee", ["present", "absent", "bystander"]),
    ],
)
async def test_search_by_role_selects_the_people_holding_it(
    client: httpx.AsyncClient, role: str, expected: list[str]
) -> None:
    _, people = await _cast(client)
    got = await searched(client, cond("role", role))
    assert got == sorted(people[n] for n in expected)


async def test_search_by_several_roles(client: httpx.AsyncClient) -> None:
    _, people = await _cast(client)
    got = await searched(client, cond("role", ["owner", "host"], "in"))
    assert got == sorted([people["owner"], people["host"]])


async def test_search_by_role_ignores_deleted_events(client: httpx.AsyncClient) -> None:
    event_id, people = await _cast(client)
    await client.delete(f"{EVENTS}/{event_id}")
    assert await searched(client, cond("role", "host")) == []
    assert await searched(client, cond("role", "attendee")) == [people["bystander"]]


async def test_search_by_role_ignores_cancelled_events(client: httpx.AsyncClient) -> None:
    event_id, people = await _cast(client)
    await patch_event(client, event_id, status="cancelled")
    assert await searched(client, cond("role", ["owner", "host"], "in")) == []
    assert await searched(client, cond("role", "attendee")) == [people["bystander"]]


async def test_search_registered_for_includes_seated_and_hosting_people_only(
    client: httpx.AsyncClient,
) -> None:
    event_id, people = await _cast(client)
    got = await searched(client, cond("registeredFor", event_id))
    assert got == sorted(people[n] for n in ("owner", "host", "present", "absent"))


async def test_search_registered_for_any_of_several_events(client: httpx.AsyncClient) -> None:
    event_id, people = await _cast(client)
    other = (await client.get(f"{USERS}/{people['bystander']}/events")).json()["items"][0]
    got = await searched(client, cond("registered_for", [event_id, other["eventId"]], "in"))
    assert got == sorted(people[n] for n in ("owner", "host", "present", "absent", "bystander"))


async def test_search_waitlisted_for_includes_only_the_waitlist(client: httpx.AsyncClient) -> None:
    event_id, people = await _cast(client)
    assert await searched(client, cond("waitlisted_for", event_id)) == [people["waiting"]]


async def test_search_checked_in_for_includes_only_checked_in_people(
    client: httpx.AsyncClient,
) -> None:
    event_id, people = await _cast(client)
    assert await searched(client, cond("checked_in_for", event_id)) == [people["present"]]


async def test_search_not_checked_in_for_includes_registered_no_shows_only(
    client: httpx.AsyncClient,
) -> None:
    event_id, people = await _cast(client)
    got = await searched(client, cond("not_checked_in_for", event_id))
    assert got == sorted(people[n] for n in ("owner", "host", "absent"))


async def test_search_negating_an_event_predicate_selects_everyone_else(
    client: httpx.AsyncClient,
) -> None:
    event_id, people = await _cast(client)
    got = await searched(client, {"not": cond("registered_for", event_id)})
    assert got == sorted([people["waiting"], people["bystander"]])


async def test_search_combines_event_predicates_with_counters(client: httpx.AsyncClient) -> None:
    event_id, people = await _cast(client)
    got = await searched(
        client, cond("registered_for", event_id), cond("events_attended", 1, "gte")
    )
    assert got == sorted([people["present"], people["absent"]])


async def test_search_follows_a_check_in(client: httpx.AsyncClient) -> None:
    event_id, people = await _cast(client)
    await client.post(f"{EVENTS}/{event_id}/registrations/{people['absent']}/check-in")
    assert await searched(client, cond("checked_in_for", event_id)) == sorted(
        [people["present"], people["absent"]]
    )


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        pytest.param(cond("role", "guest"), "filter.value", id="unknown role"),
        pytest.param(cond("registered_for", 7), "filter.value", id="event id not a string"),
        pytest.param(cond("waitlisted_for", "e", "contains"), "filter.op", id="contains"),
        pytest.param(cond("checked_in_for", "e", "is_null"), "filter.op", id="is_null"),
    ],
)
async def test_search_with_a_bad_event_predicate_is_422(
    client: httpx.AsyncClient, condition: dict[str, Any], field: str
) -> None:
    response = await client.post(f"{USERS}/search", json={"filter": condition})
    assert_problem(response, 422, field=field)
