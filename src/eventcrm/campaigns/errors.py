"""Errors of the campaigns feature.

CampaignError
├── CampaignNotFound        (NotFound)
├── CampaignIdTaken         (Conflict)
├── CampaignStateConflict   (Conflict)  the action does not fit the campaign's state
├── ConfirmationRequired    (Conflict)  a large send needs ``?confirm=true``
├── PredefinedTemplateMissing (Conflict)  the predefined email's template is gone
├── RecipientLimitReached   (LimitExceeded)  an organizer's daily recipients are spent
└── InvalidAudience         (InvalidInput)
"""

from __future__ import annotations

from eventcrm.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    InvalidInput,
    LimitExceeded,
    NotFound,
)


class CampaignError(DomainError):
    """Base for the campaigns feature."""


class CampaignNotFound(CampaignError, NotFound):
    code = "campaign_not_found"
    title = "Campaign not found"

    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"No campaign with id {campaign_id!r}.")


class CampaignIdTaken(CampaignError, Conflict):
    code = "campaign_id_taken"
    title = "Campaign id already exists"

    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"A campaign with id {campaign_id!r} already exists.")


class CampaignStateConflict(CampaignError, Conflict):
    code = "campaign_state_conflict"
    title = "Not possible in the campaign's current state"


class ConfirmationRequired(CampaignError, Conflict):
    code = "confirmation_required"
    title = "Confirm a large send"

    def __init__(self, *, recipients: int, threshold: int) -> None:
        super().__init__(
            f"This send would email {recipients:,} recipients, more than {threshold:,}: "
            "nothing was sent. Repeat the request with ?confirm=true to send it."
        )
        self.recipients = recipients


class PredefinedTemplateMissing(CampaignError, Conflict):
    code = "predefined_template_missing"
    title = "The predefined email's template does not exist"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"EVENTCRM_PREDEFINED_EMAIL_TEMPLATE names the email template {name!r}, which does "
            "not exist: nothing was sent. Create it, or unset the setting to send the "
            "built-in message."
        )


class RecipientLimitReached(CampaignError, LimitExceeded):
    code = "daily_recipient_limit"
    title = "Daily recipient limit reached"

    def __init__(self, *, recipients: int, per_day: int, retry_after: int) -> None:
        super().__init__(
            f"This send would email {recipients:,} recipients; an organizer may email at most "
            f"{per_day:,} a day and today's quota does not cover it: nothing was sent.",
            retry_after=retry_after,
        )


class InvalidAudience(CampaignError, InvalidInput):
    code = "invalid_audience"
    title = "Invalid audience"

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message, [FieldProblem(loc, message, "audience")])
