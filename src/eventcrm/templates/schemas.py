"""Request and response bodies of the email templates API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, WriteModel

MAX_BODY = 512 * 1024  # a template body; rendered mail stays well under provider limits

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Body = Annotated[str | None, StringConstraints(max_length=MAX_BODY)]


class _TemplateFields(WriteModel):
    read_only = frozenset({"id", "created_at", "updated_at", "created_by", "updated_by"})

    name: Name
    subject: Subject = Field(description="Jinja2 template of the subject line.")
    html: Body = Field(default=None, description="Jinja2 template of the HTML part.")
    text: Body = Field(
        default=None, description="Jinja2 template of the text part (derived from html if absent)."
    )

    @model_validator(mode="after")
    def _has_a_body(self) -> Self:
        if not self.html and not self.text:
            raise ValueError("a template needs an html or a text body (or both)")
        return self


class TemplateCreate(_TemplateFields):
    read_only = frozenset({"created_at", "updated_at", "created_by", "updated_by"})

    id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None


class TemplateReplace(_TemplateFields):
    """PUT: every field; a body not sent is cleared."""


class TemplateRead(ApiModel):
    id: str
    name: str
    subject: str
    html: str | None
    text: str | None
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the credential's label); read-only.
    created_by: str | None = None
    updated_by: str | None = None


class TemplatePreviewRequest(WriteModel):
    user_id: Annotated[str, Field(pattern=ID_PATTERN, description="The recipient to render for.")]
    event_id: Annotated[
        str | None, Field(pattern=ID_PATTERN, description="The event, for `event` variables.")
    ] = None


class RenderedMessage(ApiModel):
    subject: str
    html: str
    text: str


class TemplateListParams(WriteModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
