"""Errors of the unsubscribe feature.

UnsubscribeError
└── UnknownUnsubscribeLink   (NotFound)  forged, altered, or its contact is gone
"""

from __future__ import annotations

from eventcrm.errors import DomainError, NotFound


class UnsubscribeError(DomainError):
    """Base for the unsubscribe feature."""


class UnknownUnsubscribeLink(UnsubscribeError, NotFound):
    code = "unknown_unsubscribe_link"
    title = "Unknown unsubscribe link"

    def __init__(self) -> None:
        super().__init__("This unsubscribe link is not valid, or its contact no longer exists.")
