"""Who acts: the principal every service receives, whatever the credential was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: everything but the secret, of which only a digest is kept."""

    #: The visible part of the key (``ecrm_<8 characters>``): its identity.
    prefix: str
    name: str
    role: Role
    #: SHA-256 of the secret part, hex.
    secret_digest: str
    created_at: datetime
    user_id: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def actor(self) -> Actor:
        return Actor(
            id=f"key:{self.prefix}", role=self.role, label=self.prefix, user_id=self.user_id
        )
