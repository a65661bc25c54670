"""Errors of the campaigns feature.

CampaignError
├── CampaignNotFound        (NotFound)
├── CampaignIdTaken         (Conflict)
├── CampaignStateConflict   (Conflict)  the action does not fit the campaign's state
└── InvalidAudience         (InvalidInput)
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound


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


class InvalidAudience(CampaignError, InvalidInput):
    code = "invalid_audience"
    title = "Invalid audience"

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message, [FieldProblem(loc, message, "audience")])
