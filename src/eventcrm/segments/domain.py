"""A segment as the rest of the system sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventcrm.errors import InvalidInput
from eventcrm.kit.filters import Node, parse_filter
from eventcrm.segments.errors import SegmentFilterOutdated
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
    #: Who created it and who last changed it (the acting credential's label).
    created_by: str | None = None
    updated_by: str | None = None


def segment_filter(segment: Segment) -> Node | None:
    """The segment's filter, parsed. Campaigns use it to freeze a segment audience;
    segments to list and count its contacts. It was validated when saved, but by the
    rules of that day: one saved before a rule it breaks is a conflict to fix, not
    bad input."""
    try:
        return parse_filter(segment.filter, fields=FILTER_FIELDS)
    except InvalidInput as exc:
        raise SegmentFilterOutdated(segment.id, exc.errors[0].message) from None
