"""Registrations: a relation item in the event's partition (``REG#<user>``), found
by user through GSI2; a waitlisted one also has a ``WAIT#<seq>`` item there, so
the waitlist is read in order with a key range."""

from __future__ import annotations

from collections.abc import Sequence

from eventcrm.kit.cursor import KeyValue
from eventcrm.registrations.domain import (
    Participant,
    Registration,
    RegistrationStatus,
    Role,
    UserEvent,
)
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item, dt, opt_dt, opt_parse_dt, parse_dt
from eventcrm.storage.dynamodb.events import is_event
from eventcrm.storage.dynamodb.listing import page
from eventcrm.storage.dynamodb.schema import GSI2
from eventcrm.storage.dynamodb.session import KeyCondition, Session
from eventcrm.storage.ports import KeysetPage

_HOSTING = (Role.OWNER.value, Role.HOST.value)


def _item(r: Registration) -> Item:
    return {
        "type": "REG",
        "event_id": r.event_id,
        "user_id": r.user_id,
        "role": r.role.value,
        "status": r.status.value,
        "waitlist_seq": r.waitlist_seq,
        "registered_at": dt(r.registered_at),
        "promoted_at": opt_dt(r.promoted_at),
        "checked_in_at": opt_dt(r.checked_in_at),
        "GSI2PK": f"USER#{r.user_id}",
        "GSI2SK": f"EVENT#{r.event_id}",
    }


def _registration(item: Item, position: int | None = None) -> Registration:
    seq = item.get("waitlist_seq")
    return Registration(
        event_id=item["event_id"],
        user_id=item["user_id"],
        role=Role(item["role"]),
        status=RegistrationStatus(item["status"]),
        waitlist_seq=int(seq) if seq is not None else None,
        registered_at=parse_dt(item["registered_at"]),
        promoted_at=opt_parse_dt(item.get("promoted_at")),
        checked_in_at=opt_parse_dt(item.get("checked_in_at")),
        waitlist_position=position,
    )


def _in_event(event_id: str, prefix: str) -> KeyCondition:
    return KeyCondition("PK", f"EVENT#{event_id}", begins_with=prefix)


class DynamoRegistrationRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def _relations(self, event_id: str) -> list[Item]:
        pk = f"EVENT#{event_id}"
        return await self._s.query(
            _in_event(event_id, "REG#"),
            belongs=lambda i: i["PK"] == pk and i["SK"].startswith("REG#"),
        )

    async def _waitlist(self, event_id: str, up_to: int | None = None) -> list[Item]:
        pk = f"EVENT#{event_id}"
        cond = (
            KeyCondition("PK", pk, between=("WAIT#", keys.waitlist(event_id, up_to)[1]))
            if up_to is not None
            else _in_event(event_id, "WAIT#")
        )
        high = keys.waitlist(event_id, up_to)[1] if up_to is not None else "WAIT$"
        items = await self._s.query(
            cond, belongs=lambda i: i["PK"] == pk and "WAIT#" <= i["SK"] <= high
        )
        return sorted(items, key=lambda i: i["SK"])

    async def _position(self, item: Item) -> int | None:
        seq = item.get("waitlist_seq")
        if seq is None:
            return None
        key = keys.registration(item["event_id"], item["user_id"])
        event = keys.event(item["event_id"])
        if self._s.holds(event) and key in self._s.pending and self._s.pending[key].kind == "put":
            # Joined the waitlist in this unit of work, under the event's lease: the
            # newest entry, last in line (no range read of everyone ahead).
            locked = await self._s.get(event)
            if locked is not None and int(locked.get("waitlist_seq") or 0) == int(seq):
                return int(locked.get("waitlist_count") or 0)
        return len(await self._waitlist(item["event_id"], int(seq)))

    async def _set_host(self, r: Registration, hosting: bool) -> None:
        """Keep the event item's host list (role ``host``) in step."""
        key = keys.event(r.event_id)
        event = await self._s.get(key)
        if event is None:
            return
        hosts = dict(event.get("hosts") or {})
        if hosting:
            hosts.setdefault(r.user_id, dt(r.registered_at))
        else:
            hosts.pop(r.user_id, None)
        if hosts != (event.get("hosts") or {}):
            self._s.update(key, sets={"hosts": hosts})

    async def _write(self, r: Registration, old: Item | None) -> None:
        self._s.put(keys.registration(r.event_id, r.user_id), _item(r))
        old_seq = old.get("waitlist_seq") if old else None
        if old_seq is not None and old_seq != r.waitlist_seq:
            self._s.delete(keys.waitlist(r.event_id, int(old_seq)))
        if r.waitlist_seq is not None and r.waitlist_seq != old_seq:
            self._s.put(
                keys.waitlist(r.event_id, r.waitlist_seq), {"type": "WAIT", "user_id": r.user_id}
            )
        was_host = old is not None and old["role"] == Role.HOST.value
        if was_host != (r.role is Role.HOST):
            await self._set_host(r, r.role is Role.HOST)

    async def add(self, registration: Registration) -> None:
        await self._write(registration, None)

    async def get(self, event_id: str, user_id: str) -> Registration | None:
        item = await self._s.get(keys.registration(event_id, user_id))
        return _registration(item, await self._position(item)) if item else None

    async def update(self, registration: Registration) -> None:
        key = keys.registration(registration.event_id, registration.user_id)
        old = await self._s.get(key)
        if old is not None:
            await self._write(registration, old)

    async def delete(self, event_id: str, user_id: str) -> None:
        key = keys.registration(event_id, user_id)
        old = await self._s.get(key)
        if old is None:
            return
        self._s.delete(key)
        if old.get("waitlist_seq") is not None:
            self._s.delete(keys.waitlist(event_id, int(old["waitlist_seq"])))
        if old["role"] == Role.HOST.value:
            await self._set_host(_registration(old), False)

    async def first_waitlisted(self, event_id: str) -> Registration | None:
        for entry in await self._waitlist(event_id):
            item = await self._s.get(keys.registration(event_id, entry["user_id"]))
            if item is not None and item.get("waitlist_seq") is not None:
                return _registration(item)
        return None

    async def _of_user(self, user_id: str) -> list[Item]:
        pk = f"USER#{user_id}"
        items = await self._s.query(
            KeyCondition("GSI2PK", pk), index=GSI2, belongs=lambda i: i.get("GSI2PK") == pk
        )
        # The index may lag: read each relation item itself.
        found = await self._s.get_many([(i["PK"], i["SK"]) for i in items])
        return list(found.values())

    async def for_user(self, user_id: str) -> list[Registration]:
        items = sorted(await self._of_user(user_id), key=lambda i: i["event_id"])
        return [_registration(i) for i in items]

    async def _live_events(self, event_ids: Sequence[str]) -> dict[str, Item]:
        found = await self._s.get_many([keys.event(e) for e in event_ids])
        return {i["id"]: i for i in found.values() if is_event(i) and not i.get("deleted_at")}

    async def managed_by(self, user_id: str) -> set[str]:
        hosting = [i["event_id"] for i in await self._of_user(user_id) if i["role"] in _HOSTING]
        return set(await self._live_events(hosting))

    async def met_by(self, organizer_id: str, user_ids: Sequence[str]) -> set[str]:
        wanted = set(user_ids)
        met: set[str] = set()
        for event_id in sorted(await self.managed_by(organizer_id)):
            met |= {i["user_id"] for i in await self._relations(event_id)} & wanted
        return met

    async def participants(
        self,
        event_id: str,
        *,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Participant]:
        items = [
            i
            for i in await self._relations(event_id)
            if (status is None or i["status"] == status.value)
            and (role is None or i["role"] == role.value)
        ]
        people = await self._s.get_many([keys.user(i["user_id"]) for i in items])
        items = [i for i in items if keys.user(i["user_id"]) in people]
        chosen = page(
            items,
            lambda i: (parse_dt(i["registered_at"]), i["user_id"]),
            [False, False],
            limit=limit,
            after=after,
        )
        participants = []
        for i in chosen.items:
            person = people[keys.user(i["user_id"])]
            participants.append(
                Participant(
                    registration=_registration(i, await self._position(i)),
                    first_name=person["first_name"],
                    last_name=person["last_name"],
                    email=person.get("email") or "",
                    **{
                        n: person.get(n) or None
                        for n in ("phone_number", "job_title", "company", "city", "state")
                    },
                )
            )
        return KeysetPage(participants, chosen.next_key)

    async def user_events(
        self,
        user_id: str,
        *,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[UserEvent]:
        items = [
            i
            for i in await self._of_user(user_id)
            if (status is None or i["status"] == status.value)
            and (role is None or i["role"] == role.value)
        ]
        events = await self._live_events([i["event_id"] for i in items])
        items = [i for i in items if i["event_id"] in events]
        chosen = page(
            items,
            lambda i: (parse_dt(events[i["event_id"]]["start_at"]), i["event_id"]),
            [False, False],
            limit=limit,
            after=after,
        )
        result = []
        for i in chosen.items:
            event = events[i["event_id"]]
            result.append(
                UserEvent(
                    registration=_registration(i, await self._position(i)),
                    title=event["title"],
                    slug=event["slug"],
                    start_at=parse_dt(event["start_at"]),
                    end_at=parse_dt(event["end_at"]),
                    event_status=event["status"],
                )
            )
        return KeysetPage(result, chosen.next_key)
