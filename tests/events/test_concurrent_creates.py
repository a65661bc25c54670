"""Events created at the same moment with the same title each get their own
generated slug; only a slug the client chose can be taken."""

from __future__ import annotations

import asyncio
import re

import httpx

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_event, event_payload

EVENTS = "/api/v1/events"
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


async def test_fifty_concurrent_creates_with_one_title_all_succeed_with_distinct_slugs(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(client.post(EVENTS, json=event_payload(title="Launch Party")) for _ in range(50))
    )
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
    slugs = [r.json()["slug"] for r in responses]
    assert len(set(slugs)) == 50
    assert all(SLUG.fullmatch(s) and len(s) <= 120 for s in slugs), slugs
    assert all(s.startswith("launch-party") for s in slugs)
    for slug in ("launch-party", "launch-party-2"):
        fetched = await client.get(f"{EVENTS}/by-slug/{slug}")
        assert fetched.status_code == 200


async def test_past_the_numbered_slugs_the_event_id_makes_it_unique(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(20):
        await create_event(client, title="Launch")
    created = await create_event(client, id="evt-the-21st", title="Launch")
    assert created["slug"] == "launch-evt-the-21st"


async def test_concurrent_creates_with_a_chosen_slug_succeed_once(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    responses = await asyncio.gather(
        *(client.post(EVENTS, json=event_payload(slug="launch")) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    await assert_refused(
        client,
        storage,
        "POST",
        EVENTS,
        status=409,
        code="event_slug_taken",
        json=event_payload(slug="launch"),
    )
