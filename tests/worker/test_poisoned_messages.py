"""One bad message fails alone: its batch is delivered, attempts stop at the maximum,
cancelling releases what a dead worker left claimed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from eventcrm.kit.clock import SystemClock
from eventcrm.storage.ports import Storage
from eventcrm.templates.variables import message_variables
from eventcrm.worker import runner
from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import deliveries, drain, send_campaign
from tests.support.factories import create_event, create_user, register
from tests.support.smtp_sink import SmtpSink

RECURSION = "{% macro f() %}{{ f() }}{% endmacro %}"


async def test_a_recursive_template_fails_only_its_recipient(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client, company="Acme") for _ in range(5)]
    bomb = await create_user(client, company="Bomb")
    accepted = await send_campaign(
        client,
        subject="s",
        text=RECURSION + "{% if user.company == 'Bomb' %}{{ f() }}{% endif %}Hi",
        userIds=[u["id"] for u in [*users[:2], bomb, *users[2:]]],
    )
    # One batch holds them all (batch size 20). A generous time limit: on a loaded
    # machine the recursion must still be what stops the render.
    await drain(make_worker(template_render_timeout_seconds=60.0))
    assert dict(smtp_sink.handler.recipients) == {u["email"]: 1 for u in users}
    ledger = await deliveries(client, accepted["campaignId"])
    failed = ledger[bomb["email"]]
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1
    assert "recursion" in failed["lastError"]
    assert all(ledger[u["email"]]["status"] == "sent" for u in users)


async def test_a_poisoned_confirmation_template_does_not_block_other_mail(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    response = await client.post(
        "/api/v1/email-templates",
        json={
            "name": "notification:registration_confirmed",
            "subject": "s",
            "text": RECURSION + "{{ f() }}",
        },
    )
    assert response.status_code == 201
    event = await create_event(client)
    attendee = await create_user(client)
    await register(client, event["id"], attendee["id"])
    reader = await create_user(client)
    await send_campaign(client, subject="news", text="t", userIds=[reader["id"]])
    await drain(make_worker())
    assert dict(smtp_sink.handler.recipients) == {reader["email"]: 1}
    confirmations = (
        await client.get("/api/v1/campaigns", params={"kind": "transactional"})
    ).json()["items"]
    [confirmation] = confirmations
    ledger = await deliveries(client, confirmation["id"])
    assert ledger[attendee["email"]]["status"] == "failed"


async def test_an_unexpected_error_for_one_message_is_retried_up_to_the_maximum(
    client: httpx.AsyncClient,
    smtp_sink: SmtpSink,
    make_worker: Callable[..., DeliveryWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ok = [await create_user(client) for _ in range(3)]
    broken = await create_user(client, firstName="Broken")
    real = message_variables

    def variables(**kwargs: Any) -> dict[str, Any]:
        if kwargs["user"].first_name == "Broken":
            raise RuntimeError("no variables for you")
        return real(**kwargs)

    monkeypatch.setattr(runner, "message_variables", variables)
    accepted = await send_campaign(
        client, subject="s", text="t", userIds=[u["id"] for u in [*ok, broken]]
    )
    await drain(make_worker())  # max attempts 3, no backoff
    assert dict(smtp_sink.handler.recipients) == {u["email"]: 1 for u in ok}
    failed = (await deliveries(client, accepted["campaignId"]))[broken["email"]]
    assert failed["status"] == "failed"
    assert failed["attempts"] == 3
    assert failed["lastError"].startswith("gave up after 3 attempts")
    assert "no variables for you" in failed["lastError"]


async def abandon_claims(storage: Storage, times: int) -> None:
    """A worker that claims and dies before recording, ``times`` times (leases already over)."""
    for n in range(times):
        now = SystemClock().now()
        async with storage.unit_of_work(write=True) as uow:
            await uow.deliveries.claim(
                now=now + timedelta(seconds=n),
                lease_until=now + timedelta(seconds=n),
                token=f"dead-{n}",
                limit=100,
                max_attempts=3,
            )
            await uow.commit()


async def test_a_claim_that_keeps_expiring_fails_at_the_maximum(
    client: httpx.AsyncClient,
    storage: Storage,
    smtp_sink: SmtpSink,
    make_worker: Callable[..., DeliveryWorker],
) -> None:
    user = await create_user(client)
    accepted = await send_campaign(client, subject="s", text="t", userIds=[user["id"]])
    await abandon_claims(storage, 3)
    await drain(make_worker())
    [delivery] = (await deliveries(client, accepted["campaignId"])).values()
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 3
    assert "lease ran out" in delivery["lastError"]
    assert smtp_sink.handler.count == 0


async def test_cancelling_releases_deliveries_a_dead_worker_left_claimed(
    client: httpx.AsyncClient,
    storage: Storage,
    smtp_sink: SmtpSink,
    make_worker: Callable[..., DeliveryWorker],
) -> None:
    users = [await create_user(client) for _ in range(3)]
    accepted = await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    await abandon_claims(storage, 1)
    sending = await deliveries(client, accepted["campaignId"])
    assert {d["status"] for d in sending.values()} == {"sending"}
    response = await client.post(f"/api/v1/campaigns/{accepted['campaignId']}/cancel")
    assert response.status_code == 200
    assert response.json()["counts"]["cancelled"] == 3
    await drain(make_worker())
    assert smtp_sink.handler.count == 0
    after = await deliveries(client, accepted["campaignId"])
    assert {d["status"] for d in after.values()} == {"cancelled"}
