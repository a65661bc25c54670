"""Item keys and the conversions between domain values and items."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from eventcrm.storage.dynamodb.codec import Item, opt_dt, opt_parse_dt
from eventcrm.storage.dynamodb.session import Key


def user(user_id: str) -> Key:
    return (f"USER#{user_id}", "USER")


def event(event_id: str) -> Key:
    return (f"EVENT#{event_id}", "EVENT")


def registration(event_id: str, user_id: str) -> Key:
    return (f"EVENT#{event_id}", f"REG#{user_id}")


def waitlist(event_id: str, seq: int) -> Key:
    return (f"EVENT#{event_id}", f"WAIT#{seq:012d}")


def email_guard(email: str) -> Key:
    return (f"EMAIL#{email.lower()}", "GUARD")


def slug_guard(slug: str) -> Key:
    return (f"SLUG#{slug}", "GUARD")


def name_guard(kind: str, name: str) -> Key:
    return (f"NAME#{kind}#{name}", "GUARD")


def named(kind: str, item_id: str) -> Key:
    return (f"{kind}#{item_id}", kind)


def api_key(prefix: str) -> Key:
    return (f"APIKEY#{prefix}", "APIKEY")


def campaign(campaign_id: str) -> Key:
    return (f"CAMPAIGN#{campaign_id}", "CAMPAIGN")


def delivery(delivery_id: int) -> Key:
    return (f"DELIVERY#{delivery_id:020d}", "DELIVERY")


def sequence(name: str) -> Key:
    return (f"SEQ#{name}", "SEQ")


def to_item(value: Any, *, datetimes: frozenset[str]) -> Item:
    """A dataclass's fields as attributes (date-times as strings, enums as their value)."""
    item: Item = {}
    for f in fields(value):
        v = getattr(value, f.name)
        if f.name in datetimes:
            v = opt_dt(v)
        elif isinstance(v, str):
            v = str(v)
        item[f.name] = v
    return item


def from_item(item: Item, names: list[str], *, datetimes: frozenset[str]) -> dict[str, Any]:
    return {n: opt_parse_dt(item.get(n)) if n in datetimes else item.get(n) for n in names}
