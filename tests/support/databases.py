"""What the tests need from any backend's database: emptying it between tests, a snapshot
of everything stored (what "nothing changed" compares), and whole reads through the
storage ports (every page) that check results the same way on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aioboto3
import sqlalchemy as sa

from eventcrm.campaigns.domain import Delivery, DeliveryOutcome, DeliveryStatus
from eventcrm.events.domain import Event
from eventcrm.registrations.domain import Registration, Role
from eventcrm.storage.dynamodb.storage import DynamoStorage
from eventcrm.storage.ports import Storage
from eventcrm.storage.sql.storage import SqlStorage
from eventcrm.storage.sql.tables import metadata
from eventcrm.users.domain import User

#: ``"sqlite"`` and ``"postgres"``: the backends of tests that are about SQL itself.
SQL_BACKENDS = ("sqlite", "postgres")
BACKENDS = (*SQL_BACKENDS, "dynamodb")

Snapshot = dict[str, list[Any]]

#: A key's last use (the column, and the item attribute): authenticating any request (a
#: refused one too) may record it, at most once a minute, so "nothing changed" leaves it out.
LAST_USE = "last_used_at"


async def empty(storage: Storage) -> None:
    """Delete everything the storage holds (the schema or table stays)."""
    if isinstance(storage, SqlStorage):
        async with storage.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    elif isinstance(storage, DynamoStorage):
        await storage.truncate()
    else:
        raise TypeError(f"no way to empty {type(storage).__name__}")


async def snapshot(storage: Storage) -> Snapshot:
    """Every row of every table in primary-key order (SQL), or every item of the table
    in key order (DynamoDB), without a key's last use."""
    if isinstance(storage, SqlStorage):
        return await _sql_snapshot(storage)
    if isinstance(storage, DynamoStorage):
        return {storage.table: await _table_items(storage.table)}
    raise TypeError(f"no snapshot of {type(storage).__name__}")


#: What ``count_stored`` counts: a SQL table, and the DynamoDB items holding the same
#: records (their partition key's prefix and their sort key; docs/dynamodb.md).
STORED_KINDS = {
    "users": ("USER#", "USER"),
    "deliveries": ("DELIVERY#", "DELIVERY"),
    "idempotency_keys": ("IDEM#", "RESPONSE"),
}


async def count_stored(storage: Storage, kind: str) -> int:
    """How many records of a kind the database holds (``STORED_KINDS``)."""
    prefix, sort_key = STORED_KINDS[kind]
    if isinstance(storage, SqlStorage):
        table = metadata.tables[kind]
        async with storage.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
    if isinstance(storage, DynamoStorage):
        items = await _table_items(storage.table)
        return sum(1 for i in items if i["PK"]["S"].startswith(prefix) and i["SK"]["S"] == sort_key)
    raise TypeError(f"no count of {type(storage).__name__}")


async def _sql_snapshot(storage: SqlStorage) -> Snapshot:
    rows: Snapshot = {}
    async with storage.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != LAST_USE]
            query = sa.select(*columns).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in (await conn.execute(query)).all()]
    return rows


#: One session for the whole run (a session loads the service's model once), made at first
#: use: each scan opens a client from it, which finds the test server through the same
#: variables the storage does (``AWS_ENDPOINT_URL_DYNAMODB``, …).
_aws: list[aioboto3.Session] = []


async def _table_items(table: str) -> list[Any]:
    """Every item, read consistently, in key order, without a key's last use."""
    if not _aws:
        _aws.append(aioboto3.Session())
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    async with _aws[0].client("dynamodb") as client:
        while True:
            page = await client.scan(**request)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    kept = [{k: v for k, v in item.items() if k != LAST_USE} for item in items]
    return sorted(kept, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


# --- whole reads through the ports --------------------------------------------------------

PAGE = 500


async def stored_event(storage: Storage, event_id: str) -> Event:
    async with storage.unit_of_work(write=False) as uow:
        event = await uow.events.get(event_id, include_deleted=True)
    assert event is not None, f"no event {event_id!r}"
    return event


async def registrations_of(
    storage: Storage, event_id: str, *, role: Role | None = None
) -> list[Registration]:
    """Every registration of the event (all statuses), through as many pages as it takes."""
    found: list[Registration] = []
    after = None
    async with storage.unit_of_work(write=False) as uow:
        while True:
            page = await uow.registrations.participants(
                event_id, status=None, role=role, limit=PAGE, after=after
            )
            found.extend(p.registration for p in page.items)
            if page.next_key is None:
                return found
            after = page.next_key


async def stored_users(storage: Storage, user_ids: list[str]) -> dict[str, User]:
    async with storage.unit_of_work(write=False) as uow:
        users = {user_id: await uow.users.get(user_id) for user_id in user_ids}
    missing = [user_id for user_id, user in users.items() if user is None]
    assert not missing, f"no users {missing}"
    return {user_id: user for user_id, user in users.items() if user is not None}


async def deliveries_of(storage: Storage, campaign_id: str) -> list[Delivery]:
    found: list[Delivery] = []
    after = None
    async with storage.unit_of_work(write=False) as uow:
        while True:
            page = await uow.deliveries.list(
                campaign_id=campaign_id, status=None, limit=PAGE, after=after
            )
            found.extend(page.items)
            if page.next_key is None:
                return found
            after = page.next_key


async def add_users(storage: Storage, users: list[User]) -> None:
    """Store contacts directly (test data), as many per unit of work as the backend
    takes: a DynamoDB transaction holds at most 100 items, two per contact (it and the
    guard of its email)."""
    per_transaction = 40 if isinstance(storage, DynamoStorage) else 1000
    for start in range(0, len(users), per_transaction):
        async with storage.unit_of_work(write=True) as uow:
            for user in users[start : start + per_transaction]:
                await uow.users.add(user)
            await uow.commit()


async def fail_deliveries(
    storage: Storage, campaign_id: str, *, error: str = "failed for the test"
) -> int:
    """The campaign's deliveries that are due now fail, as a worker would record it:
    claimed and recorded through the ports (any other due delivery claimed on the way
    is queued again). Returns how many failed."""
    now = datetime.now(UTC)
    token = "test-failure"
    async with storage.unit_of_work(write=True) as uow:
        claimed = await uow.deliveries.claim(
            now=now, lease_until=now + timedelta(minutes=5), token=token, limit=100
        )
        outcomes = [
            DeliveryOutcome(delivery_id=d.id, status=DeliveryStatus.FAILED, last_error=error)
            if d.campaign_id == campaign_id
            else DeliveryOutcome(
                delivery_id=d.id, status=DeliveryStatus.QUEUED, next_attempt_at=now
            )
            for d in claimed
        ]
        await uow.deliveries.record(token=token, outcomes=outcomes, now=now)
        await uow.commit()
    return sum(1 for d in claimed if d.campaign_id == campaign_id)
