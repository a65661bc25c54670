"""Errors of the segments feature.

SegmentError
├── SegmentNotFound     (NotFound)
├── SegmentIdTaken      (Conflict)
├── SegmentNameTaken    (Conflict)
└── SegmentFilterOutdated (Conflict)  saved before a filter rule it breaks existed
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, NotFound


class SegmentError(DomainError):
    """Base for the segments feature."""


class SegmentNotFound(SegmentError, NotFound):
    code = "segment_not_found"
    title = "Segment not found"

    def __init__(self, segment_id: str) -> None:
        super().__init__(f"No segment with id {segment_id!r}.")


class SegmentIdTaken(SegmentError, Conflict):
    code = "segment_id_taken"
    title = "Segment id already exists"

    def __init__(self, segment_id: str) -> None:
        super().__init__(f"A segment with id {segment_id!r} already exists.")


class SegmentNameTaken(SegmentError, Conflict):
    code = "segment_name_taken"
    title = "Segment name already in use"

    def __init__(self, name: str) -> None:
        super().__init__(f"Another segment is already named {name!r}.")


class SegmentFilterOutdated(SegmentError, Conflict):
    code = "segment_filter_outdated"
    title = "Segment filter no longer valid"

    def __init__(self, segment_id: str, problem: str) -> None:
        super().__init__(
            f"Segment {segment_id!r} was saved with a filter that is no longer accepted "
            f"({problem}); replace its filter with PUT."
        )
