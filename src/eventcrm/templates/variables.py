"""The variables a template sees: ``user``, ``unsubscribeUrl`` and a campaign's context."""

from __future__ import annotations

from typing import Any

from eventcrm.kit.text import to_camel
from eventcrm.users.domain import User

_CONTACT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "avatar",
    "gender",
    "job_title",
    "company",
    "city",
    "state",
    "events_hosted",
    "events_attended",
)


def user_variables(user: User) -> dict[str, Any]:
    """A contact's fields under both spellings (``user.first_name``, ``user.firstName``)."""
    values: dict[str, Any] = {}
    for name in _CONTACT_FIELDS:
        values[name] = values[to_camel(name)] = getattr(user, name)
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
