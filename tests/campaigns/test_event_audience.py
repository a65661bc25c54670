"""Campaigns to the registrants of an event, with the event in the template."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain
from tests.support.factories import create_campaign, create_mail_event, create_user, register
from tests.support.smtp_sink import SmtpSink


async def test_registrants_by_status_and_role(client: httpx.AsyncClient) -> None:
    host, seated, waiting, outsider = [await create_user(client) for _ in range(4)]
    event = await create_mail_event(client, capacity=1, hostIds=[host["id"]])
    await register(client, event["id"], seated["id"])
    await register(client, event["id"], waiting["id"])

    async def audience_of(**audience: object) -> set[str]:
        campaign = await create_campaign(client, audience={"eventId": event["id"], **audience})
        sent = await client.post(f"/api/v1/campaigns/{campaign['id']}/send")
        assert sent.status_code == 202, sent.text
        page = await client.get(f"/api/v1/campaigns/{campaign['id']}/deliveries")
        return {d["userId"] for d in page.json()["items"]}

    assert await audience_of() == {host["id"], seated["id"]}
    assert await audience_of(statuses=["waitlisted"]) == {waiting["id"]}
    assert await audience_of(roles=["attendee"], statuses=["registered", "waitlisted"]) == {
        seated["id"],
        waiting["id"],
    }
    assert outsider["id"] not in await audience_of(roles=["host", "owner", "attendee"])


async def test_an_unknown_event_or_role_is_a_422(client: httpx.AsyncClient) -> None:
    for audience, field in (
        ({"eventId": "nope"}, "eventId"),
        ({"eventId": "nope", "roles": ["guest"]}, "roles"),
        ({"userIds": ["x"], "statuses": ["registered"]}, "audience"),
    ):
        response = await client.post(
            "/api/v1/campaigns",
            json={"name": "n", "subject": "s", "text": "t", "audience": audience},
        )
        assert response.status_code == 422, response.text
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()


async def test_the_event_is_a_template_variable(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    user = await create_user(client, firstName="Linus")
    event = await create_mail_event(client, title="Kernel Night", venue="Room 1")
    await register(client, event["id"], user["id"])
    response = await client.post(
        "/api/v1/emails/send",
        json={
            "eventId": event["id"],
            "subject": "Reminder: {{ event.title }}",
            "text": "{{ user.firstName }}, see you at {{ event.venue }} on {{ event.startLocal }}",
        },
    )
    assert response.status_code == 202, response.text
    await drain(make_worker())
    reminders = [m for m in smtp_sink.handler.messages if m["Subject"].startswith("Reminder")]
    [message] = reminders
    assert message["Subject"] == "Reminder: Kernel Night"
    text = message.get_body(("plain",))
    assert text is not None
    assert "Linus, see you at Room 1 on Saturday 1 June 2030, 13:00 (CDT)" in text.get_content()
    assert message["List-Unsubscribe"] is not None
