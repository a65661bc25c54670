"""The SendGrid provider against a local stub that checks the documented payload."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from eventcrm.mail.message import Mailbox, OutgoingMessage
from eventcrm.mail.ports import Verdict
from eventcrm.mail.sendgrid import SendGridMailSender
from eventcrm.settings import Settings
from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_user
from tests.support.sendgrid_stub import API_KEY, SendGridStub


@pytest.fixture
def stub() -> Iterator[SendGridStub]:
    server = SendGridStub()
    server.start()
    yield server
    server.stop()


def _message(n: int, *, body: str = "") -> OutgoingMessage:
    return OutgoingMessage(
        delivery_id=n,
        campaign_id="c1",
        to=Mailbox(f"p{n}@example.com", f"Person {n}"),
        subject=f"Hello {n}",
        html=f"<p>Hi {n}{body}</p>",
        text=f"Hi {n}{body}",
        message_id=f"<delivery-{n}.c1@events.example>",
        unsubscribe_url=f"https://crm.example/u/{n}",
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _sender(stub: SendGridStub, key: str = API_KEY) -> SendGridMailSender:
    return SendGridMailSender(
        api_key=key, base_url=stub.base_url, sender=Mailbox("news@events.example", "Events")
    )


async def test_up_to_1000_personalised_messages_go_in_one_request(stub: SendGridStub) -> None:
    messages = [_message(n) for n in range(1, 1501)]
    async with _sender(stub).connect() as connection:
        results = await connection.send(messages)
    assert [r.verdict for r in results] == [Verdict.ACCEPTED] * 1500
    assert [len(b["personalizations"]) for b in stub.accepted] == [1000, 500]
    assert {r.provider_message_id for r in results} == {"sg-1", "sg-2"}
    received = {m["to"]: m for m in stub.received()}
    assert len(received) == 1500
    got = received["p7@example.com"]
    assert (got["subject"], got["text"], got["html"]) == ("Hello 7", "Hi 7", "<p>Hi 7</p>")
    assert got["message_id"] == "<delivery-7.c1@events.example>"
    assert got["list_unsubscribe"] == "<https://crm.example/u/7>"


async def test_a_message_too_big_for_substitutions_goes_alone(stub: SendGridStub) -> None:
    big = _message(2, body="x" * 6000)
    async with _sender(stub).connect() as connection:
        results = await connection.send([_message(1), big, _message(3)])
    assert [r.verdict for r in results] == [Verdict.ACCEPTED] * 3
    assert sorted(len(b["personalizations"]) for b in stub.accepted) == [1, 2]
    alone = next(b for b in stub.accepted if len(b["personalizations"]) == 1)
    assert "substitutions" not in alone["personalizations"][0]
    assert {m["to"]: m["text"] for m in stub.received()}["p2@example.com"] == big.text


@pytest.mark.parametrize(
    ("status", "headers", "verdict", "retry_after"),
    [
        (429, {"Retry-After": "7"}, Verdict.TRANSIENT, 7.0),
        (500, {}, Verdict.TRANSIENT, None),
        (503, {}, Verdict.TRANSIENT, None),
        (400, {}, Verdict.PERMANENT, None),
        (413, {}, Verdict.PERMANENT, None),
    ],
)
async def test_an_answer_maps_to_every_delivery_of_the_request(
    stub: SendGridStub,
    status: int,
    headers: dict[str, str],
    verdict: Verdict,
    retry_after: float | None,
) -> None:
    stub.script.append((status, headers, {"errors": [{"message": "the reason"}]}))
    async with _sender(stub).connect() as connection:
        results = await connection.send([_message(1), _message(2)])
    assert [r.verdict for r in results] == [verdict, verdict]
    assert all(r.retry_after == retry_after for r in results)
    assert all(f"HTTP {status}: the reason" in (r.detail or "") for r in results)


async def test_a_rate_limit_reset_header_is_honoured(stub: SendGridStub) -> None:
    reset = datetime.now(UTC).timestamp() + 30
    stub.script.append((429, {"X-RateLimit-Reset": str(int(reset))}, {}))
    async with _sender(stub).connect() as connection:
        [result] = await connection.send([_message(1)])
    assert result.retry_after is not None
    assert 25 <= result.retry_after <= 31


async def test_a_bad_key_is_retried_not_failed(stub: SendGridStub) -> None:
    async with _sender(stub, key="wrong").connect() as connection:
        [result] = await connection.send([_message(1)])
    assert result.verdict is Verdict.TRANSIENT
    assert "401" in (result.detail or "")


async def test_an_unreachable_api_is_transient() -> None:
    sender = SendGridMailSender(
        api_key=API_KEY, base_url="http://127.0.0.1:9", sender=Mailbox("a@b.example")
    )
    async with sender.connect() as connection:
        [result] = await connection.send([_message(1)])
    assert result.verdict is Verdict.TRANSIENT
    assert "unreachable" in (result.detail or "")


async def test_the_worker_waits_out_a_429_and_sends_each_message_once(
    client: httpx.AsyncClient,
    stub: SendGridStub,
    smtp_settings: Settings,
    make_worker: Callable[..., DeliveryWorker],
) -> None:
    users = [await create_user(client) for _ in range(30)]
    accepted = await send_campaign(
        client, subject="Hi {{ user.firstName }}", text="t", userIds=[u["id"] for u in users]
    )
    stub.script.append((429, {"Retry-After": "1"}, {"errors": [{"message": "too many"}]}))
    stub.script.append((500, {}, {"errors": [{"message": "oops"}]}))
    worker = make_worker(
        email_provider="sendgrid",
        sendgrid_api_key=SecretStr(API_KEY),
        sendgrid_base_url=stub.base_url,
        worker_batch_size=100,
        worker_concurrency=1,
    )
    await drain(worker)

    assert Counter(m["to"] for m in stub.received()) == {u["email"]: 1 for u in users}
    statuses = [s for _, s in stub.requests]
    assert statuses[:2] == [429, 500]
    assert set(statuses[2:]) == {202}
    (t429, _), (t500, _) = stub.requests[0], stub.requests[1]
    assert t500 - t429 >= 0.9  # Retry-After: 1 was honoured
    ledger = (
        await client.get(f"/api/v1/campaigns/{accepted['campaignId']}/deliveries?limit=100")
    ).json()["items"]
    assert {d["status"] for d in ledger} == {"sent"}
    # The 429 cost every delivery an attempt; the 500 those in its request.
    assert {d["attempts"] for d in ledger} <= {2, 3}
    assert all(d["providerMessageId"].startswith("sg-") for d in ledger)


async def test_idna_domains_are_sent_and_a_unicode_local_part_goes_alone(
    stub: SendGridStub,
) -> None:
    messages = [_message(n) for n in range(1, 4)]
    messages[0] = replace(messages[0], to=Mailbox("jörg@bücher.example", "Jörg"))
    messages[1] = replace(messages[1], to=Mailbox("ada@bücher.example", "Ada"))
    async with _sender(stub).connect() as connection:
        results = await connection.send(messages)
    assert all(r.verdict is Verdict.ACCEPTED for r in results)
    assert sorted(len(b["personalizations"]) for b in stub.accepted) == [1, 2]
    alone = next(b for b in stub.accepted if len(b["personalizations"]) == 1)
    assert alone["personalizations"][0]["to"] == [
        {"email": "jörg@xn--bcher-kva.example", "name": "Jörg"}
    ]
    assert "ada@xn--bcher-kva.example" in {m["to"] for m in stub.received()}
