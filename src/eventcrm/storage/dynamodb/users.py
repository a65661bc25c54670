"""Users: one item each, an email guard item per address, sparse indexes by
company, job title and city; listings evaluate the filter in Python over the
most selective index's candidates (docs/dynamodb.md)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from typing import Any

from eventcrm.events.domain import EventStatus
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import RegistrationStatus
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item
from eventcrm.storage.dynamodb.listing import (
    Fields,
    matches,
    page,
    relation_values,
    required,
    sort_key,
)
from eventcrm.storage.dynamodb.schema import GSI1, GSI2, USER_INDEXES
from eventcrm.storage.dynamodb.session import EXISTS, NOT_EXISTS, KeyCondition, Session
from eventcrm.storage.ports import KeysetPage
from eventcrm.users.domain import User
from eventcrm.users.errors import UserEmailTaken, UserIdTaken

_DATETIMES = frozenset({"created_at", "updated_at"})
_NAMES = [f.name for f in fields(User)]
_OPTIONAL_TEXT = frozenset(
    {"email", "phone_number", "avatar", "gender", "job_title", "company", "city", "state"}
)
_OWN = [
    n
    for n in _NAMES
    if n not in ("id", "created_at", "created_by", "events_hosted", "events_attended")
]
_RELATIONS = ("role", "registered_for", "waitlisted_for", "checked_in_for", "not_checked_in_for")


def user_item(user: User) -> Item:
    item = keys.to_item(user, datetimes=_DATETIMES)
    item["type"] = "USER"
    item["GSI1PK"], item["GSI1SK"] = "USER", user.id
    for key, field in USER_INDEXES.values():
        v = getattr(user, field)
        item[key] = v.lower() if v else None
    if user.email:
        item["emailKey"] = user.email.lower()
    return item


def to_user(item: Item) -> User:
    data = keys.from_item(item, _NAMES, datetimes=_DATETIMES)
    data["events_hosted"] = int(data["events_hosted"] or 0)
    data["events_attended"] = int(data["events_attended"] or 0)
    data["email_opt_out"] = bool(data["email_opt_out"])
    for name in _OPTIONAL_TEXT:
        data[name] = data[name] or None
    return User(**data)


def is_user(item: Item) -> bool:
    return item.get("type") == "USER"


class DynamoUserRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, user: User) -> None:
        if await self._s.get(keys.user(user.id)) is not None:
            raise UserIdTaken(user.id)
        if user.email:
            await self._claim_email(user.email, user.id)
        self._s.put(
            keys.user(user.id), user_item(user), conditions=[NOT_EXISTS], error=UserIdTaken(user.id)
        )

    async def _claim_email(self, email: str, user_id: str) -> None:
        guard = keys.email_guard(email)
        if await self._s.get(guard) is not None:
            raise UserEmailTaken(email)
        self._s.put(guard, {"owner": user_id}, conditions=[NOT_EXISTS], error=UserEmailTaken(email))

    async def get(self, user_id: str) -> User | None:
        item = await self._s.get(keys.user(user_id))
        return to_user(item) if item else None

    async def replace(self, user: User) -> None:
        key = keys.user(user.id)
        current = await self._s.get(key)
        if current is None:
            return
        old_email = current.get("email") or None
        if (old_email or "").lower() != (user.email or "").lower():
            if user.email:
                await self._claim_email(user.email, user.id)
            if old_email:
                self._s.delete(keys.email_guard(old_email))
        item = user_item(user)
        sets = {n: item.get(n) for n in _OWN}
        for k in ("emailKey", *(k for k, _ in USER_INDEXES.values())):
            sets[k] = item.get(k)
        self._s.update(key, sets=sets)

    async def delete(self, user_id: str) -> bool:
        key = keys.user(user_id)
        current = await self._s.get(key)
        if current is None:
            return False
        self._s.delete(key)
        if current.get("email"):
            self._s.delete(keys.email_guard(current["email"]))
        # As the SQL foreign keys cascade: the user's API keys go too (registrations
        # were withdrawn by the service before).
        for item in await self._s.query(
            KeyCondition("GSI1PK", "APIKEY"),
            index=GSI1,
            belongs=lambda i: i.get("GSI1PK") == "APIKEY",
        ):
            if item.get("user_id") == user_id:
                self._s.delete((item["PK"], item["SK"]))
        for item in await self._s.query(
            KeyCondition("GSI2PK", f"USER#{user_id}"),
            index=GSI2,
            belongs=lambda i: i.get("GSI2PK") == f"USER#{user_id}",
        ):
            self._s.delete((item["PK"], item["SK"]))
        return True

    async def _candidates(self, where: Node | None) -> list[User]:
        """The users ``where`` may select, read through the most selective index."""
        ids = required(where, "id")
        if ids is not None:
            found = await self._s.get_many([keys.user(i) for i in ids])
            return [to_user(i) for i in found.values()]
        for relation in (
            "registered_for",
            "waitlisted_for",
            "checked_in_for",
            "not_checked_in_for",
        ):
            events = required(where, relation)
            if events is not None:
                user_ids: set[str] = set()
                for event_id in events:
                    user_ids |= {r["user_id"] for r in await self._registrations(event_id)}
                found = await self._s.get_many([keys.user(i) for i in sorted(user_ids)])
                return [to_user(i) for i in found.values()]
        for index, (attr, field) in USER_INDEXES.items():
            values = required(where, field)
            # The index holds users that have a value: '' (none) is not in it.
            if values is not None and all(values):
                items: dict[tuple[str, str], Item] = {}
                for v in dict.fromkeys(x.lower() for x in values):
                    for item in await self._s.db.query(
                        KeyCondition(attr, v, sk_attr="PK"),
                        index=index,
                        ceiling=("users", self._s.db.scan_limit),
                    ):
                        items[(item["PK"], item["SK"])] = item
                merged = await self._s.overlay(items, is_user)
                return [to_user(i) for i in merged]
        merged = await self._s.query(
            KeyCondition("GSI1PK", "USER"), index=GSI1, belongs=is_user, what="users"
        )
        return [to_user(i) for i in merged]

    async def _registrations(self, event_id: str) -> list[Item]:
        return await self._s.query(
            KeyCondition("PK", f"EVENT#{event_id}", begins_with="REG#"),
            belongs=lambda i: i["PK"] == f"EVENT#{event_id}" and i["SK"].startswith("REG#"),
        )

    async def _fields(self, where: Node | None) -> Fields:
        relations: dict[str, Any] = {}
        for name in ("registered_for", "waitlisted_for", "checked_in_for", "not_checked_in_for"):
            event_ids = relation_values(where, name)
            if not event_ids:
                continue
            related: dict[str, set[str]] = {}
            for event_id in event_ids:
                for r in await self._registrations(event_id):
                    if _relation_holds(name, r):
                        related.setdefault(r["user_id"], set()).add(event_id)
            relations[name] = _lookup(related)
        roles = relation_values(where, "role")
        if roles:
            relations["role"] = _lookup(await self._roles())
        return Fields(
            folded=frozenset({"first_name", "last_name", "email", "phone_number", "gender"})
            | frozenset({"job_title", "company", "city", "state"}),
            empty_is_null=_OPTIONAL_TEXT,
            relations=relations,
        )

    async def _roles(self) -> dict[str, set[str]]:
        """user id -> roles held (registered) in a live, not cancelled event."""
        held: dict[str, set[str]] = {}
        events = await self._s.query(
            KeyCondition("GSI1PK", "EVENT"),
            index=GSI1,
            belongs=lambda i: i.get("type") == "EVENT",
            what="events",
        )
        for event in events:
            if event.get("deleted_at") or event.get("status") == EventStatus.CANCELLED.value:
                continue
            for r in await self._registrations(event["id"]):
                if r["status"] == RegistrationStatus.REGISTERED.value:
                    held.setdefault(r["user_id"], set()).add(r["role"])
        return held

    async def _select(self, where: Node | None) -> list[User]:
        candidates = await self._candidates(where)
        fields_ = await self._fields(where)
        return [u for u in candidates if matches(where, u, fields_)]

    async def list(
        self,
        *,
        where: Node | None,
        sort: Sequence[SortKey],
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[User]:
        rows = await self._select(where)
        key, directions = sort_key(sort, await self._fields(None))
        return page(rows, key, directions, limit=limit, after=after)

    async def count(self, *, where: Node | None) -> int:
        return len(await self._select(where))

    async def existing_ids(self, user_ids: Sequence[str]) -> set[str]:
        if not user_ids:
            return set()
        found = await self._s.get_many([keys.user(i) for i in user_ids])
        return {item["id"] for item in found.values()}

    async def get_by_email(self, email: str) -> User | None:
        guard = await self._s.get(keys.email_guard(email))
        if guard is None:
            return None
        return await self.get(guard["owner"])

    async def adjust_counters(
        self, user_ids: Sequence[str], *, hosted: int = 0, attended: int = 0, bulk: bool = False
    ) -> None:
        if not user_ids or (hosted == 0 and attended == 0):
            return
        adds = {k: v for k, v in (("events_hosted", hosted), ("events_attended", attended)) if v}
        # An ADD on a missing item would create one: only existing users count.
        existing = await self._s.get_many([keys.user(i) for i in user_ids])
        for user_id in user_ids:
            if keys.user(user_id) in existing:
                self._s.update(keys.user(user_id), adds=adds, conditions=[EXISTS], bulk=bulk)

    async def adjust_counters_for_event(self, event_id: str, *, sign: int) -> None:
        hosting: list[str] = []
        attending: list[str] = []
        for r in await self._registrations(event_id):
            if r["status"] != RegistrationStatus.REGISTERED.value:
                continue
            (hosting if r["role"] in ("owner", "host") else attending).append(r["user_id"])
        await self.adjust_counters(hosting, hosted=sign, bulk=True)
        await self.adjust_counters(attending, attended=sign, bulk=True)


def _relation_holds(name: str, r: Item) -> bool:
    registered = bool(r["status"] == RegistrationStatus.REGISTERED.value)
    if name == "registered_for":
        return registered
    if name == "waitlisted_for":
        return bool(r["status"] == RegistrationStatus.WAITLISTED.value)
    if name == "checked_in_for":
        return registered and r.get("checked_in_at") is not None
    return registered and r.get("checked_in_at") is None


def _lookup(related: dict[str, set[str]]) -> Any:
    def values(user: User) -> Collection[str]:
        return related.get(user.id, set())

    return values
