"""Abuse limits: request budgets (429 with RateLimit-* headers), the daily recipient
quota and the confirmation of large sends, CORS, the cross-site write guard, and
security headers."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from limits import parse_many
from pydantic import ValidationError

from eventcrm.access.domain import Actor, Role
from eventcrm.api.auth import get_actor
from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from eventcrm.unsubscribe.tokens import UnsubscribeLinks
from tests.support.assertions import assert_problem
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.databases import fail_deliveries
from tests.support.factories import create_campaign, create_event, create_user, register

ORGANIZER = Actor(id="key:organizer1", role=Role.ORGANIZER, label="organizer1", user_id="u1")
SECRET = "test-secret-key-0123456789"  # the test settings' key
ADMIN = Actor(id="key:admin1", role=Role.ADMIN, label="admin1")

AppFactory = Callable[..., FastAPI]


@pytest.fixture
def make_app(settings: Settings, storage: Storage) -> AppFactory:
    """An app over the test database with some settings changed (fresh budgets)."""

    def make(actor: Actor = ADMIN, **overrides: Any) -> FastAPI:
        changed = settings.model_copy(update=overrides)
        app = create_app(changed, container=build_container(changed, storage=storage))

        async def as_actor(request: Request) -> Actor:
            request.state.actor = actor
            return actor

        app.dependency_overrides[get_actor] = as_actor
        return app

    return make


@asynccontextmanager
async def http(app: FastAPI, *, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


# --- Settings ---------------------------------------------------------------


def test_the_default_budgets_parse() -> None:
    defaults = Settings(_env_file=None)
    assert [str(i) for i in parse_many(defaults.rate_limit)] == ["600 per 1 minute"]
    assert parse_many(defaults.rate_limit_registrations)[0].amount == 60
    assert [i.amount for i in parse_many(defaults.rate_limit_email)] == [10, 100]
    assert defaults.organizer_daily_recipients == 1000
    assert defaults.campaign_confirm_threshold == 1000
    assert defaults.allowed_origins == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("rate_limit", "lots"), ("rate_limit_email", "5/fortnight"), ("cors_origins", "evil")],
)
def test_a_malformed_limit_setting_is_refused_at_start(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(_env_file=None, **{field: value})  # type: ignore[arg-type]


def test_origins_are_a_comma_separated_list() -> None:
    settings = Settings(cors_origins="https://a.example, https://b.example:8443/")
    assert settings.allowed_origins == ["https://a.example", "https://b.example:8443"]


# --- Request budgets ----------------------------------------------------------


async def test_a_spent_budget_is_429_with_retry_after_and_ratelimit_headers(
    make_app: AppFactory,
) -> None:
    async with http(make_app(rate_limit="3/minute")) as client:
        remaining = []
        for _ in range(3):
            ok = await client.get("/api/v1/users")
            assert ok.status_code == 200
            assert ok.headers["RateLimit-Limit"] == "3"
            assert 0 < int(ok.headers["RateLimit-Reset"]) <= 60
            remaining.append(ok.headers["RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]
        refused = await client.get("/api/v1/users")
    body = assert_problem(refused, 429, code="rate_limited")
    assert "default budget allows 3" in body["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_guessing_keys_spends_the_client_address_budget(
    settings: Settings, storage: Storage
) -> None:
    """Refused credentials count per client address: past its budget, guesses get 429
    (and nothing tells a right guess from a wrong one any more); a real key is unaffected."""
    await seed_admin_key(storage)
    changed = settings.model_copy(update={"rate_limit": "2/minute"})
    app = create_app(changed, container=build_container(changed, storage=storage))
    wrong = {"Authorization": "Bearer ecrm_AAAAAAAA_" + "x" * 43}
    async with http(app, address="192.0.2.7") as client:
        statuses = [
            (await client.get("/api/v1/users", headers=wrong)).status_code for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        refused = await client.get("/api/v1/users")  # no credential at all
        assert_problem(refused, 429, code="rate_limited")
        assert (await client.get("/api/v1/users", headers=ADMIN_HEADERS)).status_code == 200


async def test_budgets_are_per_client_address_without_a_key(make_app: AppFactory) -> None:
    app = make_app(rate_limit="1/minute")
    async with http(app, address="192.0.2.1") as first, http(app, address="192.0.2.2") as second:
        assert (await first.get("/health/live")).status_code == 200
        assert (await first.get("/health/live")).status_code == 429
        assert (await second.get("/health/live")).status_code == 200


async def test_budgets_are_per_key_whatever_the_address(make_app: AppFactory) -> None:
    organizer = make_app(actor=ORGANIZER, rate_limit="2/minute")
    async with http(organizer, address="192.0.2.1") as a, http(organizer, address="192.0.2.2") as b:
        assert (await a.get("/api/v1/users")).status_code == 200
        assert (await b.get("/api/v1/users")).status_code == 200
        assert_problem(await a.get("/api/v1/users"), 429, code="rate_limited")
        # The address's own budget (no key: health) is untouched.
        assert (await a.get("/health/live")).status_code == 200


async def test_registrations_have_a_tighter_budget(make_app: AppFactory) -> None:
    async with http(make_app(rate_limit_registrations="2/minute")) as client:
        event = await create_event(client)
        users = [await create_user(client) for _ in range(3)]
        url = f"/api/v1/events/{event['id']}/registrations"
        for user in users[:2]:
            assert (await client.post(url, json={"userId": user["id"]})).status_code == 201
        refused = await client.post(url, json={"userId": users[2]["id"]})
        assert_problem(refused, 429, code="rate_limited")
        assert refused.headers["RateLimit-Limit"] == "2"
        # Nothing was registered, and other routes still answer.
        listed = await client.get(url)
        assert listed.status_code == 200
        assert len(listed.json()["items"]) == 2


async def test_sending_email_has_a_tighter_budget(make_app: AppFactory) -> None:
    async with http(make_app(rate_limit_email="1/minute")) as client:
        user = await create_user(client)
        message = {"subject": "Hi", "text": "Hello", "userIds": [user["id"]]}
        assert (await client.post("/api/v1/emails/send", json=message)).status_code == 202
        assert_problem(
            await client.post("/api/v1/emails/send", json=message), 429, code="rate_limited"
        )
        draft = await create_campaign(client, audience={"userIds": [user["id"]]})
        send = await client.post(f"/api/v1/campaigns/{draft['id']}/send")
        assert_problem(send, 429, code="rate_limited")
        assert (await client.get(f"/api/v1/campaigns/{draft['id']}")).json()["status"] == "draft"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _users(client: httpx.AsyncClient, n: int) -> list[str]:
    return [(await create_user(client))["id"] for _ in range(n)]


async def _organizers_event(admin: httpx.AsyncClient, participants: int) -> str:
    """An event of ORGANIZER's (created by an administrator) with new participants:
    an organizer mails only its own events' participants (its audience also holds
    the organizer, as the event's owner)."""
    if (await admin.get(f"/api/v1/users/{ORGANIZER.user_id}")).status_code == 404:
        await create_user(admin, id=ORGANIZER.user_id)
    event = await create_event(admin, ownerId=ORGANIZER.user_id)
    for user_id in await _users(admin, participants):
        await register(admin, event["id"], user_id)
    return str(event["id"])


