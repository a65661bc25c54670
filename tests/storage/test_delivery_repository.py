"""Contract tests for the campaign and delivery repositories (the ledger and the queue)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from eventcrm.campaigns.domain import (
    Campaign,
    CampaignKind,
    DeliveryOutcome,
    DeliveryStatus,
    StoredStatus,
    UserIdsAudience,
    UsersById,
    UsersMatching,
)
from eventcrm.kit.filters import Condition, Op
from eventcrm.storage.ports import Storage
from tests.support.databases import add_users
from tests.support.factories import make_user

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _campaign(campaign_id: str = "c1") -> Campaign:
    return Campaign(
        id=campaign_id,
        name="C",
        kind=CampaignKind.CAMPAIGN,
        status=StoredStatus.QUEUED,
        template_id=None,
        subject="s",
        html=None,
        text="t",
        audience=UserIdsAudience(()),
        event_id=None,
        created_at=NOW,
        updated_at=NOW,
    )


async def _setup(storage: Storage, n: int, **user_fields: object) -> list[str]:
    users = [make_user(**user_fields) for _ in range(n)]
    await add_users(storage, users)
    async with storage.unit_of_work(write=True) as uow:
        await uow.campaigns.add(_campaign())
        await uow.deliveries.freeze(
            campaign_id="c1",
            recipients=UsersById(tuple(u.id for u in users)),
            honour_opt_out=True,
            due_at=NOW,
            now=NOW,
        )
        await uow.commit()
    return [u.id for u in users]


async def test_freeze_writes_one_row_per_selected_contact(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        for company in ("Acme", "acme", "Globex"):
            await uow.users.add(make_user(company=company))
        await uow.users.add(make_user(company="Acme", email_opt_out=True))
        await uow.campaigns.add(_campaign())
        written = await uow.deliveries.freeze(
            campaign_id="c1",
            recipients=UsersMatching(Condition("company", Op.EQ, "ACME")),
            honour_opt_out=True,
            due_at=NOW,
            now=NOW,
        )
        assert written == 3
        counts = await uow.deliveries.counts("c1")
        assert counts[DeliveryStatus.QUEUED] == 2
        assert counts[DeliveryStatus.SKIPPED] == 1


async def test_transactional_freeze_ignores_the_opt_out(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        user = make_user(email_opt_out=True)
        await uow.users.add(user)
        await uow.campaigns.add(_campaign())
        await uow.deliveries.freeze(
            campaign_id="c1",
            recipients=UsersById((user.id,)),
            honour_opt_out=False,
            due_at=NOW,
            now=NOW,
        )
        assert (await uow.deliveries.counts("c1"))[DeliveryStatus.QUEUED] == 1


async def test_concurrent_claims_never_share_a_delivery(storage: Storage) -> None:
    await _setup(storage, 60)

    async def claim(token: str) -> list[int]:
        async with storage.unit_of_work(write=True) as uow:
            got = await uow.deliveries.claim(
                now=NOW, lease_until=NOW + timedelta(minutes=5), token=token, limit=7
            )
            await asyncio.sleep(0.01)  # hold the claim open while others try
            await uow.commit()
        return [d.id for d in got]

    claimed = await asyncio.gather(*(claim(f"t{i}") for i in range(12)))
    flat = [i for ids in claimed for i in ids]
    assert len(flat) == len(set(flat)) == 60


async def test_a_claim_counts_an_attempt_and_carries_the_contact(storage: Storage) -> None:
    ids = await _setup(storage, 2)
    async with storage.unit_of_work(write=True) as uow:
        got = await uow.deliveries.claim(now=NOW, lease_until=NOW, token="t", limit=10)
    assert sorted(d.user.id for d in got if d.user) == sorted(ids)
    assert {d.attempts for d in got} == {1}


async def test_a_lease_is_exclusive_until_it_expires(storage: Storage) -> None:
    await _setup(storage, 3)
    lease_end = NOW + timedelta(minutes=5)
    async with storage.unit_of_work(write=True) as uow:
        first = await uow.deliveries.claim(now=NOW, lease_until=lease_end, token="a", limit=10)
        await uow.commit()
    async with storage.unit_of_work(write=True) as uow:
        during = await uow.deliveries.claim(
            now=lease_end - timedelta(seconds=1), lease_until=lease_end, token="b", limit=10
        )
        after = await uow.deliveries.claim(
            now=lease_end, lease_until=lease_end + timedelta(minutes=5), token="c", limit=10
        )
        await uow.commit()
    assert len(first) == 3
    assert during == []
    assert sorted(d.id for d in after) == sorted(d.id for d in first)
    assert {d.attempts for d in after} == {2}


async def test_only_the_current_claim_may_record(storage: Storage) -> None:
    await _setup(storage, 1)
    async with storage.unit_of_work(write=True) as uow:
        [old] = await uow.deliveries.claim(now=NOW, lease_until=NOW, token="old", limit=1)
        [new] = await uow.deliveries.claim(
            now=NOW, lease_until=NOW + timedelta(minutes=1), token="new", limit=1
        )
        stale = DeliveryOutcome(old.id, DeliveryStatus.FAILED, last_error="late")
        assert await uow.deliveries.record(token="old", outcomes=[stale], now=NOW) == 0
        sent = DeliveryOutcome(new.id, DeliveryStatus.SENT, provider_message_id="x", sent_at=NOW)
        assert await uow.deliveries.record(token="new", outcomes=[sent], now=NOW) == 1
        [delivery] = (await uow.deliveries.list(campaign_id="c1", status=None, limit=10)).items
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.provider_message_id == "x"
    assert delivery.next_attempt_at is None


async def test_a_retry_is_due_at_its_time(storage: Storage) -> None:
    await _setup(storage, 1)
    later = NOW + timedelta(minutes=10)
    async with storage.unit_of_work(write=True) as uow:
        [d] = await uow.deliveries.claim(now=NOW, lease_until=NOW, token="t", limit=1)
        retry = DeliveryOutcome(
            d.id, DeliveryStatus.QUEUED, last_error="451", next_attempt_at=later
        )
        await uow.deliveries.record(token="t", outcomes=[retry], now=NOW)
        assert await uow.deliveries.claim(now=NOW, lease_until=NOW, token="u", limit=1) == []
        assert await uow.deliveries.next_due_at() == later
        assert (
            len(await uow.deliveries.claim(now=later, lease_until=later, token="v", limit=1)) == 1
        )


async def test_cancel_and_requeue_touch_only_their_statuses(storage: Storage) -> None:
    await _setup(storage, 4)
    async with storage.unit_of_work(write=True) as uow:
        claimed = await uow.deliveries.claim(now=NOW, lease_until=NOW, token="t", limit=2)
        failed = [DeliveryOutcome(d.id, DeliveryStatus.FAILED, last_error="550") for d in claimed]
        await uow.deliveries.record(token="t", outcomes=failed, now=NOW)
        assert await uow.deliveries.cancel_queued(campaign_id="c1", now=NOW) == 2
        assert await uow.deliveries.requeue_failed(campaign_id="c1", now=NOW) == 2
        counts = await uow.deliveries.counts("c1")
        again = await uow.deliveries.claim(now=NOW, lease_until=NOW, token="u", limit=10)
    assert counts[DeliveryStatus.QUEUED] == 2
    assert counts[DeliveryStatus.CANCELLED] == 2
    assert {d.attempts for d in again} == {1}


async def test_deleting_a_contact_keeps_the_ledger_row(storage: Storage) -> None:
    [user_id] = await _setup(storage, 1)
    async with storage.unit_of_work(write=True) as uow:
        await uow.users.delete(user_id)
        [claimed] = await uow.deliveries.claim(now=NOW, lease_until=NOW, token="t", limit=1)
        [row] = (await uow.deliveries.list(campaign_id="c1", status=None, limit=1)).items
    assert claimed.user is None
    assert row.user_id is None
    assert row.email.endswith("@example.com")
