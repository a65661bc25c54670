"""Cached event reads are never stale after a write that returned, and never
show one caller's view to another.

Each write case primes the cache (the second read is a hit), writes through
the API, and compares the cached app's answers with those of an app that does
not cache, over the same database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import REGISTRY

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.sql.storage import SqlStorage
from tests.support.auth import ADMIN_HEADERS
from tests.support.factories import create_category, create_event, create_user, register

API = "/api/v1"


def lookups(cache: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "eventcrm_cache_lookups_total", {"cache": cache, "result": result}
    )
    return value or 0.0


@pytest.fixture
async def truth(
    settings: Settings, storage: SqlStorage, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """The same database through an app that caches nothing."""
    uncached = settings.model_copy(
        update={"event_cache_ttl_seconds": 0, "event_list_cache_ttl_seconds": 0}
    )
    app = create_app(uncached, container=build_container(uncached, storage=storage))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield http


async def _world(client: httpx.AsyncClient) -> dict[str, Any]:
    """An event with a category, an owner, a host, one seat taken and one person waiting."""
    owner, host, other_host, alice, bob, carol = [await create_user(client) for _ in range(6)]
    category = await create_category(client)
    event = await create_event(
        client,
        capacity=1,
        waitlistEnabled=True,
        status="scheduled",
        categoryId=category["id"],
        ownerId=owner["id"],
        hostIds=[host["id"]],
    )
    await register(client, event["id"], alice["id"])
    await register(client, event["id"], bob["id"])  # waitlisted
    return {
        "event": event["id"],
        "category": category["id"],
        "owner": owner["id"],
        "host": host["id"],
        "other_host": other_host["id"],
        "alice": alice["id"],
        "bob": bob["id"],
        "carol": carol["id"],
    }


Write = Callable[[httpx.AsyncClient, dict[str, Any]], Awaitable[httpx.Response]]


def _patch(body: dict[str, Any]) -> Write:
    async def write(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
        return await c.patch(f"{API}/events/{w['event']}", json=body)

    return write


async def _put(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    current = (await c.get(f"{API}/events/{w['event']}")).json()
    body = {k: current[k] for k in ("title", "startAt", "endAt", "ownerId")}
    return await c.put(f"{API}/events/{w['event']}", json={**body, "venue": "Main hall"})


async def _delete(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.delete(f"{API}/events/{w['event']}")


async def _restore(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.post(f"{API}/events/{w['event']}/restore")


async def _register(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.post(f"{API}/events/{w['event']}/registrations", json={"userId": w["carol"]})


async def _cancel(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.delete(f"{API}/events/{w['event']}/registrations/{w['alice']}")


async def _check_in(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.post(f"{API}/events/{w['event']}/registrations/{w['alice']}/check-in")


async def _rename_category(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.patch(f"{API}/categories/{w['category']}", json={"name": "Renamed"})


async def _delete_host(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.delete(f"{API}/users/{w['host']}")


async def _delete_attendee(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.delete(f"{API}/users/{w['alice']}")  # frees the seat: bob moves up


async def _change_hosts(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.patch(f"{API}/events/{w['event']}", json={"hostIds": [w["other_host"]]})


async def _change_owner(c: httpx.AsyncClient, w: dict[str, Any]) -> httpx.Response:
    return await c.patch(f"{API}/events/{w['event']}", json={"ownerId": w["carol"]})


WRITES: dict[str, Write] = {
    "edit (PATCH)": _patch({"title": "Renamed event"}),
    "replace (PUT)": _put,
    "status change": _patch({"status": "active"}),
    "capacity raised (promotes the waitlist)": _patch({"capacity": 5}),
    "soft delete": _delete,
    "register": _register,
    "cancel (promotes the waitlist)": _cancel,
    "check-in": _check_in,
    "category renamed": _rename_category,
    "hosts changed": _change_hosts,
    "owner changed": _change_owner,
    "host's contact deleted": _delete_host,
    "attendee's contact deleted": _delete_attendee,
}


async def _reads(http: httpx.AsyncClient, event_id: str) -> tuple[Any, Any, Any]:
    detail = await http.get(f"{API}/events/{event_id}")
    body = detail.json()
    body.pop("requestId", None)  # a problem names its request
    listing = await http.get(f"{API}/events", params={"include_total": "true"})
    deleted = await http.get(f"{API}/events", params={"include_deleted": "true"})
    return (
        (detail.status_code, body),
        listing.json(),
        deleted.json(),
    )


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
async def test_a_read_after_a_write_is_fresh(
    client: httpx.AsyncClient, truth: httpx.AsyncClient, write: Write
) -> None:
    world = await _world(client)
    await _reads(client, world["event"])
    hits = lookups("event", "hit")
    before = await _reads(client, world["event"])  # served from the cache
    assert lookups("event", "hit") == hits + 1

    response = await write(client, world)
    assert response.status_code < 300, response.text

    after = await _reads(client, world["event"])
    assert after == await _reads(truth, world["event"])
    if write is not _check_in:  # a check-in changes nothing an event read shows
        assert after != before


async def test_a_restored_event_is_back_in_reads_at_once(
    client: httpx.AsyncClient, truth: httpx.AsyncClient
) -> None:
    world = await _world(client)
    await _delete(client, world)
    for _ in range(2):
        gone = await _reads(client, world["event"])
    assert gone[0][0] == 404
    assert (await _restore(client, world)).status_code == 200
    back = await _reads(client, world["event"])
    assert back[0][0] == 200
    assert back == await _reads(truth, world["event"])


async def test_a_write_through_the_storage_alone_invalidates(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    """Any committed unit of work is seen, not only the API's writes (the
    registration path, a batch job): the storage reports what it ran."""
    event = await create_event(client, capacity=10)
    for _ in range(2):
        await client.get(f"{API}/events/{event['id']}")
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.events.take_seat(event["id"])
        await uow.commit()
    fresh = (await client.get(f"{API}/events/{event['id']}")).json()
    assert fresh["registeredCount"] == 1


@pytest.mark.sql("raw SQL statements on the unit of work's connection")
@pytest.mark.parametrize("kind", ["driver", "text"])
async def test_raw_sql_in_a_unit_of_work_invalidates_every_event(
    client: httpx.AsyncClient, storage: SqlStorage, kind: str
) -> None:
    first, second = await create_event(client), await create_event(client)
    for _ in range(2):
        for event in (first, second):
            await client.get(f"{API}/events/{event['id']}")
    async with storage.unit_of_work(write=True) as uow:
        conn = uow._conn
        assert conn is not None
        if kind == "driver":
            await conn.exec_driver_sql("UPDATE events SET title = 'Raw'")
        else:
            await conn.execute(sa.text("UPDATE events SET title = :title"), {"title": "Raw"})
        await uow.commit()
    for event in (first, second):
        assert (await client.get(f"{API}/events/{event['id']}")).json()["title"] == "Raw"


async def test_a_rolled_back_write_leaves_the_cache_alone(
    client: httpx.AsyncClient, storage: SqlStorage
) -> None:
    event = await create_event(client, title="Kept")
    await client.get(f"{API}/events/{event['id']}")
    async with storage.unit_of_work(write=True) as uow:
        await uow.events.set_deleted(event["id"], None)
        await uow.rollback()
    hits = lookups("event", "hit")
    assert (await client.get(f"{API}/events/{event['id']}")).json()["title"] == "Kept"
    assert lookups("event", "hit") == hits + 1


async def _organizer_key(client: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    response = await client.post(
        f"{API}/api-keys", json={"name": "org", "role": "organizer", "userId": user_id}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def test_a_cached_event_is_not_shown_to_an_organizer_who_may_not_see_it(
    client: httpx.AsyncClient,
) -> None:
    owner, stranger = await create_user(client), await create_user(client)
    event = await create_event(client, ownerId=owner["id"])
    url = f"{API}/events/{event['id']}"
    for _ in range(2):
        assert (await client.get(url)).status_code == 200  # cached by the administrator
    owner_key = await _organizer_key(client, owner["id"])
    stranger_key = await _organizer_key(client, stranger["id"])
    assert (await client.get(url, headers=owner_key)).status_code == 200
    assert (await client.get(url, headers=stranger_key)).status_code == 404


async def test_each_organizer_gets_its_own_cached_listing(client: httpx.AsyncClient) -> None:
    a, b = await create_user(client), await create_user(client)
    mine = await create_event(client, ownerId=a["id"])
    theirs = await create_event(client, ownerId=b["id"])
    key_a, key_b = await _organizer_key(client, a["id"]), await _organizer_key(client, b["id"])
    for _ in range(2):
        seen_by_a = (await client.get(f"{API}/events", headers=key_a)).json()
        seen_by_b = (await client.get(f"{API}/events", headers=key_b)).json()
        everything = (await client.get(f"{API}/events")).json()
    assert [e["id"] for e in seen_by_a["items"]] == [mine["id"]]
    assert [e["id"] for e in seen_by_b["items"]] == [theirs["id"]]
    assert {e["id"] for e in everything["items"]} == {mine["id"], theirs["id"]}


async def test_an_unchanged_event_answers_304_to_its_etag(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    url = f"{API}/events/{event['id']}"
    first = await client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"

    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert (await client.get(url, headers={"If-None-Match": f'W/{etag}, "x"'})).status_code == 304

    await client.patch(url, json={"title": "Changed"})
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["title"] == "Changed"
    assert changed.headers["ETag"] != etag


async def test_a_listing_answers_304_to_its_etag(client: httpx.AsyncClient) -> None:
    await create_event(client)
    first = await client.get(f"{API}/events")
    etag = first.headers["ETag"]
    assert (await client.get(f"{API}/events", headers={"If-None-Match": etag})).status_code == 304
    await create_event(client)
    assert (await client.get(f"{API}/events", headers={"If-None-Match": etag})).status_code == 200


async def test_a_zero_ttl_turns_the_cache_off(
    settings: Settings, storage: SqlStorage, client: httpx.AsyncClient
) -> None:
    off = settings.model_copy(update={"event_cache_ttl_seconds": 0})
    app: FastAPI = create_app(off, container=build_container(off, storage=storage))
    event = await create_event(client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        hits, misses = lookups("event", "hit"), lookups("event", "miss")
        for _ in range(3):
            assert (await http.get(f"{API}/events/{event['id']}")).status_code == 200
    assert (lookups("event", "hit"), lookups("event", "miss")) == (hits, misses)


async def test_a_change_to_one_event_keeps_the_others_cached(client: httpx.AsyncClient) -> None:
    changed, untouched = await create_event(client, capacity=5), await create_event(client)
    for _ in range(2):
        await client.get(f"{API}/events/{untouched['id']}")
    person = await create_user(client)
    await register(client, changed["id"], person["id"])
    hits = lookups("event", "hit")
    await client.get(f"{API}/events/{untouched['id']}")
    assert lookups("event", "hit") == hits + 1