async def test_an_unreachable_redis_lets_requests_through_but_stops_organizer_mail(
    make_app: AppFactory,
) -> None:
    down = f"redis://127.0.0.1:{_closed_port()}/0"
    async with http(make_app(redis_url=down, rate_limit="1/minute")) as client:
        for _ in range(3):  # fails open: served, no budget headers
            response = await client.get("/api/v1/users")
            assert response.status_code == 200
            assert "RateLimit-Limit" not in response.headers
        event_id = await _organizers_event(client, 1)
    async with http(make_app(actor=ORGANIZER, redis_url=down)) as client:
        message = {"subject": "Hi", "text": "Hello", "eventId": event_id}
        refused = await client.post("/api/v1/emails/send", json=message)
        assert_problem(refused, 503, code="service_unavailable")
        assert (await client.get("/api/v1/campaigns")).json()["items"] == []


# --- Recipients: daily quota and confirmation ---------------------------------


async def test_an_organizer_cannot_email_more_than_its_daily_recipients(
    make_app: AppFactory,
) -> None:
    async with http(make_app()) as admin:
        events = [await _organizers_event(admin, n) for n in (1, 2, 0)]  # 2, 3, 1 recipients
    async with http(make_app(actor=ORGANIZER, organizer_daily_recipients=3)) as client:
        first = await client.post(
            "/api/v1/emails/send", json={"subject": "Hi", "text": "A", "eventId": events[0]}
        )
        assert first.status_code == 202, first.text
        refused = await client.post(
            "/api/v1/emails/send", json={"subject": "Hi", "text": "B", "eventId": events[1]}
        )
        body = assert_problem(refused, 429, code="daily_recipient_limit")
        assert "at most 3 a day" in body["detail"]
        assert 0 < int(refused.headers["Retry-After"]) <= 86_400
        # The refused send left nothing behind; one more recipient still fits.
        campaigns = (await client.get("/api/v1/campaigns")).json()["items"]
        assert [c["recipientCount"] for c in campaigns] == [2]
        one = await client.post(
            "/api/v1/emails/send", json={"subject": "Hi", "text": "C", "eventId": events[2]}
        )
        assert one.status_code == 202, one.text


