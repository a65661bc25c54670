"""The SQL campaign and delivery repositories.

The deliveries table is both the ledger a client reads and the queue the
worker consumes. Freezing an audience is one ``INSERT ... SELECT`` run by the
database; claiming work is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE
SKIP LOCKED) RETURNING`` (on SQLite the surrounding write transaction holds the
database's single write lock, which gives the same exclusivity).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

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
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import (
    FieldMap,
    compile_filter,
    keyset_rows,
    one_of,
    one_of_param,
    sort_columns,
)
from eventcrm.storage.sql.tables import campaigns, deliveries, email_templates, registrations, users
from eventcrm.storage.sql.types import UTCDateTime
from eventcrm.storage.sql.users import USER_FIELDS, row_to_user
from eventcrm.storage.sql.writes import write_or_raise

#: Must match the predicate of the partial index ``ix_deliveries_due`` word for
#: word, so both databases can use that index to find due work.
_ACTIVE = sa.text("deliveries.status IN ('queued', 'sending')")
_NEWEST_FIRST = (SortKey("created_at", descending=True),)
_CAMPAIGN_KEYS = FieldMap(columns={"created_at": campaigns.c.created_at, "id": campaigns.c.id})


# A transactional message (campaigns/outbox.py), built once: the stored
# template named ``template_name`` as a whole (an html-less one stays
# html-less) if there is one, else the message's own content (``own_*``), read
# inside the INSERT.
_t = email_templates
_named = _t.c.name == sa.bindparam("template_name", type_=_t.c.name.type)
_stored = sa.exists().where(_named)


def _stored_or_own(name: str) -> ColumnElement[Any]:
    own = sa.bindparam(f"own_{name}", type_=sa.Text())
    return sa.case((_stored, sa.select(_t.c[name]).where(_named).scalar_subquery()), else_=own)


_CONTENT = ("subject", "html", "text")
_ADD_MESSAGE = campaigns.insert().values(
    {
        c.name: sa.bindparam(c.name, type_=c.type)
        for c in campaigns.columns
        if c.name != "template_id" and c.name not in _CONTENT
    }
    | {"template_id": sa.select(_t.c.id).where(_named).scalar_subquery()}
    | {name: _stored_or_own(name) for name in _CONTENT}
)

# A message's count corrected, or the message dropped when nobody was left to tell.
_SET_RECIPIENT_COUNT = (
    campaigns.update()
    .where(campaigns.c.id == sa.bindparam("campaign_id"))
    .values(recipient_count=sa.bindparam("count", type_=sa.Integer()))
)
_DELETE = campaigns.delete().where(campaigns.c.id == sa.bindparam("campaign_id"))


def _campaign_row(campaign: Campaign) -> dict[str, Any]:
    row = {c.name: getattr(campaign, c.name) for c in campaigns.columns if c.name != "audience"}
    row["audience"] = audience_to_json(campaign.audience)
    row["kind"] = str(campaign.kind)
    row["status"] = str(campaign.status)
    return row


def _to_campaign(row: sa.Row[Any]) -> Campaign:
    data = {c.name: getattr(row, c.name) for c in campaigns.columns}
    data["audience"] = audience_from_json(data["audience"])
    data["kind"] = CampaignKind(data["kind"])
    data["status"] = StoredStatus(data["status"])
    return Campaign(**data)


class SqlCampaignRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, campaign: Campaign) -> None:
        await write_or_raise(
            self._conn,
            campaigns.insert().values(_campaign_row(campaign)),
            on_conflict=CampaignIdTaken(campaign.id),
        )

    async def add_message(self, campaign: Campaign, *, template_name: str) -> None:
        params = _campaign_row(campaign)
        del params["template_id"]
        for name in _CONTENT:
            params[f"own_{name}"] = params.pop(name)
        params["template_name"] = template_name
        await self._conn.execute(_ADD_MESSAGE, params)

    async def set_recipient_count(self, campaign_id: str, count: int) -> None:
        await self._conn.execute(_SET_RECIPIENT_COUNT, {"campaign_id": campaign_id, "count": count})

    async def get(self, campaign_id: str) -> Campaign | None:
        query = campaigns.select().where(campaigns.c.id == campaign_id)
        row = (await self._conn.execute(query)).first()
        return _to_campaign(row) if row else None

    async def replace(self, campaign: Campaign) -> None:
        row = _campaign_row(campaign)
        del row["id"], row["created_at"], row["created_by"]
        await self._conn.execute(
            campaigns.update().where(campaigns.c.id == campaign.id).values(row)
        )

    async def delete(self, campaign_id: str) -> bool:
        result = await self._conn.execute(_DELETE, {"campaign_id": campaign_id})
        return result.rowcount > 0

    async def list(
        self,
        *,
        kind: CampaignKind | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
        event_ids: Collection[str] | None = None,
    ) -> KeysetPage[Campaign]:
        keys = sort_columns(_NEWEST_FIRST, _CAMPAIGN_KEYS)
        query = sa.select(campaigns)
        if kind is not None:
            query = query.where(campaigns.c.kind == str(kind))
        if event_ids is not None:
            query = query.where(one_of(campaigns.c.event_id, event_ids))
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        return KeysetPage([_to_campaign(r) for r in rows], next_key)

    async def uses_template_unsent(self, template_id: str) -> bool:
        query = sa.select(
            sa.exists().where(
                campaigns.c.template_id == template_id,
                campaigns.c.status == str(StoredStatus.DRAFT),
            )
        )
        return bool((await self._conn.execute(query)).scalar_one())


def _to_delivery(row: sa.Row[Any]) -> Delivery:
    data = {c.name: getattr(row, c.name) for c in deliveries.columns if c.name != "claim_token"}
    data["status"] = DeliveryStatus(data["status"])
    return Delivery(**data)


def _typed(bound: ColumnElement[Any], type_: sa.types.TypeEngine[Any], postgres: bool) -> Any:
    # PostgreSQL cannot infer a parameter's type in a SELECT list; SQLite must
    # not CAST (it would turn a date-time string into a number).
    return sa.cast(bound, type_) if postgres else bound


_FROZEN_COLUMNS = [
    "campaign_id",
    "user_id",
    "email",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "updated_at",
]


def _freeze_statement(
    *, postgres: bool, honour_opt_out: bool, source: sa.FromClause, where: ColumnElement[bool]
) -> sa.Insert:
    """One delivery per contact of ``source`` matching ``where``; the campaign, when
    it is due and the time are given at execution (``campaign``, ``due``, ``stamp``)."""

    def constant(value: Any, type_: sa.types.TypeEngine[Any]) -> Any:
        return _typed(sa.literal(value, type_=type_), type_, postgres)

    queued = constant(str(DeliveryStatus.QUEUED), sa.String(16))
    skipped = constant(str(DeliveryStatus.SKIPPED), sa.String(16))
    due = _typed(sa.bindparam("due", type_=UTCDateTime()), UTCDateTime(), postgres)
    # Skipped at once: a contact without an email (any kind of message) and, for
    # a campaign, one who opted out.
    no_email = users.c.email == ""
    if honour_opt_out:
        opted_out = sa.or_(no_email, users.c.email_opt_out)
        status: ColumnElement[Any] = sa.case((opted_out, skipped), else_=queued)
        next_attempt: ColumnElement[Any] = sa.case((opted_out, sa.null()), else_=due)
        error: ColumnElement[Any] = sa.case(
            (no_email, constant("no_email", sa.String(1000))),
            (opted_out, constant("unsubscribed", sa.String(1000))),
            else_=sa.null(),
        )
    else:
        status = sa.case((no_email, skipped), else_=queued)
        next_attempt = sa.case((no_email, sa.null()), else_=due)
        error = sa.case((no_email, constant("no_email", sa.String(1000))), else_=sa.null())
    stamp = _typed(sa.bindparam("stamp", type_=UTCDateTime()), UTCDateTime(), postgres)
    select = (
        sa.select(
            _typed(sa.bindparam("campaign", type_=sa.String(64)), sa.String(64), postgres),
            users.c.id,
            users.c.email,
            status,
            constant(0, sa.Integer()),
            next_attempt,
            error,
            stamp,
            stamp,
        )
        .select_from(source)
        .where(where)
    )
    return deliveries.insert().from_select(_FROZEN_COLUMNS, select)


_r = registrations
#: Freezing people named by id (every transactional message about a
#: registration) or an event's registrants, built once per database and kind
#: (``freeze``'s key: PostgreSQL?, honour the opt-out?, registrants?).
_FREEZE = {
    (postgres, honour_opt_out, False): _freeze_statement(
        postgres=postgres,
        honour_opt_out=honour_opt_out,
        source=users,
        where=one_of_param(users.c.id, "user_ids"),
    )
    for postgres in (False, True)
    for honour_opt_out in (False, True)
} | {
    (postgres, honour_opt_out, True): _freeze_statement(
        postgres=postgres,
        honour_opt_out=honour_opt_out,
        source=users.join(_r, _r.c.user_id == users.c.id),
        where=sa.and_(
            _r.c.event_id == sa.bindparam("event_id"),
            _r.c.status.in_(sa.bindparam("statuses", expanding=True)),
            _r.c.role.in_(sa.bindparam("roles", expanding=True)),
        ),
    )
    for postgres in (False, True)
    for honour_opt_out in (False, True)
}


class SqlDeliveryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"

    async def freeze(
        self,
        *,
        campaign_id: str,
        recipients: RecipientSelection,
        honour_opt_out: bool,
        due_at: datetime,
        now: datetime,
    ) -> int:
        params: dict[str, Any] = {"campaign": campaign_id, "due": due_at, "stamp": now}
        if isinstance(recipients, UsersById):
            statement = _FREEZE[self._postgres, honour_opt_out, False]
            params["user_ids"] = list(recipients.user_ids)
        elif isinstance(recipients, EventRegistrants):
            statement = _FREEZE[self._postgres, honour_opt_out, True]
            params["event_id"] = recipients.event_id
            params["statuses"] = list(recipients.statuses)
            params["roles"] = list(recipients.roles)
        else:
            statement = _freeze_statement(
                postgres=self._postgres,
                honour_opt_out=honour_opt_out,
                source=users,
                where=compile_filter(recipients.where, USER_FIELDS),
            )
        result = await self._conn.execute(statement, params)
        return int(result.rowcount)

    async def counts(self, campaign_id: str) -> dict[DeliveryStatus, int]:
        query = (
            sa.select(deliveries.c.status, sa.func.count())
            .where(deliveries.c.campaign_id == campaign_id)
            .group_by(deliveries.c.status)
        )
        found = {DeliveryStatus(s): int(n) for s, n in (await self._conn.execute(query)).all()}
        return {s: found.get(s, 0) for s in DeliveryStatus}

    async def list(
        self,
        *,
        campaign_id: str,
        status: DeliveryStatus | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Delivery]:
        query = deliveries.select().where(deliveries.c.campaign_id == campaign_id)
        if status is not None:
            query = query.where(deliveries.c.status == str(status))
        keys = [(deliveries.c.id, False)]
        rows, next_key = await keyset_rows(self._conn, query, keys, limit=limit, after=after)
        return KeysetPage([_to_delivery(r) for r in rows], next_key)

    async def requeue_failed(self, *, campaign_id: str, now: datetime) -> int:
        result = await self._conn.execute(
            deliveries.update()
            .where(
                deliveries.c.campaign_id == campaign_id,
                deliveries.c.status == str(DeliveryStatus.FAILED),
            )
            .values(
                status=str(DeliveryStatus.QUEUED), attempts=0, next_attempt_at=now, updated_at=now
            )
        )
        return int(result.rowcount)

    async def cancel_queued(self, *, campaign_id: str, now: datetime) -> int:
        abandoned = sa.and_(
            deliveries.c.status == str(DeliveryStatus.SENDING),
            deliveries.c.next_attempt_at <= now,
        )
        result = await self._conn.execute(
            deliveries.update()
            .where(
                deliveries.c.campaign_id == campaign_id,
                sa.or_(deliveries.c.status == str(DeliveryStatus.QUEUED), abandoned),
            )
            .values(
                status=str(DeliveryStatus.CANCELLED),
                next_attempt_at=None,
                claim_token=None,
                updated_at=now,
            )
        )
        return int(result.rowcount)

    async def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        max_attempts: int | None = None,
    ) -> builtins.list[ClaimedDelivery]:
        if max_attempts is not None:
            # A claim that expired after the last allowed attempt (its worker died
            # or stalled each time): give up rather than count attempts forever.
            await self._conn.execute(
                deliveries.update()
                .where(
                    _ACTIVE,
                    deliveries.c.status == str(DeliveryStatus.SENDING),
                    deliveries.c.next_attempt_at <= now,
                    deliveries.c.attempts >= max_attempts,
                )
                .values(
                    status=str(DeliveryStatus.FAILED),
                    last_error=f"gave up after {max_attempts} attempts: "
                    "the worker's lease ran out before an outcome was recorded",
                    next_attempt_at=None,
                    claim_token=None,
                    updated_at=now,
                )
            )
        due = (
            sa.select(deliveries.c.id)
            .where(_ACTIVE, deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = (
            await self._conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(due.scalar_subquery()))
                .values(
                    status=str(DeliveryStatus.SENDING),
                    attempts=deliveries.c.attempts + 1,
                    next_attempt_at=lease_until,
                    claim_token=token,
                    updated_at=now,
                )
                .returning(
                    deliveries.c.id,
                    deliveries.c.campaign_id,
                    deliveries.c.user_id,
                    deliveries.c.email,
                    deliveries.c.attempts,
                )
            )
        ).all()
        user_ids = {r.user_id for r in claimed if r.user_id is not None}
        people = {}
        if user_ids:
            rows = await self._conn.execute(users.select().where(users.c.id.in_(user_ids)))
            people = {row.id: row_to_user(row) for row in rows}
        return [
            ClaimedDelivery(
                id=r.id,
                campaign_id=r.campaign_id,
                email=r.email,
                attempts=r.attempts,
                user=people.get(r.user_id) if r.user_id is not None else None,
            )
            for r in sorted(claimed, key=lambda r: r.id)
        ]

    async def record(
        self, *, token: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> int:
        if not outcomes:
            return 0
        statement = (
            deliveries.update()
            .where(
                deliveries.c.id == sa.bindparam("b_id"),
                deliveries.c.claim_token == token,
                deliveries.c.status == str(DeliveryStatus.SENDING),
            )
            .values(
                status=sa.bindparam("b_status"),
                # A delivery sent after a retry keeps the error that delayed it.
                last_error=sa.func.coalesce(
                    sa.bindparam("b_error", type_=sa.String(1000)), deliveries.c.last_error
                ),
                next_attempt_at=sa.bindparam("b_next", type_=UTCDateTime()),
                provider_message_id=sa.func.coalesce(
                    sa.bindparam("b_provider_id", type_=sa.String(255)),
                    deliveries.c.provider_message_id,
                ),
                sent_at=sa.bindparam("b_sent", type_=UTCDateTime()),
                claim_token=None,
                updated_at=now,
            )
        )
        params = [
            {
                "b_id": o.delivery_id,
                "b_status": str(o.status),
                "b_error": o.last_error[:1000] if o.last_error else None,
                "b_next": o.next_attempt_at,
                "b_provider_id": o.provider_message_id[:255] if o.provider_message_id else None,
                "b_sent": o.sent_at,
            }
            for o in outcomes
        ]
        result = await self._conn.execute(statement, params)
        return int(result.rowcount) if result.rowcount >= 0 else len(params)

    async def count_due(self, now: datetime) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(_ACTIVE, deliveries.c.next_attempt_at <= now)
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def next_due_at(self) -> datetime | None:
        query = sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(_ACTIVE)
        value = (await self._conn.execute(query)).scalar_one()
        return UTCDateTime().process_result_value(value, self._conn.dialect) if value else None
