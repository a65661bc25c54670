"""The segments API: saved filters, their members and counts."""

from __future__ import annotations

import httpx

from tests.support.factories import create_user

API = "/api/v1/segments"
AUSTIN_HOSTS = {
    "and": [
        {"field": "city", "op": "eq", "value": "Austin"},
        {"field": "eventsHosted", "op": "gte", "value": 0},
    ]
}


async def test_a_segment_selects_its_members(client: httpx.AsyncClient) -> None:
    austin = [await create_user(client, city="Austin") for _ in range(3)]
    await create_user(client, city="Boston")
    created = await client.post(API, json={"name": "Austin", "filter": AUSTIN_HOSTS})
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    count = await client.get(f"{API}/{segment_id}/count")
    assert count.json() == {"count": 3}
    first = (await client.get(f"{API}/{segment_id}/users", params={"limit": 2})).json()
    rest = (
        await client.get(
            f"{API}/{segment_id}/users", params={"limit": 2, "cursor": first["nextCursor"]}
        )
    ).json()
    assert {u["id"] for u in first["items"] + rest["items"]} == {u["id"] for u in austin}


async def test_an_invalid_filter_is_a_422_and_saves_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post(
        API, json={"name": "Bad", "filter": {"field": "shoeSize", "op": "eq", "value": 1}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "filter.field"
    assert (await client.get(API)).json()["items"] == []


async def test_the_opt_out_flag_is_filterable(client: httpx.AsyncClient) -> None:
    await create_user(client, emailOptOut=True)
    keep = await create_user(client)
    created = await client.post(
        API,
        json={"name": "Reachable", "filter": {"field": "emailOptOut", "op": "eq", "value": False}},
    )
    members = (await client.get(f"{API}/{created.json()['id']}/users")).json()["items"]
    assert [m["id"] for m in members] == [keep["id"]]


async def test_a_segment_can_be_replaced_and_deleted(client: httpx.AsyncClient) -> None:
    created = (await client.post(API, json={"name": "All"})).json()
    assert created["filter"] is None
    replaced = await client.put(
        f"{API}/{created['id']}",
        json={"name": "All", "description": "d", "filter": AUSTIN_HOSTS},
    )
    assert replaced.status_code == 200
    assert replaced.json()["filter"] == AUSTIN_HOSTS
    assert (await client.delete(f"{API}/{created['id']}")).status_code == 204
    assert (await client.get(f"{API}/{created['id']}/count")).status_code == 404


async def test_names_are_unique(client: httpx.AsyncClient) -> None:
    await client.post(API, json={"name": "Same"})
    assert (await client.post(API, json={"name": "Same"})).status_code == 409