async def test_retrying_failed_deliveries_counts_against_the_quota(
    make_app: AppFactory, storage: Storage
) -> None:
    async with http(make_app()) as admin:
        event_id = await _organizers_event(admin, 1)  # 2 recipients
    async with http(make_app(actor=ORGANIZER, organizer_daily_recipients=2)) as client:
        sent = await client.post(
            "/api/v1/emails/send", json={"subject": "Hi", "text": "A", "eventId": event_id}
        )
        assert sent.status_code == 202, sent.text
        campaign_id = sent.json()["campaignId"]
        assert await fail_deliveries(storage, campaign_id) == 2
        retry = await client.post(f"/api/v1/campaigns/{campaign_id}/retry-failed")
        assert_problem(retry, 429, code="daily_recipient_limit")
        counts = (await client.get(f"/api/v1/campaigns/{campaign_id}")).json()["counts"]
        assert counts["failed"] == 2


async def test_an_administrator_has_no_daily_recipient_quota(make_app: AppFactory) -> None:
    async with http(make_app(actor=ADMIN, organizer_daily_recipients=1)) as client:
        ids = await _users(client, 3)
        sent = await client.post(
            "/api/v1/emails/send", json={"subject": "Hi", "text": "A", "userIds": ids}
        )
        assert sent.status_code == 202, sent.text


async def test_a_large_send_needs_confirmation(make_app: AppFactory) -> None:
    async with http(make_app(campaign_confirm_threshold=2)) as client:
        ids = await _users(client, 3)
        draft = await create_campaign(client, audience={"userIds": ids})
        url = f"/api/v1/campaigns/{draft['id']}/send"
        refused = await client.post(url)
        body = assert_problem(refused, 409, code="confirmation_required")
        assert "3 recipients" in body["detail"]
        assert "?confirm=true" in body["detail"]
        got = (await client.get(f"/api/v1/campaigns/{draft['id']}")).json()
        assert got["status"] == "draft"
        assert got["counts"]["queued"] == 0
        confirmed = await client.post(url, params={"confirm": "true"})
        assert confirmed.status_code == 202, confirmed.text
        assert confirmed.json()["recipientCount"] == 3


async def test_a_large_one_call_send_needs_confirmation_and_leaves_no_draft(
    make_app: AppFactory,
) -> None:
    async with http(make_app(campaign_confirm_threshold=1)) as client:
        message = {"subject": "Hi", "text": "A", "userIds": await _users(client, 2)}
        refused = await client.post("/api/v1/emails/send", json=message)
        assert_problem(refused, 409, code="confirmation_required")
        assert (await client.get("/api/v1/campaigns")).json()["items"] == []
        ok = await client.post("/api/v1/emails/send?confirm=true", json=message)
        assert ok.status_code == 202, ok.text


async def test_a_send_at_the_threshold_needs_no_confirmation(make_app: AppFactory) -> None:
    async with http(make_app(campaign_confirm_threshold=2)) as client:
        message = {"subject": "Hi", "text": "A", "userIds": await _users(client, 2)}
        assert (await client.post("/api/v1/emails/send", json=message)).status_code == 202


