"""What each role may do: the rules every service applies to its Actor.

Two answers, chosen so a refusal never reveals what the caller may not see:

- ``Forbidden`` (403) for an action the role can never take, whatever the
  resource: a viewer writing, an organizer editing contacts or templates.
- ``NotFound`` (404, the feature's own error) for a resource outside the
  caller's reach: another organizer's event answers as if it did not exist.

Organizers manage the events they own or host. Contact details (email and
phone number) are shown to administrators, to organizers for people registered
to one of their events, and to viewers only when the deployment allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TypeVar

from eventcrm.access.domain import Actor, Role
from eventcrm.errors import Forbidden
from eventcrm.events.domain import Event
from eventcrm.kit.filters import Condition, Node, Op, Or
from eventcrm.registrations.domain import Participant
from eventcrm.storage.ports import UnitOfWork
from eventcrm.users.domain import User

#: Fields that are contact details: hidden from whoever may not see them, and
#: not searchable, sortable or filterable by them either (an oracle otherwise).
CONTACT_FIELDS = frozenset({"email", "phone_number"})


def require_admin(actor: Actor, action: str) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden(f"Only an administrator can {action}.")


def require_writer(actor: Actor, action: str) -> None:
    if actor.role is Role.VIEWER:
        raise Forbidden(f"A viewer cannot {action}; the role is read-only.")


def manages(actor: Actor, event: Event) -> bool:
    """Whether the actor may manage ``event``: administrators any, organizers
    the events they own or host, viewers none (they read)."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.ORGANIZER and actor.user_id is not None:
        return actor.user_id == event.owner_id or actor.user_id in event.host_ids
    return False


def sees_event(actor: Actor, event: Event) -> bool:
    return actor.role is not Role.ORGANIZER or manages(actor, event)


def event_scope(actor: Actor) -> Node | None:
    """The filter limiting an event listing to what the actor sees (None: all)."""
    if actor.role is not Role.ORGANIZER:
        return None
    me = actor.user_id or ""
    return Or((Condition("owner_id", Op.EQ, me), Condition("host_id", Op.EQ, me)))


class ContactPrivacy:
    """Who sees which contacts' email and phone number."""

    def __init__(self, actor: Actor, *, viewers_see_details: bool) -> None:
        self.actor = actor
        self._viewers_see_details = viewers_see_details

    @property
    def sees_all(self) -> bool:
        return self.actor.role is Role.ADMIN or (
            self.actor.role is Role.VIEWER and self._viewers_see_details
        )

    async def visible(self, uow: UnitOfWork, user_ids: Iterable[str]) -> set[str]:
        """The ids among ``user_ids`` whose details the actor may see."""
        ids = list(dict.fromkeys(user_ids))
        if self.sees_all:
            return set(ids)
        if self.actor.role is Role.ORGANIZER and self.actor.user_id is not None and ids:
            return await uow.registrations.met_by(self.actor.user_id, ids)
        return set()


M = TypeVar("M", User, Participant)


def masked(item: M) -> M:
    """``item`` (a contact or participant) without email or phone number. The
    read schemas turn the empty email into ``null``."""
    return replace(item, email="", phone_number=None)
