"""The campaigns API: drafts, freezing the audience, the ledger, cancel and retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.factories import create_campaign, create_template, create_user

API = "/api/v1/campaigns"
#: Valid ISO 8601, but past the year 9999 once converted to UTC.
FAR_FUTURE = "9999-12-31T23:00-12:00"


async def _send(client: httpx.AsyncClient, campaign_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/{campaign_id}/send", json=body or None)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_new_campaign_is_a_draft_with_no_deliveries(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    campaign = await create_campaign(client, audience={"userIds": [user["id"]]})
    assert campaign["status"] == "draft"
    assert campaign["recipientCount"] == 0
    assert campaign["counts"]["queued"] == 0


async def test_sending_freezes_one_delivery_per_matching_contact(
    client: httpx.AsyncClient,
) -> None:
    for city in ("Austin", "Austin", "austin", "Boston"):
        await create_user(client, city=city)
    campaign = await create_campaign(
        client, audience={"filter": {"field": "city", "op": "eq", "value": "AUSTIN"}}
    )
    sent = await _send(client, campaign["id"])
    assert sent["recipientCount"] == 3
    assert sent["counts"]["queued"] == 3
    assert sent["status"] == "sending"
    # Contacts added later are not part of the frozen audience.
    await create_user(client, city="Austin")
    got = (await client.get(f"{API}/{campaign['id']}")).json()
    assert got["recipientCount"] == 3
    assert got["progress"] == 0.0


async def test_opted_out_contacts_are_skipped_at_once(client: httpx.AsyncClient) -> None:
    a = await create_user(client)
    b = await create_user(client, emailOptOut=True)
    campaign = await create_campaign(client, audience={"userIds": [a["id"], b["id"]]})
    sent = await _send(client, campaign["id"])
    assert sent["counts"]["queued"] == 1
    assert sent["counts"]["skipped"] == 1
    skipped = (await client.get(f"{API}/{campaign['id']}/deliveries?status=skipped")).json()
    [delivery] = skipped["items"]
    assert delivery["userId"] == b["id"]
    assert delivery["lastError"] == "unsubscribed"


async def test_a_segment_audience_uses_the_segment_filter(client: httpx.AsyncClient) -> None:
    await create_user(client, company="Acme")
    await create_user(client, company="Globex")
    segment = await client.post(
        "/api/v1/segments",
        json={"name": "Acme", "filter": {"field": "company", "op": "eq", "value": "acme"}},
    )
    campaign = await create_campaign(client, audience={"segmentId": segment.json()["id"]})
    assert (await _send(client, campaign["id"]))["recipientCount"] == 1


async def test_a_template_campaign_keeps_a_copy_of_the_message(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    template = await create_template(client, subject="Original")
    response = await client.post(
        API,
        json={"name": "T", "templateId": template["id"], "audience": {"userIds": [user["id"]]}},
    )
    campaign = response.json()
    await _send(client, campaign["id"])
    await client.put(
        f"/api/v1/email-templates/{template['id']}",
        json={"name": template["name"], "subject": "Edited", "text": "x"},
    )
    assert (await client.get(f"{API}/{campaign['id']}")).json()["subject"] == "Original"


async def test_a_campaign_is_sent_once(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    campaign = await create_campaign(client, audience={"userIds": [user["id"]]})
    await _send(client, campaign["id"])
    again = await client.post(f"{API}/{campaign['id']}/send")
    assert again.status_code == 409
    deliveries = (await client.get(f"{API}/{campaign['id']}/deliveries")).json()
    assert len(deliveries["items"]) == 1


async def test_a_scheduled_campaign_reports_scheduled(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    campaign = await create_campaign(client, audience={"userIds": [user["id"]]})
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sent = await _send(client, campaign["id"], scheduledAt=later)
    assert sent["status"] == "scheduled"
    [delivery] = (await client.get(f"{API}/{campaign['id']}/deliveries")).json()["items"]
    assert datetime.fromisoformat(delivery["nextAttemptAt"]) == datetime.fromisoformat(later)


async def test_cancel_stops_what_is_queued(client: httpx.AsyncClient) -> None:
    users = [await create_user(client) for _ in range(3)]
    campaign = await create_campaign(client, audience={"userIds": [u["id"] for u in users]})
    await _send(client, campaign["id"])
    cancelled = await client.post(f"{API}/{campaign['id']}/cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["counts"]["cancelled"] == 3
    assert body["counts"]["queued"] == 0
    assert (await client.post(f"{API}/{campaign['id']}/retry-failed")).status_code == 409


async def test_emails_send_creates_and_sends_in_one_call(client: httpx.AsyncClient) -> None:
    users = [await create_user(client) for _ in range(2)]
    response = await client.post(
        "/api/v1/emails/send",
        json={
            "subject": "Hi {{ user.firstName }}",
            "text": "Hello",
            "userIds": [u["id"] for u in users],
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["recipientCount"] == 2
    got = (await client.get(f"{API}/{body['campaignId']}")).json()
    assert got["counts"]["queued"] == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "s", "text": "t", "userIds": ["nobody"]}, "userIds"),
        ({"subject": "s", "text": "t"}, "body"),
        ({"subject": "s", "text": "t", "userIds": [], "filter": None}, "userIds"),
        ({"subject": "{{", "text": "t", "filter": None}, "subject"),
        ({"templateId": "missing", "filter": None}, "templateId"),
        ({"templateId": "x", "subject": "s", "filter": None}, "body"),
        ({"subject": "s", "filter": None}, "body"),
        ({"subject": "s", "text": "t", "filter": {"field": "nope", "op": "eq"}}, "filter.field"),
        ({"subject": "s", "text": "t", "segmentId": "missing"}, "segmentId"),
        ({"subject": "s", "text": "t", "filter": None, "scheduledAt": "2030-01-01T00:00"}, ""),
        ({"subject": "s", "text": "t", "filter": None, "scheduledAt": FAR_FUTURE}, ""),
        ({"subject": "s\u0000", "text": "t", "filter": None}, "subject"),
        ({"subject": "s", "text": "t", "userIds": None}, "body"),
        ({"subject": "s", "text": "t", "segmentId": None}, "body"),
    ],
)
async def test_bad_send_requests_are_4xx_and_write_nothing(
    client: httpx.AsyncClient, storage: Storage, payload: dict[str, Any], field: str
) -> None:
    await create_user(client)
    response = await client.post("/api/v1/emails/send", json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["field"] for e in response.json()["errors"])
    assert (await client.get(API)).json()["items"] == []


async def test_unknown_campaigns_are_404(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", ""),
        ("POST", "/send"),
        ("POST", "/cancel"),
        ("POST", "/retry-failed"),
        ("GET", "/deliveries"),
    ):
        response = await client.request(method, f"{API}/nope{path}")
        assert response.status_code == 404, (method, path)


async def test_deliveries_page_by_id_and_filter_by_status(client: httpx.AsyncClient) -> None:
    users = [await create_user(client) for _ in range(5)]
    campaign = await create_campaign(client, audience={"userIds": [u["id"] for u in users]})
    await _send(client, campaign["id"])
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "status": "queued"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{API}/{campaign['id']}/deliveries", params=params)).json()
        seen.extend(d["id"] for d in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen)
    failed = await client.get(f"{API}/{campaign['id']}/deliveries", params={"status": "failed"})
    assert failed.json()["items"] == []
    bad = await client.get(f"{API}/{campaign['id']}/deliveries", params={"status": "lost"})
    assert bad.status_code == 422


async def test_only_drafts_can_be_deleted(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    campaign = await create_campaign(client, audience={"userIds": [user["id"]]})
    await _send(client, campaign["id"])
    assert (await client.delete(f"{API}/{campaign['id']}")).status_code == 409


async def test_campaigns_list_newest_first(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    ids = [
        (await create_campaign(client, audience={"userIds": [user["id"]]}))["id"] for _ in range(3)
    ]
    page = (await client.get(API, params={"limit": 2})).json()
    rest = (await client.get(API, params={"limit": 2, "cursor": page["nextCursor"]})).json()
    assert [c["id"] for c in page["items"] + rest["items"]] == ids[::-1]
