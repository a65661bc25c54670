"""Contacts without an email: every message to them is recorded as skipped
(``no_email``), never sent and never retried."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_campaign, create_mail_event, create_user, register
from tests.support.smtp_sink import SmtpSink

API = "/api/v1/campaigns"


async def test_a_campaign_skips_a_contact_without_email_and_sends_to_the_others(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    with_email = await create_user(client, email="ada@example.com")
    without = await create_user(client, email=None)
    campaign = await create_campaign(
        client, audience={"userIds": [with_email["id"], without["id"]]}
    )
    sent = (await client.post(f"{API}/{campaign['id']}/send")).json()
    assert (sent["counts"]["queued"], sent["counts"]["skipped"]) == (1, 1)
    [skipped] = (await client.get(f"{API}/{campaign['id']}/deliveries?status=skipped")).json()[
        "items"
    ]
    assert (skipped["userId"], skipped["lastError"], skipped["email"]) == (
        without["id"],
        "no_email",
        None,
    )
    await drain(make_worker())
    [message] = smtp_sink.handler.messages
    assert "<ada@example.com>" in message["To"]


async def test_an_email_sent_to_a_filter_skips_contacts_without_email(
    client: httpx.AsyncClient,
) -> None:
    await create_user(client, email=None, city="Austin")
    sent = await send_campaign(
        client,
        filter={"field": "city", "op": "eq", "value": "Austin"},
        subject="Hello",
        text="Hi",
    )
    campaign = (await client.get(f"{API}/{sent['campaignId']}")).json()
    assert campaign["counts"]["skipped"] == 1
    assert campaign["counts"]["queued"] == 0


async def test_a_registration_confirmation_to_a_contact_without_email_is_skipped(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    person = await create_user(client, email=None)
    event = await create_mail_event(client)
    await register(client, event["id"], person["id"])
    [confirmation] = (await client.get(API, params={"kind": "transactional"})).json()["items"]
    assert confirmation["counts"]["skipped"] == 1
    await drain(make_worker())
    assert smtp_sink.handler.messages == []
