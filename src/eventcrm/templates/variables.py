"""The variables a template sees: ``user``, ``unsubscribeUrl`` and a campaign's context."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from pydantic.alias_generators import to_camel

from eventcrm.events.domain import Event
from eventcrm.users.domain import User

#: The camelCase spelling of a field name (a few regular expressions each time
#: otherwise; the names are a fixed set).
_camel = cache(to_camel)

#: What a template may print about a contact: every field but the bookkeeping.
_CONTACT_FIELDS = tuple(
    f.name for f in fields(User) if f.name not in {"created_at", "updated_at", "email_opt_out"}
)


def user_variables(user: User) -> dict[str, Any]:
    """A contact's fields under both spellings (``user.first_name``, ``user.firstName``)."""
    values: dict[str, Any] = {}
    for name in _CONTACT_FIELDS:
        values[name] = values[_camel(name)] = getattr(user, name)
    values["full_name"] = values["fullName"] = f"{user.first_name} {user.last_name}"
    return values


def message_variables(
    *, user: User, unsubscribe_url: str | None, context: dict[str, Any]
) -> dict[str, Any]:
    return {
        **context,
        "user": user_variables(user),
        "unsubscribeUrl": unsubscribe_url or "",
        "unsubscribe_url": unsubscribe_url or "",
    }


def _local(moment: datetime, timezone: str | None) -> str:
    """A date-time as people at the event read it: ``Saturday 5 December 2026, 18:00 (CST)``."""
    local = moment.astimezone(ZoneInfo(timezone)) if timezone else moment
    zone = local.tzname() or "UTC"
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({zone})"


def event_variables(event: Event) -> dict[str, Any]:
    """An event's public fields, as plain JSON values (kept with a campaign when queued).

    ``startLocal``/``endLocal`` are ready to print in the event's own time zone.
    """
    values: dict[str, Any] = {
        "id": event.id,
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "venue": event.venue,
        "timezone": event.timezone,
        "organizer": event.organizer,
        "status": str(event.status),
        "start_at": event.start_at.isoformat(),
        "end_at": event.end_at.isoformat(),
        "start_local": _local(event.start_at, event.timezone),
        "end_local": _local(event.end_at, event.timezone),
    }
    return values | {_camel(k): v for k, v in values.items()}
