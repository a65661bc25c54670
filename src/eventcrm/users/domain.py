"""The user (CRM contact) as the rest of the system sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import phonenumbers

from eventcrm.errors import FieldProblem, InvalidInput
from eventcrm.kit.filters import FieldSpec, FieldType
from eventcrm.kit.sorting import SortKey


@dataclass(frozen=True, slots=True)
class User:
    id: str
    first_name: str
    last_name: str
    #: None for a contact known by name or phone only.
    email: str | None
    phone_number: str | None
    avatar: str | None
    gender: str | None
    job_title: str | None
    company: str | None
    city: str | None
    state: str | None
    events_hosted: int
    events_attended: int
    created_at: datetime
    updated_at: datetime
    #: The person asked for no campaign (marketing) email; transactional mail still goes.
    email_opt_out: bool = False
    #: Who created it and who last changed it (the acting credential's label).
    created_by: str | None = None
    updated_by: str | None = None


#: Optional fields a new contact leaves empty unless given.
_OPTIONAL_FIELDS = (
    "email", "phone_number", "avatar", "gender", "job_title", "company", "city", "state",
)  # fmt: skip


def new_contact(*, id: str, now: datetime, by: str, **fields: Any) -> User:
    """A contact as first stored: the writable ``fields`` given (optional ones left
    out are empty), no events yet, created and last changed ``now`` by ``by``."""
    given: dict[str, Any] = {**dict.fromkeys(_OPTIONAL_FIELDS), **fields}
    return User(
        id=id,
        **given,
        events_hosted=0,
        events_attended=0,
        created_at=now,
        updated_at=now,
        created_by=by,
        updated_by=by,
    )


READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "events_hosted",
        "events_attended",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
    }
)
#: Fields a client writes; everything else on User is server-maintained.
WRITABLE_FIELDS = tuple(f.name for f in fields(User) if f.name not in READ_ONLY_FIELDS)

_T, _I, _D, _B = FieldType.TEXT, FieldType.INT, FieldType.DATETIME, FieldType.BOOL

#: The filter language's allow-list for users.
FILTER_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("id", FieldType.REF),
        FieldSpec("first_name", _T),
        FieldSpec("last_name", _T),
        FieldSpec("email", _T, nullable=True),
        FieldSpec("phone_number", _T, nullable=True),
        FieldSpec("gender", _T, nullable=True),
        FieldSpec("job_title", _T, nullable=True),
        FieldSpec("company", _T, nullable=True),
        FieldSpec("city", _T, nullable=True),
        FieldSpec("state", _T, nullable=True),
        FieldSpec("events_hosted", _I),
        FieldSpec("events_attended", _I),
        FieldSpec("created_at", _D),
        FieldSpec("updated_at", _D),
        # Relations to events (ids are event ids; roles as below).
        FieldSpec(
            "role",
            FieldType.ENUM,
            choices=frozenset({"owner", "host", "attendee"}),
            description="Holds this role (registered) in some live event.",
        ),
        FieldSpec("registered_for", FieldType.REF, description="Has a seat or hosts event E."),
        FieldSpec("waitlisted_for", FieldType.REF, description="Is on event E's waitlist."),
        FieldSpec("checked_in_for", FieldType.REF, description="Checked in at event E."),
        FieldSpec(
            "not_checked_in_for",
            FieldType.REF,
            description="Registered for event E but not checked in (no-shows).",
        ),
        FieldSpec("email_opt_out", _B),
    )
}

SORT_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "company",
        "job_title",
        "city",
        "state",
        "created_at",
        "updated_at",
        "events_hosted",
        "events_attended",
    }
)
DEFAULT_SORT = (SortKey("created_at"),)

#: The flat criteria of ``GET /users`` (and of the seeds' filter bodies), each with
#: the filter-language field it compares and how: lists match any of their values.
CRITERIA: dict[str, tuple[str, str]] = {
    "company": ("company", "in"),
    "job_title": ("job_title", "in"),
    "city": ("city", "in"),
    "state": ("state", "in"),
    "min_events_hosted": ("events_hosted", "gte"),
    "max_events_hosted": ("events_hosted", "lte"),
    "min_events_attended": ("events_attended", "gte"),
    "max_events_attended": ("events_attended", "lte"),
    "role": ("role", "eq"),
}


def criteria_filter(criteria: Mapping[str, Any]) -> dict[str, Any] | None:
    """Flat criteria (``{"company": ["Acme"], "min_events_hosted": 2}``, names as in
    ``CRITERIA``) as one filter tree: all of them must hold; none selects everyone
    (``None``). Empty lists and ``None`` values are no criterion."""
    conditions = [
        {"field": field, "op": op, "value": criteria[name]}
        for name, (field, op) in CRITERIA.items()
        if criteria.get(name) not in (None, [])
    ]
    return {"and": conditions} if conditions else None


def normalize_phone(raw: str, region: str | None) -> str:
    """Parse a phone number and return it in E.164, or raise InvalidInput."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        hint = "" if region else " Write it with a +country prefix, e.g. +15125550100."
        message = f"{raw!r} is not a valid phone number.{hint}"
        raise InvalidInput(
            message, [FieldProblem(("body", "phoneNumber"), message, "phone_number")]
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
