"""Who acts: the principal every service receives, whatever the credential was."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    #: Everything, including keys and transactional templates.
    ADMIN = "admin"
    #: Bound to a contact (``user_id``): manages the events it owns or hosts.
    ORGANIZER = "organizer"
    #: Reads only.
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller.

    ``id`` is stable per credential (``key:<prefix>`` for an API key,
    ``jwt:<issuer>#<subject>`` for a token): idempotency keys and rate limits are
    scoped by it. ``label`` is what change records and log lines name (a key's
    visible prefix, a token's subject).
    """

    id: str
    role: Role
    label: str
    #: The contact an organizer acts for (required for organizers).
    user_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
