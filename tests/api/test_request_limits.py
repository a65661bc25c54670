"""Oversized bodies (413) and URLs (414) are refused with problem+json before
the application buffers them, and a 405 names every method of its path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from eventcrm.api.middleware import RequestLimitsMiddleware
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused

USERS = "/api/v1/users"
LIMIT = Settings().max_body_bytes
URL_LIMIT = Settings().max_url_bytes


def user_json(padding: int) -> bytes:
    """A valid user whose body is ``padding`` bytes longer than it needs to be."""
    return (
        json.dumps(
            {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}
        ).encode()
        + b" " * padding
    )


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_the_default_limits_are_one_mebibyte_of_body_and_32_kibibytes_of_url() -> None:
    assert LIMIT == 1024 * 1024
    assert URL_LIMIT == 32 * 1024


async def test_a_declared_body_over_the_limit_is_413_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        status=413,
        code="payload_too_large",
        content=user_json(LIMIT),
        headers={"content-type": "application/json"},
    )
    assert str(LIMIT) in body["detail"]


async def test_a_streamed_body_over_the_limit_is_413_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    # No Content-Length: the body is counted while it is read.
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        status=413,
        code="payload_too_large",
        content=chunks(user_json(LIMIT)),
        headers={"content-type": "application/json"},
    )


async def test_a_body_under_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post(
        USERS, content=user_json(LIMIT // 2), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_a_streamed_body_under_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post(
        USERS, content=chunks(user_json(LIMIT // 2)), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_a_put_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{USERS}/any", content=user_json(LIMIT + 1))
    assert_problem(response, 413, code="payload_too_large")


async def test_a_url_over_the_limit_is_414(client: httpx.AsyncClient) -> None:
    response = await client.get(USERS, params={"q": "a" * URL_LIMIT})
    assert_problem(response, 414, code="uri_too_long")


async def test_a_url_at_the_limit_reaches_the_app(client: httpx.AsyncClient) -> None:
    path = "/" + "a" * (URL_LIMIT - 1)
    response = await client.get(path)
    assert_problem(response, 404, code="not_found")


async def test_a_refusal_carries_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post(
        USERS, content=user_json(LIMIT), headers={"x-request-id": "limit-1"}
    )
    assert response.headers["x-request-id"] == "limit-1"
    assert assert_problem(response, 413)["requestId"] == "limit-1"


# --- a per-path override ---------------------------------------------------------------


async def _echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body and answers with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


@pytest.fixture
async def limited() -> AsyncIterator[httpx.AsyncClient]:
    app = RequestLimitsMiddleware(
        _echo_length, max_body_bytes=1000, max_url_bytes=1000, body_limits={"/imports": 5000}
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def test_a_path_with_an_override_accepts_more(limited: httpx.AsyncClient) -> None:
    assert (await limited.post("/imports/users", content=b"x" * 4000)).text == "4000"
    assert (await limited.post("/imports", content=chunks(b"x" * 4000, 100))).text == "4000"


async def test_an_override_has_a_limit_too(limited: httpx.AsyncClient) -> None:
    assert_problem(await limited.post("/imports", content=b"x" * 5001), 413)
    assert_problem(await limited.post("/imports", content=chunks(b"x" * 5001, 100)), 413)


async def test_other_paths_keep_the_default_limit(limited: httpx.AsyncClient) -> None:
    assert_problem(await limited.post("/users", content=b"x" * 1001), 413)
    assert_problem(await limited.post("/users", content=chunks(b"x" * 1001, 100)), 413)
    assert (await limited.post("/users", content=b"x" * 1000)).text == "1000"


async def test_a_streamed_body_is_not_read_past_its_limit() -> None:
    delivered = 0

    async def receive() -> Message:
        nonlocal delivered
        delivered += 100
        return {"type": "http.request", "body": b"x" * 100, "more_body": delivered < 10**6}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = RequestLimitsMiddleware(_echo_length, max_body_bytes=1000, max_url_bytes=1000)
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert delivered == 1100  # the first chunk past the limit, and no more


# --- 405 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", f"{USERS}/some-id", {"GET", "PUT", "PATCH", "DELETE"}),
        ("POST", f"{USERS}/some-id", {"GET", "PUT", "PATCH", "DELETE"}),
        ("DELETE", USERS, {"GET", "POST"}),
        ("POST", "/api/v1/events/some-id", {"GET", "PUT", "PATCH", "DELETE"}),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)
    assert_problem(response, 405, code="method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == allowed
