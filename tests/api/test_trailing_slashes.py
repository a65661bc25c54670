"""A trailing slash changes nothing: the same answer, never a redirect."""

from __future__ import annotations

import httpx

from tests.support.factories import create_event, create_user, user_payload

API = "/api/v1"


async def test_post_with_a_trailing_slash_creates(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/users/", json=user_payload(email="slash@example.com"))
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{API}/users/{response.json()['id']}"
    listed = (await client.get(f"{API}/users", params={"q": "slash"})).json()["items"]
    assert [u["id"] for u in listed] == [response.json()["id"]]


async def test_reads_with_and_without_a_slash_are_the_same(client: httpx.AsyncClient) -> None:
    user = await create_user(client, company="Acme")
    event = await create_event(client)
    for path in (
        f"{API}/users",
        f"{API}/users/{user['id']}",
        f"{API}/events",
        f"{API}/events/count",
        f"{API}/events/{event['id']}",
        f"{API}/events/{event['id']}/registrations",
        "/health/live",
    ):
        plain = await client.get(path, params={"limit": 5} if path.endswith("s") else None)
        slashed = await client.get(path + "/", params={"limit": 5} if path.endswith("s") else None)
        assert plain.status_code == slashed.status_code == 200, (path, slashed.text)
        assert slashed.json() == plain.json(), path


async def test_event_count_in_the_seed_form(client: httpx.AsyncClient) -> None:
    await create_event(client)
    await create_event(client)
    response = await client.get(f"{API}/events/count/")
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 2}


async def test_no_method_answers_a_redirect(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    calls = [
        ("PATCH", f"{API}/users/{user['id']}/", {"city": "Paris"}),
        ("POST", f"{API}/users/search/", {}),
        ("DELETE", f"{API}/users/{user['id']}/", None),
        ("GET", f"{API}/nowhere/", None),
    ]
    statuses = []
    for method, url, body in calls:
        response = await client.request(method, url, json=body)
        assert "location" not in response.headers
        statuses.append(response.status_code)
    assert statuses == [200, 200, 204, 404]
    assert (await client.get(f"{API}/users/{user['id']}")).status_code == 404


async def test_only_one_slash_is_removed(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/users//")).status_code == 404
