"""GET and DELETE /users/{id}: reading one contact and deleting it."""

from __future__ import annotations

import httpx

from tests.support.assertions import assert_problem
from tests.support.factories import create_user
from tests.support.users_api import USERS, ids

# --- GET /users/{id} ---------------------------------------------------------------------


async def test_get_of_an_unknown_user_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get(f"{USERS}/nobody"), 404)
    assert "nobody" in body["detail"]


async def test_get_with_an_id_outside_the_pattern_is_rejected(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{USERS}/{'x' * 65}"), 422, field="user_id")


# --- DELETE /users/{id} ------------------------------------------------------------------


async def test_delete_answers_204_and_the_user_is_gone(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    response = await client.delete(f"{USERS}/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{USERS}/{created['id']}"), 404)


async def test_delete_twice_is_a_404_the_second_time(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    await client.delete(f"{USERS}/{created['id']}")
    assert_problem(await client.delete(f"{USERS}/{created['id']}"), 404)


async def test_delete_removes_only_that_user(client: httpx.AsyncClient) -> None:
    ada, grace = await create_user(client), await create_user(client)
    await client.delete(f"{USERS}/{ada['id']}")
    assert ids(await client.get(USERS)) == [grace["id"]]


async def test_a_deleted_users_email_can_be_reused(client: httpx.AsyncClient) -> None:
    created = await create_user(client, email="ada@example.com")
    await client.delete(f"{USERS}/{created['id']}")
    await create_user(client, email="ADA@example.com")
