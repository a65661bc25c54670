"""End to end: a campaign to a filter, sent by the worker through a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import httpx

from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_template, create_user
from tests.support.smtp_sink import SmtpSink


async def test_a_campaign_to_a_filter_arrives_once_per_recipient_personalised(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    austin = [
        await create_user(client, firstName=f"Ada{i}", city="Austin", company=f"Co{i}")
        for i in range(45)
    ]
    await create_user(client, city="Boston")
    template = await create_template(
        client,
        subject="Hello {{ user.firstName }}",
        html="<p>Hi {{ user.firstName }} at {{ user.company }}</p>",
        text="Hi {{ user.firstName }} at {{ user.company }}",
    )
    accepted = await send_campaign(
        client,
        templateId=template["id"],
        filter={"field": "city", "op": "eq", "value": "Austin"},
    )
    assert accepted["recipientCount"] == 45

    await drain(make_worker())

    expected = {u["email"]: u for u in austin}
    assert dict(smtp_sink.handler.recipients) == dict.fromkeys(expected, 1)
    message_ids = set()
    for message in smtp_sink.handler.messages:
        user = expected[message["To"].addresses[0].addr_spec]
        assert message["Subject"] == f"Hello {user['firstName']}"
        assert message["From"].addresses[0].addr_spec == "news@events.example"
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None
        assert html is not None
        assert f"Hi {user['firstName']} at {user['company']}" in text.get_content()
        assert f"<p>Hi {user['firstName']} at {user['company']}</p>" in html.get_content()
        assert re.fullmatch(r"<delivery-\d+\.\w{12}@events\.example>", message["Message-ID"])
        message_ids.add(message["Message-ID"])
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(
            r"<https://crm\.example/api/v1/unsubscribe/[\w.-]+>", message["List-Unsubscribe"]
        )
    assert len(message_ids) == 45

    campaign = (await client.get(f"/api/v1/campaigns/{accepted['campaignId']}")).json()
    assert campaign["status"] == "completed"
    assert campaign["counts"]["sent"] == 45
    assert campaign["progress"] == 1.0
    sent = (
        await client.get(
            f"/api/v1/campaigns/{accepted['campaignId']}/deliveries",
            params={"status": "sent", "limit": 1000},
        )
    ).json()["items"]
    assert all(d["attempts"] == 1 and d["sentAt"] and d["providerMessageId"] for d in sent)


async def test_the_unsubscribe_link_in_a_message_works(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    user = await create_user(client)
    await send_campaign(client, subject="s", text="t", userIds=[user["id"]])
    await drain(make_worker())
    [message] = smtp_sink.handler.messages
    url = message["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("https://crm.example")
    assert (await client.post(path)).status_code == 200
    assert (await client.get(f"/api/v1/users/{user['id']}")).json()["emailOptOut"] is True
    # The next campaign skips them.
    second = await send_campaign(client, subject="s", text="t", userIds=[user["id"]])
    await drain(make_worker())
    got = (await client.get(f"/api/v1/campaigns/{second['campaignId']}")).json()
    assert got["counts"]["skipped"] == 1
    assert len(smtp_sink.handler.messages) == 1


async def test_opting_out_after_the_send_still_skips(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    stays, leaves, deleted = [await create_user(client) for _ in range(3)]
    accepted = await send_campaign(
        client, subject="s", text="t", userIds=[stays["id"], leaves["id"], deleted["id"]]
    )
    await client.patch(f"/api/v1/users/{leaves['id']}", json={"emailOptOut": True})
    await client.delete(f"/api/v1/users/{deleted['id']}")
    await drain(make_worker())
    assert list(smtp_sink.handler.recipients) == [stays["email"]]
    skipped = (
        await client.get(
            f"/api/v1/campaigns/{accepted['campaignId']}/deliveries", params={"status": "skipped"}
        )
    ).json()["items"]
    reasons = {d["email"]: d["lastError"] for d in skipped}
    assert reasons == {
        leaves["email"]: "unsubscribed",
        deleted["email"]: "the contact was deleted",
    }


async def test_a_template_error_for_one_recipient_fails_only_that_one(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    ok = await create_user(client, company="Acme")
    bad = await create_user(client)
    accepted = await send_campaign(
        client,
        subject="s",
        text="{{ user.company.upper() }}",
        userIds=[ok["id"], bad["id"]],
    )
    await drain(make_worker())
    assert list(smtp_sink.handler.recipients) == [ok["email"]]
    [failed] = (
        await client.get(
            f"/api/v1/campaigns/{accepted['campaignId']}/deliveries", params={"status": "failed"}
        )
    ).json()["items"]
    assert failed["email"] == bad["email"]
    assert failed["lastError"].startswith("template:")


async def test_a_scheduled_campaign_waits_for_its_time(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    user = await create_user(client)
    await send_campaign(
        client, subject="s", text="t", userIds=[user["id"]], scheduledAt="2999-01-01T00:00:00Z"
    )
    worker = make_worker()
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert smtp_sink.handler.count == 0


async def test_cancel_stops_the_rest(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(30)]
    accepted = await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    worker = make_worker(worker_concurrency=1, worker_batch_size=10)
    async with worker.connections() as connections:
        assert await worker.run_once(connections) == 10
    cancelled = await client.post(f"/api/v1/campaigns/{accepted['campaignId']}/cancel")
    assert cancelled.json()["counts"] == {
        "queued": 0,
        "sending": 0,
        "sent": 10,
        "failed": 0,
        "skipped": 0,
        "cancelled": 20,
    }
    await drain(worker)
    assert smtp_sink.handler.count == 10
