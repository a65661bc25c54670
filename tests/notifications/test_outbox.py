"""Transactional notifications are queued in the transaction of the change (an outbox)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from eventcrm.access.domain import Actor
from eventcrm.access.domain import Role as ActorRole
from eventcrm.access.policy import ContactPrivacy
from eventcrm.bootstrap import build_container
from eventcrm.kit.clock import SystemClock
from eventcrm.notifications.service import Notifications
from eventcrm.registrations.domain import Role
from eventcrm.registrations.service import RegistrationService
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain
from tests.support.factories import create_mail_event, create_template, create_user, register
from tests.support.smtp_sink import SmtpSink

ADMIN = Actor(id="test", role=ActorRole.ADMIN, label="test")


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def _transactional(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/campaigns", params={"kind": "transactional"})
    return response.json()["items"]  # type: ignore[no-any-return]


async def _recipients(client: httpx.AsyncClient, campaign_id: str) -> set[str]:
    page = await client.get(f"/api/v1/campaigns/{campaign_id}/deliveries")
    return {d["userId"] for d in page.json()["items"]}


async def test_a_registration_queues_its_confirmation_and_the_worker_sends_it(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    # Opted out of campaigns: confirmations still reach them.
    user = await create_user(client, firstName="Grace", emailOptOut=True)
    event = await create_mail_event(client, title="Rust Night", venue="Hall B")
    await register(client, event["id"], user["id"])

    [campaign] = await _transactional(client)
    assert campaign["name"].startswith("registration_confirmed")
    assert campaign["eventId"] == event["id"]
    assert campaign["counts"]["queued"] == 1

    await drain(make_worker())
    [message] = smtp_sink.handler.messages
    assert message["To"].addresses[0].addr_spec == user["email"]
    assert message["Subject"] == "You're registered: Rust Night"
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "Hi Grace" in body
    assert "Hall B" in body
    assert "Saturday 1 June 2030, 13:00 (CDT)" in body  # in the event's time zone
    assert "List-Unsubscribe" not in message


async def test_a_registration_that_rolls_back_queues_nothing(
    settings: Settings, storage: Storage, client: httpx.AsyncClient
) -> None:
    user = await create_user(client)
    event = await create_mail_event(client)
    container = build_container(settings, storage=storage)

    async def register_then_fail() -> None:
        async with storage.unit_of_work(write=True) as uow:
            notifier = Notifications(uow=uow, clock=SystemClock(), new_id=container.new_id)
            service = RegistrationService(
                uow=uow,
                clock=SystemClock(),
                cursors=container.cursors,
                notifier=notifier,
                actor=ADMIN,
                privacy=ContactPrivacy(ADMIN, viewers_see_details=False),
                new_id=container.new_id,
                phone_region=None,
            )
            await service.register(event_id=event["id"], user_id=user["id"], role=Role.ATTENDEE)
            # The confirmation is queued inside this transaction...
            assert len((await uow.campaigns.list(kind=None, limit=10)).items) == 1
            raise RuntimeError("the request fails after registering")

    with pytest.raises(RuntimeError, match="fails after registering"):
        await register_then_fail()
    # ...and gone with it.
    assert await _transactional(client) == []
    participants = await client.get(f"/api/v1/events/{event['id']}/registrations")
    assert participants.json()["items"] == []


async def test_a_refused_registration_queues_nothing(client: httpx.AsyncClient) -> None:
    first, second = await create_user(client), await create_user(client)
    event = await create_mail_event(client, capacity=1, waitlistEnabled=False)
    await register(client, event["id"], first["id"])
    refused = await client.post(
        f"/api/v1/events/{event['id']}/registrations", json={"userId": second["id"]}
    )
    assert refused.status_code == 409
    campaigns = await _transactional(client)
    assert len(campaigns) == 1
    assert await _recipients(client, campaigns[0]["id"]) == {first["id"]}


async def test_joining_the_waitlist_sends_no_confirmation(client: httpx.AsyncClient) -> None:
    first, waiting = await create_user(client), await create_user(client)
    event = await create_mail_event(client, capacity=1)
    await register(client, event["id"], first["id"])
    assert (await register(client, event["id"], waiting["id"]))["status"] == "waitlisted"
    assert len(await _transactional(client)) == 1


async def test_a_promotion_from_the_waitlist_is_announced(client: httpx.AsyncClient) -> None:
    leaving, waiting = await create_user(client), await create_user(client)
    event = await create_mail_event(client, capacity=1)
    await register(client, event["id"], leaving["id"])
    await register(client, event["id"], waiting["id"])
    cancel = await client.delete(f"/api/v1/events/{event['id']}/registrations/{leaving['id']}")
    assert cancel.status_code == 204
    promoted = [c for c in await _transactional(client) if c["name"].startswith("promoted")]
    assert len(promoted) == 1
    assert await _recipients(client, promoted[0]["id"]) == {waiting["id"]}


async def test_raising_capacity_announces_each_promotion(client: httpx.AsyncClient) -> None:
    users = [await create_user(client) for _ in range(3)]
    event = await create_mail_event(client, capacity=1)
    for u in users:
        await register(client, event["id"], u["id"])
    response = await client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 3})
    assert response.status_code == 200
    [promoted] = [c for c in await _transactional(client) if c["name"].startswith("promoted")]
    assert await _recipients(client, promoted["id"]) == {users[1]["id"], users[2]["id"]}


async def test_moving_an_event_tells_everyone_signed_up_but_the_owner(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    owner, host, seated, waiting = [await create_user(client) for _ in range(4)]
    event = await create_mail_event(client, capacity=1, ownerId=owner["id"], hostIds=[host["id"]])
    await register(client, event["id"], seated["id"])
    await register(client, event["id"], waiting["id"])
    await drain(make_worker())
    smtp_sink.handler.messages.clear()

    title_only = await client.patch(f"/api/v1/events/{event['id']}", json={"title": "Renamed"})
    assert title_only.status_code == 200
    assert not [c for c in await _transactional(client) if c["name"].startswith("event_updated")]

    moved = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={"venue": "Hall C", "endAt": "2030-06-01T21:00:00+00:00"},
    )
    assert moved.status_code == 200
    [updated] = [c for c in await _transactional(client) if c["name"].startswith("event_updated")]
    assert await _recipients(client, updated["id"]) == {host["id"], seated["id"], waiting["id"]}
    await drain(make_worker())
    bodies = [_text(m) for m in smtp_sink.handler.messages]
    assert len(bodies) == 3
    assert all("Hall C" in b and "It now ends" in b for b in bodies)


async def test_cancelling_an_event_tells_everyone_signed_up(client: httpx.AsyncClient) -> None:
    seated, waiting = await create_user(client), await create_user(client)
    event = await create_mail_event(client, capacity=1)
    await register(client, event["id"], seated["id"])
    await register(client, event["id"], waiting["id"])
    response = await client.patch(f"/api/v1/events/{event['id']}", json={"status": "cancelled"})
    assert response.status_code == 200
    [cancelled] = [c for c in await _transactional(client) if c["name"].startswith("event_canc")]
    assert await _recipients(client, cancelled["id"]) == {seated["id"], waiting["id"]}
    assert cancelled["recipientCount"] == 2
    assert cancelled["subject"] == "Cancelled: {{ event.title }}"


async def test_a_stored_template_overrides_the_default(client: httpx.AsyncClient) -> None:
    template = await create_template(
        client,
        name="notification:registration_confirmed",
        subject="Welcome aboard {{ event.title }}",
        text="See you, {{ user.firstName }}",
        html=None,
    )
    user = await create_user(client)
    event = await create_mail_event(client)
    await register(client, event["id"], user["id"])
    [campaign] = await _transactional(client)
    assert campaign["subject"] == "Welcome aboard {{ event.title }}"
    assert campaign["templateId"] == template["id"]
    # The stored template as a whole: no default html mixed into an html-less one.
    assert (campaign["html"], campaign["text"]) == (None, "See you, {{ user.firstName }}")
    assert campaign["recipientCount"] == 1


async def test_a_message_to_nobody_leaves_no_campaign_behind(client: httpx.AsyncClient) -> None:
    event = await create_mail_event(client)  # nobody signed up to hear of a change
    moved = await client.patch(f"/api/v1/events/{event['id']}", json={"venue": "Hall Z"})
    assert moved.status_code == 200
    assert await _transactional(client) == []
