"""Unsubscribe links: signed, no login; GET asks, only POST (one-click or the page's button)
unsubscribes."""

from __future__ import annotations

import httpx

from eventcrm.storage.ports import Storage
from eventcrm.unsubscribe.tokens import UnsubscribeLinks
from tests.support.assertions import assert_refused
from tests.support.factories import create_user

SECRET = "test-secret-key-0123456789"  # the test settings' key


def _token(user_id: str) -> str:
    return UnsubscribeLinks(secret_key=SECRET, base_url="http://x/api/v1/unsubscribe/").token(
        user_id
    )


async def test_get_shows_a_confirmation_form_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    user = await create_user(client)
    response = await client.get(f"/api/v1/unsubscribe/{_token(user['id'])}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in response.text
    assert 'name="List-Unsubscribe" value="One-Click"' in response.text
    assert (await client.get(f"/api/v1/users/{user['id']}")).json()["emailOptOut"] is False


async def test_get_of_a_tampered_link_is_404(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    token = _token(user["id"])
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await client.get(f"/api/v1/unsubscribe/{forged}")).status_code == 404


async def test_the_pages_button_unsubscribes_and_shows_a_page(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    url = f"/api/v1/unsubscribe/{_token(user['id'])}"
    response = await client.post(
        url,
        data={"List-Unsubscribe": "One-Click"},
        headers={"Accept": "text/html", "Origin": "http://test"},
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert (await client.get(f"/api/v1/users/{user['id']}")).json()["emailOptOut"] is True


async def test_one_click_post_unsubscribes(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        f"/api/v1/unsubscribe/{_token(user['id'])}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert response.json() == {"userId": user["id"], "emailOptOut": True}
    assert (await client.get(f"/api/v1/users/{user['id']}")).json()["emailOptOut"] is True


async def test_a_tampered_token_changes_nothing(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    token = _token(user["id"])
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = await client.post(f"/api/v1/unsubscribe/{forged}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/v1/users/{user['id']}")).json()["emailOptOut"] is False


async def test_a_token_signed_with_another_key_is_refused(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    other = UnsubscribeLinks(
        secret_key="another-key-0123456789", base_url="http://x/api/v1/unsubscribe/"
    )
    response = await client.post(f"/api/v1/unsubscribe/{other.token(user['id'])}")
    assert response.status_code == 404


async def test_unsubscribing_twice_is_harmless(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    for _ in range(2):
        assert (await client.post(f"/api/v1/unsubscribe/{_token(user['id'])}")).status_code == 200


async def test_the_opt_out_is_writable_and_kept_when_put_omits_it(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    user = await create_user(client, emailOptOut=True)
    assert user["emailOptOut"] is True
    put = await client.put(
        f"/api/v1/users/{user['id']}",
        json={"firstName": "A", "lastName": "B", "email": user["email"]},
    )
    assert put.json()["emailOptOut"] is True
    # Only the person opts back in: the API refuses it, even to an administrator.
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"/api/v1/users/{user['id']}",
        status=403,
        code="forbidden",
        json={"emailOptOut": False},
    )
    put_back = await client.put(
        f"/api/v1/users/{user['id']}",
        json={"firstName": "A", "lastName": "B", "email": user["email"], "emailOptOut": False},
    )
    assert put_back.status_code == 403
