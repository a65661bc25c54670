"""Request and response bodies of the users API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from eventcrm.kit.filter_schema import LIMITS as FILTER_LIMITS
from eventcrm.kit.filter_schema import FilterNode, checked_by
from eventcrm.kit.filters import INT_MAX, MAX_TEXT_LENGTH
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import (
    ApiModel,
    HiddenUnlessAllowed,
    UtcDateTime,
    WriteModel,
    move_whole_name,
)
from eventcrm.users.domain import FILTER_FIELDS, READ_ONLY_FIELDS, criteria_filter


def _blank_to_none(value: str | None) -> str | None:
    return value or None


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OptionalText = Annotated[
    str | None, StringConstraints(max_length=200), AfterValidator(_blank_to_none)
]
ShortText = Annotated[str | None, StringConstraints(max_length=100), AfterValidator(_blank_to_none)]
Email = Annotated[EmailStr, StringConstraints(max_length=320)]
Phone = Annotated[str | None, StringConstraints(max_length=40), AfterValidator(_blank_to_none)]
Avatar = Annotated[HttpUrl | None, Field(description="An http(s) URL of the person's picture.")]


#: Names earlier systems used for contact fields (docs/migrating.md).
USER_FIELD_ALIASES = {"phone": "phone_number"}


class _AcceptsWholeName(WriteModel):
    compound_aliases = {"name": ("first_name", "last_name")}

    @model_validator(mode="before")
    @classmethod
    def _whole_name(cls, data: Any) -> Any:
        return move_whole_name(data)


class _UserFields(_AcceptsWholeName):
    read_only = READ_ONLY_FIELDS
    field_aliases = USER_FIELD_ALIASES

    first_name: Name
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        default="", description="Empty when the person gave one name only."
    )
    email: Email | None = Field(
        default=None, description="Optional; unique (case-insensitively) when present."
    )
    phone_number: Phone = Field(
        default=None,
        description="Any common format; stored in E.164 (e.g. +15125550100).",
    )
    avatar: Avatar = None
    gender: Annotated[
        str | None, StringConstraints(max_length=64), AfterValidator(_blank_to_none)
    ] = None
    job_title: OptionalText = None
    company: OptionalText = None
    city: ShortText = None
    state: ShortText = None
    email_opt_out: bool | None = Field(
        default=None,
        description="No campaign email (transactional mail still goes). "
        "Default false; when omitted on PUT the current value is kept.",
    )


class UserCreate(_UserFields):
    #: The writable fields plus an optional client-chosen id.
    read_only = READ_ONLY_FIELDS - {"id"}
    field_aliases = {**USER_FIELD_ALIASES, "userId": "id", "user_id": "id"}

    id: Annotated[
        str | None,
        Field(pattern=ID_PATTERN, description="Optional; generated (UUIDv7) when absent."),
    ] = None


class UserUpdate(_AcceptsWholeName):
    """PUT and PATCH: only the fields sent change; null clears an optional one."""

    read_only = READ_ONLY_FIELDS
    field_aliases = USER_FIELD_ALIASES

    first_name: Name | None = None
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        None
    )
    email: Email | None = None
    phone_number: Phone = None
    avatar: Avatar = None
    gender: Annotated[
        str | None, StringConstraints(max_length=64), AfterValidator(_blank_to_none)
    ] = None
    job_title: OptionalText = None
    company: OptionalText = None
    city: ShortText = None
    state: ShortText = None
    email_opt_out: bool | None = None

    # Runs only for fields the client sent, so the error names the field.
    @field_validator("first_name", "last_name", "email_opt_out")
    @classmethod
    def _required_fields_are_not_cleared(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value


class UserRead(ApiModel):
    id: str
    first_name: str
    last_name: str
    email: HiddenUnlessAllowed
    phone_number: HiddenUnlessAllowed
    avatar: str | None
    gender: str | None
    job_title: str | None
    company: str | None
    city: str | None
    state: str | None
    events_hosted: int
    events_attended: int
    email_opt_out: bool
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the credential's label); read-only.
    created_by: str | None = None
    updated_by: str | None = None


_Filter = Annotated[
    list[Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]], Field(max_length=100)
]


class UserListParams(WriteModel):
    """Query parameters of ``GET /users`` (snake_case; repeat a field for OR)."""

    company: _Filter = []
    job_title: _Filter = []
    city: _Filter = []
    state: _Filter = []
    q: Annotated[str | None, StringConstraints(max_length=200)] = Field(
        default=None,
        description="Words that must each appear in the first name, last name or email.",
    )
    min_events_hosted: Annotated[int | None, Field(ge=0, le=INT_MAX)] = None
    max_events_hosted: Annotated[int | None, Field(ge=0, le=INT_MAX)] = None
    min_events_attended: Annotated[int | None, Field(ge=0, le=INT_MAX)] = None
    max_events_attended: Annotated[int | None, Field(ge=0, le=INT_MAX)] = None
    created_after: UtcDateTime | None = Field(
        default=None, description="Created at or after (inclusive); UTC when no offset is given."
    )
    created_before: UtcDateTime | None = Field(
        default=None, description="Created strictly before; UTC when no offset is given."
    )
    sort: Annotated[str | None, StringConstraints(max_length=300)] = Field(
        default=None,
        description="Comma-separated fields, '-' for descending, e.g. last_name,-created_at.",
    )
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
    include_total: bool = False

    # A field validator on the upper bound (declared after its lower bound, so
    # the lower one is in ``info.data``) puts the error on a named parameter.
    @field_validator("max_events_hosted", "max_events_attended", "created_before")
    @classmethod
    def _range_is_ordered(cls, high: Any, info: ValidationInfo) -> Any:
        return _ordered(high, info)


def _ordered(high: Any, info: ValidationInfo) -> Any:
    assert info.field_name is not None
    low_name = _RANGE_LOWER_BOUNDS[info.field_name]
    low = info.data.get(low_name)
    if low is not None and high is not None and low > high:
        raise ValueError(f"{low_name} must not be greater than {info.field_name}")
    return high


_RANGE_LOWER_BOUNDS = {
    "max_events_hosted": "min_events_hosted",
    "max_events_attended": "min_events_attended",
    "created_before": "created_after",
}


class UserSearch(WriteModel):
    """Body of ``POST /users/search``."""

    filter: Annotated[FilterNode | None, checked_by(FILTER_FIELDS)] = Field(
        default=None,
        description="A filter tree: {'and': [...]}, {'or': [...]}, {'not': {...}}, "
        f"or {{'field': 'company', 'op': 'in', 'value': ['Acme']}}. {FILTER_LIMITS}",
        examples=[
            {
                "and": [
                    {"field": "city", "op": "eq", "value": "Austin"},
                    {"field": "events_hosted", "op": "gte", "value": 2},
                ]
            }
        ],
    )
    sort: Annotated[
        list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=12)
    ] = []
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
    include_total: bool = False


# --- The earlier systems' filter requests (deprecated aliases, docs/migrating.md) ---

_OneOrMany = Annotated[
    list[Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]],
    BeforeValidator(lambda value: [value] if isinstance(value, str) else value),
    Field(max_length=100, description="One value, or a list: any of them matches."),
]
_Count = Annotated[int | None, Field(ge=0, le=INT_MAX)]
#: In a JSON body a count is a JSON number, as documented: "5" is refused.
_BodyCount = Annotated[int | None, Field(ge=0, le=INT_MAX, strict=True)]


class UserCriteria(WriteModel):
    """Flat criteria, named like ``GET /users``' query parameters, plus ``role``
    (holds that role, registered, in some live event); all must hold."""

    company: _OneOrMany = []
    job_title: _OneOrMany = []
    city: _OneOrMany = []
    state: _OneOrMany = []
    min_events_hosted: _BodyCount = None
    max_events_hosted: _BodyCount = None
    min_events_attended: _BodyCount = None
    max_events_attended: _BodyCount = None
    role: Literal["owner", "host", "attendee"] | None = None

    @field_validator("max_events_hosted", "max_events_attended")
    @classmethod
    def _range_is_ordered(cls, high: Any, info: ValidationInfo) -> Any:
        return _ordered(high, info)

    def tree(self) -> dict[str, Any] | None:
        """The same selection in the filter language (``None``: everyone)."""
        return criteria_filter(self.model_dump(by_alias=False))


class UserFilterRequest(WriteModel):
    """Body of the deprecated ``POST /users/filter``."""

    filter: UserCriteria = Field(default_factory=UserCriteria)
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None

    def search(self) -> UserSearch:
        """The equivalent ``POST /users/search`` body."""
        return UserSearch.model_validate(
            {"filter": self.filter.tree(), "limit": self.limit, "cursor": self.cursor}
        )


class UserFilterByParams(WriteModel):
    """Query parameters of the deprecated ``POST /users/filter_by``."""

    min_events: _Count = Field(
        default=None,
        description="At least this many events hosted (attended, with role=attendee).",
    )
    role: Literal["owner", "host", "attendee"] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None

    def search(self) -> UserSearch:
        """The equivalent ``POST /users/search`` body."""
        counted = "min_events_attended" if self.role == "attendee" else "min_events_hosted"
        criteria = UserCriteria.model_validate({"role": self.role, counted: self.min_events})
        return UserFilterRequest(filter=criteria, limit=self.limit, cursor=self.cursor).search()
