"""Campaigns and the delivery ledger, which is also the worker's queue.

A delivery is one item (``DELIVERY#<number>``), in its campaign's collection on
GSI1 and, while queued or being sent, on the sparse ``DUE`` partition of GSI2
sorted by due time: claiming reads the earliest due ones there and takes each
with a conditional update (the lease: owner token and expiry), so several
workers share a campaign without handing one delivery to two of them.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from eventcrm.campaigns.domain import (
    Campaign,
    CampaignKind,
    ClaimedDelivery,
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    EventRegistrants,
    RecipientSelection,
    StoredStatus,
    UsersById,
    audience_from_json,
    audience_to_json,
)
from eventcrm.campaigns.errors import CampaignIdTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item, deserialize, dt, opt_dt, opt_parse_dt, parse_dt
from eventcrm.storage.dynamodb.listing import page
from eventcrm.storage.dynamodb.schema import GSI1, GSI2
from eventcrm.storage.dynamodb.session import (
    NOT_EXISTS,
    Cond,
    KeyCondition,
    Session,
    _Placeholders,
    equals,
    error_code,
    key_of,
)
from eventcrm.storage.dynamodb.users import DynamoUserRepository, to_user
from eventcrm.storage.ports import KeysetPage
from eventcrm.users.domain import User

_CAMPAIGN_DATETIMES = frozenset(
    {"created_at", "updated_at", "scheduled_at", "queued_at", "cancelled_at"}
)
_CAMPAIGN_FIELDS = [
    "id", "name", "kind", "status", "template_id", "subject", "html", "text", "audience",
    "event_id", "context", "recipient_count", "scheduled_at", "queued_at", "cancelled_at",
    "created_at", "updated_at", "created_by", "updated_by",
]  # fmt: skip
_ACTIVE = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)
#: Delivery numbers a process reserves at once (unused ones are gaps, as in a SQL sequence).
_NUMBER_BLOCK = 100


def _campaign_item(c: Campaign) -> Item:
    item: Item = {n: getattr(c, n) for n in _CAMPAIGN_FIELDS}
    for n in _CAMPAIGN_DATETIMES:
        item[n] = opt_dt(item[n])
    item["kind"], item["status"] = str(c.kind), str(c.status)
    item["audience"] = json.dumps(audience_to_json(c.audience))
    item["context"] = json.dumps(c.context)
    item["type"] = "CAMPAIGN"
    item["GSI1PK"], item["GSI1SK"] = "CAMPAIGN", c.id
    return item


def _campaign(item: Item) -> Campaign:
    data: dict[str, Any] = {n: item.get(n) for n in _CAMPAIGN_FIELDS}
    for n in _CAMPAIGN_DATETIMES:
        data[n] = opt_parse_dt(data[n])
    data["kind"] = CampaignKind(data["kind"])
    data["status"] = StoredStatus(data["status"])
    data["audience"] = audience_from_json(json.loads(data["audience"]))
    data["context"] = json.loads(data["context"])
    data["recipient_count"] = int(data["recipient_count"] or 0)
    return Campaign(**data)


def _is_campaign(item: Item) -> bool:
    return item.get("type") == "CAMPAIGN"


class DynamoCampaignRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, campaign: Campaign) -> None:
        key = keys.campaign(campaign.id)
        if await self._s.get(key) is not None:
            raise CampaignIdTaken(campaign.id)
        self._s.put(
            key,
            _campaign_item(campaign),
            conditions=[NOT_EXISTS],
            error=CampaignIdTaken(campaign.id),
        )

    async def get(self, campaign_id: str) -> Campaign | None:
        item = await self._s.get(keys.campaign(campaign_id))
        return _campaign(item) if item else None

    async def replace(self, campaign: Campaign) -> None:
        item = _campaign_item(campaign)
        sets = {n: item[n] for n in _CAMPAIGN_FIELDS if n not in ("id", "created_at", "created_by")}
        if await self._s.get(keys.campaign(campaign.id)) is not None:
            self._s.update(keys.campaign(campaign.id), sets=sets)

    async def delete(self, campaign_id: str) -> bool:
        key = keys.campaign(campaign_id)
        if await self._s.get(key) is None:
            return False
        self._s.delete(key)
        # As the SQL foreign key cascades: the campaign's deliveries go with it.
        for item in await _deliveries_of(self._s, campaign_id):
            self._s.delete((item["PK"], item["SK"]))
            self._s.pending[(item["PK"], item["SK"])].bulk = True
        return True

    async def _all(self) -> list[Campaign]:
        items = await self._s.query(
            KeyCondition("GSI1PK", "CAMPAIGN"), index=GSI1, belongs=_is_campaign, what="campaigns"
        )
        return [_campaign(i) for i in items]

    async def list(
        self,
        *,
        kind: CampaignKind | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
        event_ids: Collection[str] | None = None,
    ) -> KeysetPage[Campaign]:
        rows = [
            c
            for c in await self._all()
            if (kind is None or c.kind == kind)
            and (event_ids is None or c.event_id in set(event_ids))
        ]
        return page(rows, lambda c: (c.created_at, c.id), [True, True], limit=limit, after=after)

    async def uses_template_unsent(self, template_id: str) -> bool:
        return any(
            c.template_id == template_id and c.status == StoredStatus.DRAFT
            for c in await self._all()
        )


async def _deliveries_of(session: Session, campaign_id: str) -> list[Item]:
    pk = f"DELIVERIES#{campaign_id}"
    return await session.query(
        KeyCondition("GSI1PK", pk),
        index=GSI1,
        belongs=lambda i: i.get("GSI1PK") == pk,
        what="deliveries",
    )


def _delivery(item: Item) -> Delivery:
    return Delivery(
        id=int(item["id"]),
        campaign_id=item["campaign_id"],
        user_id=item.get("user_id"),
        email=item["email"],
        status=DeliveryStatus(item["status"]),
        attempts=int(item.get("attempts") or 0),
        last_error=item.get("last_error"),
        next_attempt_at=opt_parse_dt(item.get("next_attempt_at")),
        provider_message_id=item.get("provider_message_id"),
        sent_at=opt_parse_dt(item.get("sent_at")),
        created_at=parse_dt(item["created_at"]),
        updated_at=parse_dt(item["updated_at"]),
    )


def _due(next_attempt_at: str, delivery_id: int) -> dict[str, Any]:
    return {"GSI2PK": "DUE", "GSI2SK": f"{next_attempt_at}#{delivery_id:020d}"}


_NOT_DUE = {"GSI2PK": None, "GSI2SK": None}


class DynamoDeliveryRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def _allocate(self, n: int) -> int:
        """``n`` consecutive delivery numbers; returns the first. Numbers are reserved
        from an atomic counter item in blocks, so most small freezes need no request."""
        block = self._s.db.delivery_numbers
        if block[1] - block[0] >= n:
            self._s.db.delivery_numbers = (block[0] + n, block[1])
            return block[0]
        size = max(n, _NUMBER_BLOCK)
        p = _Placeholders()
        answer = await self._s.db.call(
            "update_item",
            **p.expression(
                {
                    "TableName": self._s.db.table,
                    "Key": key_of(*keys.sequence("delivery")),
                    "UpdateExpression": f"ADD {p.name('value')} {p.value(size)}",
                    "ReturnValues": "UPDATED_NEW",
                }
            ),
        )
        first = int(deserialize(answer["Attributes"])["value"]) - size + 1
        self._s.db.delivery_numbers = (first + n, first + size)
        return first

    async def _recipients(self, recipients: RecipientSelection) -> list[User]:
        if isinstance(recipients, UsersById):
            found = await self._s.get_many([keys.user(i) for i in recipients.user_ids])
            return [to_user(i) for i in found.values()]
        users = DynamoUserRepository(self._s)
        if isinstance(recipients, EventRegistrants):
            relations = [
                r
                for r in await users._registrations(recipients.event_id)
                if r["status"] in recipients.statuses and r["role"] in recipients.roles
            ]
            found = await self._s.get_many([keys.user(r["user_id"]) for r in relations])
            return [to_user(i) for i in found.values()]
        return await users._select(recipients.where)

    async def freeze(
        self,
        *,
        campaign_id: str,
        recipients: RecipientSelection,
        honour_opt_out: bool,
        due_at: datetime,
        now: datetime,
    ) -> int:
        people = sorted(await self._recipients(recipients), key=lambda u: u.id)
        if not people:
            return 0
        first = await self._allocate(len(people))
        for n, user in enumerate(people):
            delivery_id = first + n
            skip = None
            if not user.email:
                skip = "no_email"
            elif honour_opt_out and user.email_opt_out:
                skip = "unsubscribed"
            item: Item = {
                "type": "DELIVERY",
                "id": delivery_id,
                "campaign_id": campaign_id,
                "user_id": user.id,
                "email": user.email or "",
                "status": DeliveryStatus.SKIPPED.value if skip else DeliveryStatus.QUEUED.value,
                "attempts": 0,
                "last_error": skip,
                "next_attempt_at": None if skip else dt(due_at),
                "created_at": dt(now),
                "updated_at": dt(now),
                "GSI1PK": f"DELIVERIES#{campaign_id}",
                "GSI1SK": f"{delivery_id:020d}",
            }
            if not skip:
                item |= _due(dt(due_at), delivery_id)
            self._s.put(keys.delivery(delivery_id), item, bulk=True)
        return len(people)

    async def counts(self, campaign_id: str) -> dict[DeliveryStatus, int]:
        found = dict.fromkeys(DeliveryStatus, 0)
        for item in await _deliveries_of(self._s, campaign_id):
            found[DeliveryStatus(item["status"])] += 1
        return found

    async def list(
        self,
        *,
        campaign_id: str,
        status: DeliveryStatus | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Delivery]:
        rows = [
            _delivery(i)
            for i in await _deliveries_of(self._s, campaign_id)
            if status is None or i["status"] == str(status)
        ]
        chosen = page(rows, lambda d: (d.id,), [False], limit=limit, after=after)
        # A deleted contact's deliveries stay in the ledger without them (as the SQL
        # foreign key's ON DELETE SET NULL): read here, not rewritten at deletion.
        people = await self._s.get_many([keys.user(d.user_id) for d in chosen.items if d.user_id])
        items = [
            d if d.user_id is None or keys.user(d.user_id) in people else replace(d, user_id=None)
            for d in chosen.items
        ]
        return KeysetPage(items, chosen.next_key)

    async def requeue_failed(self, *, campaign_id: str, now: datetime) -> int:
        failed = [
            i
            for i in await _deliveries_of(self._s, campaign_id)
            if i["status"] == DeliveryStatus.FAILED.value
        ]
        for i in failed:
            self._s.update(
                (i["PK"], i["SK"]),
                sets={
                    "status": DeliveryStatus.QUEUED.value,
                    "attempts": 0,
                    "next_attempt_at": dt(now),
                    "updated_at": dt(now),
                    **_due(dt(now), int(i["id"])),
                },
                conditions=[equals("status", DeliveryStatus.FAILED.value)],
                bulk=True,
            )
        return len(failed)

    async def cancel_queued(self, *, campaign_id: str, now: datetime) -> int:
        chosen = 0
        for i in await _deliveries_of(self._s, campaign_id):
            if i["status"] == DeliveryStatus.QUEUED.value:
                condition = equals("status", DeliveryStatus.QUEUED.value)
            elif i["status"] == DeliveryStatus.SENDING.value and i.get("next_attempt_at", "") <= dt(
                now
            ):
                # Abandoned by its worker: only while that lease is still the one seen.
                condition = Cond(
                    "{n0} = {v0} AND {n1} = {v1}",
                    ("status", "next_attempt_at"),
                    (DeliveryStatus.SENDING.value, i["next_attempt_at"]),
                )
            else:
                continue
            self._s.update(
                (i["PK"], i["SK"]),
                sets={
                    "status": DeliveryStatus.CANCELLED.value,
                    "next_attempt_at": None,
                    "claim_token": None,
                    "updated_at": dt(now),
                    **_NOT_DUE,
                },
                conditions=[condition],
                bulk=True,
            )
            chosen += 1
        return chosen

    async def _update_now(self, item: Item, sets: dict[str, Any], condition: Cond) -> Item | None:
        """One conditional UpdateItem at once; the new item, or None if the condition failed."""
        p = _Placeholders()
        assignments = [f"{p.name(n)} = {p.value(v)}" for n, v in sets.items() if v is not None]
        removals = [p.name(n) for n, v in sets.items() if v is None]
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        request = {
            "TableName": self._s.db.table,
            "Key": key_of(item["PK"], item["SK"]),
            "UpdateExpression": expression,
            "ConditionExpression": p.render(condition),
            "ReturnValues": "ALL_NEW",
        }
        try:
            answer = await self._s.db.call("update_item", **p.expression(request))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return deserialize(answer["Attributes"])

    async def _due_items(
        self, now: datetime, limit: int | None, after: str | None = None
    ) -> builtins.list[Item]:
        """Due deliveries in due order (after the index key ``after``), from the sparse index."""
        high = f"{dt(now)}#~"
        cond = (
            KeyCondition("GSI2PK", "DUE", sk_attr="GSI2SK", between=(after + "\x00", high))
            if after is not None
            else KeyCondition("GSI2PK", "DUE", sk_attr="GSI2SK", at_most=high)
        )
        return await self._s.db.query(cond, index=GSI2, limit=limit)

    async def _candidates(self, now: datetime, limit: int) -> AsyncIterator[Item]:
        """Due deliveries page by page, until the caller has what it needs."""
        after = None
        while True:
            items = await self._due_items(now, limit, after)
            for item in items:
                yield item
            if len(items) < limit:
                return
            after = items[-1]["GSI2SK"]

    async def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        max_attempts: int | None = None,
    ) -> builtins.list[ClaimedDelivery]:
        # Taken at once, each with a conditional update: the claim holds whatever this
        # unit of work does next, as the SQL adapter's claim does once committed.
        seen = dt(now)
        claimed: builtins.list[Item] = []
        # Concurrent workers race for the same first items: a lost one is skipped and
        # the next page read, so each claimer still gets up to ``limit``.
        async for item in self._candidates(now, limit * 2 + 10):
            if len(claimed) >= limit:
                break
            was = item.get("next_attempt_at")
            if item.get("status") not in _ACTIVE or was is None or was > seen:
                continue
            same = Cond(
                "{n0} = {v0} AND {n1} = {v1}", ("status", "next_attempt_at"), (item["status"], was)
            )
            if (
                max_attempts is not None
                and item["status"] == DeliveryStatus.SENDING.value
                and int(item.get("attempts") or 0) >= max_attempts
            ):
                await self._update_now(
                    item,
                    {
                        "status": DeliveryStatus.FAILED.value,
                        "last_error": f"gave up after {max_attempts} attempts: "
                        "the worker's lease ran out before an outcome was recorded",
                        "next_attempt_at": None,
                        "claim_token": None,
                        "updated_at": seen,
                        **_NOT_DUE,
                    },
                    same,
                )
                continue
            taken = await self._update_now(
                item,
                {
                    "status": DeliveryStatus.SENDING.value,
                    "attempts": int(item.get("attempts") or 0) + 1,
                    "next_attempt_at": dt(lease_until),
                    "claim_token": token,
                    "updated_at": seen,
                    **_due(dt(lease_until), int(item["id"])),
                },
                same,
            )
            if taken is not None:
                claimed.append(taken)
        people = await self._s.get_many(
            [keys.user(i["user_id"]) for i in claimed if i.get("user_id")]
        )
        return [
            ClaimedDelivery(
                id=int(i["id"]),
                campaign_id=i["campaign_id"],
                email=i["email"],
                attempts=int(i["attempts"]),
                user=to_user(people[keys.user(i["user_id"])])
                if i.get("user_id") and keys.user(i["user_id"]) in people
                else None,
            )
            for i in sorted(claimed, key=lambda i: int(i["id"]))
        ]

    async def record(
        self, *, token: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> int:
        # Written at once, each only while the claim still holds (token and status).
        holds = Cond(
            "{n0} = {v0} AND {n1} = {v1}",
            ("claim_token", "status"),
            (token, DeliveryStatus.SENDING.value),
        )
        limit = asyncio.Semaphore(16)

        async def one(o: DeliveryOutcome) -> bool:
            key = keys.delivery(o.delivery_id)
            next_at = opt_dt(o.next_attempt_at)
            sets: dict[str, Any] = {
                "status": str(o.status),
                "next_attempt_at": next_at,
                "sent_at": opt_dt(o.sent_at),
                "claim_token": None,
                "updated_at": dt(now),
            }
            if o.last_error:
                sets["last_error"] = o.last_error[:1000]
            if o.provider_message_id:
                sets["provider_message_id"] = o.provider_message_id[:255]
            active = str(o.status) in _ACTIVE and next_at is not None
            sets |= _due(next_at, o.delivery_id) if active and next_at else _NOT_DUE
            async with limit:
                return await self._update_now({"PK": key[0], "SK": key[1]}, sets, holds) is not None

        return sum(await asyncio.gather(*(one(o) for o in outcomes)))

    async def next_due_at(self) -> datetime | None:
        first = await self._s.db.query(KeyCondition("GSI2PK", "DUE"), index=GSI2, limit=1)
        if not first:
            return None
        return parse_dt(first[0]["GSI2SK"].split("#", 1)[0])
