"""An email template as the rest of the system sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    id: str
    name: str
    subject: str
    #: At least one of ``html`` and ``text`` is set; the other is derived when sending.
    html: str | None
    text: str | None
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the acting credential's label).
    created_by: str | None = None
    updated_by: str | None = None
