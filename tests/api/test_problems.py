"""One error model for the whole app: every failure is an RFC 9457 problem, with a request id."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from eventcrm.app import create_app
from eventcrm.settings import Settings
from tests.support.assertions import assert_problem
from tests.support.auth import ADMIN_HEADERS, seed_admin_key

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def _fail_unexpectedly() -> None:
    raise RuntimeError("connection string postgres://admin:hunter2@db")


@pytest.fixture
async def http(sqlite_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client over the app plus one route that crashes, as a bug would."""
    app = create_app(sqlite_settings)
    app.add_api_route("/test/crash", _fail_unexpectedly)
    # Let the app answer its own 500 instead of re-raising into the test.
    await seed_admin_key(app.state.container.storage)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as client:
        yield client
    await app.state.container.storage.close()


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nothing", "/api/v2/users", "/api/v1/users/a/b"])
async def test_an_unknown_route_is_a_404_problem(http: httpx.AsyncClient, path: str) -> None:
    body = assert_problem(await http.get(path), 404)
    assert body["instance"] == path


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/health/live", "GET"), ("POST", "/health/ready", "GET")],
)
async def test_a_wrong_method_is_a_405_problem_naming_the_allowed_method(
    http: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await http.request(method, path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allowed


async def test_a_wrong_method_on_an_api_resource_is_a_405_problem(
    http: httpx.AsyncClient,
) -> None:
    assert_problem(await http.patch("/api/v1/users"), 405)


async def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/test/crash")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["type"].endswith("internal_error")


async def test_a_sent_request_id_is_echoed_in_header_and_problem(http: httpx.AsyncClient) -> None:
    response = await http.get("/nope", headers={"X-Request-ID": "req-42.a:b_c"})
    assert response.headers["x-request-id"] == "req-42.a:b_c"
    assert response.json()["requestId"] == "req-42.a:b_c"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health/live"),
        ("GET", "/nope"),
        ("DELETE", "/health/live"),
        ("GET", "/api/v1/users?limit=0"),
        ("GET", "/test/crash"),
    ],
)
async def test_every_response_echoes_the_request_id(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await http.request(method, path, headers={"X-Request-ID": "trace-7"})
    assert response.headers["x-request-id"] == "trace-7"


async def test_a_request_id_is_generated_when_none_is_sent(http: httpx.AsyncClient) -> None:
    first, second = await http.get("/health/live"), await http.get("/health/live")
    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_generated_request_id_is_also_in_the_problem(http: httpx.AsyncClient) -> None:
    response = await http.get("/nope")
    assert response.json()["requestId"] == response.headers["x-request-id"]


@pytest.mark.parametrize("unsafe", ["has space", "x" * 129, "<script>", "a\tb", ""])
async def test_an_unsafe_request_id_is_replaced_by_a_generated_one(
    http: httpx.AsyncClient, unsafe: str
) -> None:
    response = await http.get("/health/live", headers={"X-Request-ID": unsafe})
    assert GENERATED_ID.match(response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        # Named as the client wrote it (docs/errors.md).
        ("nick_name", "nick_name"),
        ("nickName", "nickName"),
        # Not a field's spelling: echoed as sent, never made to look like a field.
        ("Nick_Name", "Nick_Name"),
        ("Email", "Email"),
        ("nick-name", "nick-name"),
    ],
)
async def test_an_unknown_body_field_is_named_as_sent(
    http: httpx.AsyncClient, sent: str, named: str
) -> None:
    user = {"firstName": "Ada", "lastName": "L", "email": "ada@example.com", sent: "x"}
    body = assert_problem(await http.post("/api/v1/users", json=user), 422, field=named)
    assert [e["field"] for e in body["errors"]] == [named]