# --- CORS and cross-site writes -------------------------------------------------

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,authorization",
}


async def test_a_preflight_from_an_allowed_origin_is_answered(make_app: AppFactory) -> None:
    async with http(make_app(cors_origins="https://app.example")) as client:
        response = await client.options(
            "/api/v1/users", headers={**PREFLIGHT, "Origin": "https://app.example"}
        )
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        simple = await client.get("/api/v1/users", headers={"Origin": "https://app.example"})
        assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "RateLimit-Remaining" in simple.headers["Access-Control-Expose-Headers"]


async def test_a_preflight_from_another_origin_is_denied(make_app: AppFactory) -> None:
    async with http(make_app(cors_origins="https://app.example")) as client:
        response = await client.options(
            "/api/v1/users", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert response.status_code == 400
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_no_origin_is_allowed_by_default(make_app: AppFactory) -> None:
    async with http(make_app()) as client:
        response = await client.options(
            "/api/v1/users", headers={**PREFLIGHT, "Origin": "https://app.example"}
        )
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
async def test_a_form_encoded_write_is_415_and_changes_nothing(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/api/v1/users",
        content=b"firstName=A&lastName=B&email=a%40example.com",
        headers={"Content-Type": content_type},
    )
    body = assert_problem(response, 415, code="unsupported_media_type")
    assert content_type in body["detail"]
    assert (await client.get("/api/v1/users")).json()["items"] == []


async def test_a_json_suffix_type_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users",
        content=b'{"firstName": "A", "lastName": "B", "email": "a@example.com"}',
        headers={"Content-Type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_a_cross_origin_bodyless_send_is_403_and_sends_nothing(
    make_app: AppFactory,
) -> None:
    async with http(make_app(cors_origins="https://app.example")) as client:
        draft = await create_campaign(client, audience={"userIds": await _users(client, 1)})
        url = f"/api/v1/campaigns/{draft['id']}/send"
        refused = await client.post(url, headers={"Origin": "https://evil.example"})
        assert_problem(refused, 403, code="cross_origin")
        assert (await client.get(f"/api/v1/campaigns/{draft['id']}")).json()["status"] == "draft"
        allowed = await client.post(url, headers={"Origin": "https://app.example"})
        assert allowed.status_code == 202, allowed.text


async def test_the_servers_own_origin_may_write(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users",
        json={"firstName": "A", "lastName": "B", "email": "own@example.com"},
        headers={"Origin": "http://test"},
    )
    assert response.status_code == 201, response.text


# --- Security headers -----------------------------------------------------------


async def test_api_responses_carry_security_headers_and_no_store(
    client: httpx.AsyncClient,
) -> None:
    for response in (await client.get("/api/v1/users"), await client.get("/api/v1/nothing")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "Strict-Transport-Security" not in response.headers
    health = await client.get("/health/live")
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert "Cache-Control" not in health.headers


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_allow_exactly_their_own_inline_scripts(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S)
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert "frame-ancestors 'none'" in policy


async def test_hsts_only_over_tls_or_a_trusted_proxy(make_app: AppFactory) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    async with http(make_app()) as client:
        assert (
            "Strict-Transport-Security"
            not in (await client.get("/health/live", headers=forwarded)).headers
        )
    async with http(make_app(trust_proxy_headers=True)) as client:
        behind_proxy = await client.get("/health/live", headers=forwarded)
        assert behind_proxy.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "Strict-Transport-Security" not in (await client.get("/health/live")).headers
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as tls:
        assert "Strict-Transport-Security" in (await tls.get("/health/live")).headers


async def test_one_click_unsubscribe_is_exempt_from_the_write_guard(
    make_app: AppFactory,
) -> None:
    async with http(make_app(cors_origins="https://app.example")) as client:
        user = await create_user(client)
        token = UnsubscribeLinks(secret_key=SECRET, base_url="http://x/").token(user["id"])
        response = await client.post(
            f"/api/v1/unsubscribe/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": "https://mail.example",
            },
        )
        assert response.status_code == 200, response.text
        assert (await client.get(f"/api/v1/users/{user['id']}")).json()["emailOptOut"] is True
