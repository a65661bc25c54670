"""Use cases of the contact CRM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from eventcrm.access.domain import Actor
from eventcrm.access.policy import CONTACT_FIELDS, ContactPrivacy, masked, require_admin
from eventcrm.errors import Forbidden
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.filter_schema import filter_node
from eventcrm.kit.filters import And, Condition, Node, Op, Or, all_of
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, paginate
from eventcrm.kit.sorting import parse_sort
from eventcrm.notifications.ports import Notifier
from eventcrm.registrations.seats import withdraw_user_everywhere
from eventcrm.storage.ports import UnitOfWork
from eventcrm.users.domain import (
    DEFAULT_SORT,
    FILTER_FIELDS,
    SORT_FIELDS,
    WRITABLE_FIELDS,
    User,
    new_contact,
    normalize_phone,
)
from eventcrm.users.errors import UserNotFound
from eventcrm.users.schemas import UserCreate, UserListParams, UserSearch, UserUpdate


class UserService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        new_id: IdGenerator,
        cursors: CursorCodec,
        phone_region: str | None,
        notifier: Notifier,
        actor: Actor,
        privacy: ContactPrivacy,
        on_deleted: Callable[[str], None] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._cursors = cursors
        self._phone_region = phone_region
        self._notifier = notifier
        self._actor = actor
        self._privacy = privacy
        #: Told a contact's id once its deletion is committed (its API keys went
        #: with it: this process's authenticator forgets them).
        self._on_deleted = on_deleted

    async def create(self, *, data: UserCreate) -> User:
        require_admin(self._actor, "create contacts")
        now = self._clock.now()
        fields = self._writable(data.model_dump(include=set(WRITABLE_FIELDS), by_alias=False))
        user = new_contact(id=data.id or self._new_id(), now=now, by=self._actor.label, **fields)
        await self._uow.users.add(user)
        return user

    async def get(self, *, user_id: str) -> User:
        return (await self._shown([await self._get(user_id)]))[0]

    async def _get(self, user_id: str) -> User:
        user = await self._uow.users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    async def update(self, *, user_id: str, data: UserUpdate) -> User:
        return await self._write(
            user_id, data.model_dump(include=data.model_fields_set, by_alias=False)
        )

    async def delete(self, *, user_id: str) -> None:
        """Delete a contact; their registrations are cancelled first, so the seats
        they free go to waitlisted people in the same transaction."""
        require_admin(self._actor, "delete contacts")
        await self._get(user_id)
        await withdraw_user_everywhere(
            self._uow,
            user_id=user_id,
            now=self._clock.now(),
            notifier=self._notifier,
        )
        if not await self._uow.users.delete(user_id):
            raise UserNotFound(user_id)
        if self._on_deleted is not None:
            on_deleted = self._on_deleted

            async def deleted() -> None:
                on_deleted(user_id)

            self._uow.after_commit(deleted)

    async def list(self, *, params: UserListParams) -> ListResult[User]:
        return await self._page(
            where=_params_to_filter(params, search_email=self._privacy.sees_all),
            sort=parse_sort(params.sort, allowed=self._sortable, default=DEFAULT_SORT),
            limit=params.limit,
            cursor=params.cursor,
            include_total=params.include_total,
        )

    async def search(self, *, body: UserSearch) -> ListResult[User]:
        return await self._page(
            where=filter_node(body.filter, self._filterable),
            sort=parse_sort(
                body.sort, allowed=self._sortable, default=DEFAULT_SORT, loc=("body", "sort")
            ),
            limit=body.limit,
            cursor=body.cursor,
            include_total=body.include_total,
            cursor_loc=("body", "cursor"),
        )

    @property
    def _sortable(self) -> frozenset[str]:
        # Sorting or filtering by hidden details would reveal them, one comparison at a time.
        return SORT_FIELDS if self._privacy.sees_all else SORT_FIELDS - CONTACT_FIELDS

    @property
    def _filterable(self) -> dict[str, Any]:
        if self._privacy.sees_all:
            return FILTER_FIELDS
        return {k: v for k, v in FILTER_FIELDS.items() if k not in CONTACT_FIELDS}

    async def _page(self, **kwargs: Any) -> ListResult[User]:
        repo = self._uow.users
        page = await paginate(
            fetch=repo.list, count=repo.count, cursors=self._cursors, listing="users", **kwargs
        )
        return replace(page, items=list(await self._shown(page.items)))

    async def _shown(self, users: Sequence[User]) -> Sequence[User]:
        """``users`` as the actor may see them: details hidden where not allowed."""
        visible = await self._privacy.visible(self._uow, (u.id for u in users))
        return [u if u.id in visible else masked(u) for u in users]

    async def _write(self, user_id: str, changes: dict[str, Any]) -> User:
        require_admin(self._actor, "change contacts")
        current = await self._get(user_id)
        if current.email_opt_out and changes.get("email_opt_out") is False:
            # Consent comes back only from the person, through their unsubscribe link.
            raise Forbidden(
                "This contact opted out of email; only they can opt back in, through the "
                "link in an email they received."
            )
        updated = replace(
            current,
            **self._writable(changes),
            updated_at=self._clock.now(),
            updated_by=self._actor.label,
        )
        await self._uow.users.replace(updated)
        return updated

    def _writable(self, fields: dict[str, Any]) -> dict[str, Any]:
        # Consent is never changed by omission: absent (None) keeps the current value.
        if fields.get("email_opt_out", False) is None:
            del fields["email_opt_out"]
        if fields.get("phone_number"):
            fields["phone_number"] = normalize_phone(fields["phone_number"], self._phone_region)
        if fields.get("avatar") is not None:
            fields["avatar"] = str(fields["avatar"])
        return fields


def _params_to_filter(params: UserListParams, *, search_email: bool) -> Node | None:
    """Translate the query-string filters into the filter language (``q`` searches
    the email too when the caller may see it)."""
    nodes: list[Node | None] = []
    searched = ("first_name", "last_name", *(("email",) if search_email else ()))
    for name in ("company", "job_title", "city", "state"):
        values = getattr(params, name)
        if values:
            nodes.append(Condition(name, Op.IN, tuple(values)))
    if params.q:
        nodes.extend(
            Or(tuple(Condition(f, Op.CONTAINS, term) for f in searched))
            for term in params.q.split()
        )
    bounds = (
        ("min_events_hosted", "events_hosted", Op.GTE),
        ("max_events_hosted", "events_hosted", Op.LTE),
        ("min_events_attended", "events_attended", Op.GTE),
        ("max_events_attended", "events_attended", Op.LTE),
        ("created_after", "created_at", Op.GTE),
        ("created_before", "created_at", Op.LT),
    )
    for param, field, op in bounds:
        value = getattr(params, param)
        if value is not None:
            nodes.append(Condition(field, op, value))
    node = all_of(*nodes)
    return node if not isinstance(node, And) or node.items else None
