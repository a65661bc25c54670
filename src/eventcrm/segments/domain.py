"""A segment as the rest of the system sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventcrm.kit.filters import Node, parse_filter
from eventcrm.users.domain import FILTER_FIELDS


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    name: str
    description: str | None
    #: A filter tree in the users filter language, as the client wrote it (None: everyone).
    filter: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def segment_filter(segment: Segment) -> Node | None:
    """The segment's filter, parsed (it was validated when saved). Campaigns use it
    to freeze a segment audience; segments to list and count its contacts."""
    return parse_filter(segment.filter, fields=FILTER_FIELDS)
