"""Use cases of segments: saved filters over contacts."""

from __future__ import annotations

from dataclasses import replace

from eventcrm.access.domain import Actor
from eventcrm.access.policy import CONTACT_FIELDS, ContactPrivacy, masked, require_admin
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.filter_schema import filter_json
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, page_in_order, paginate
from eventcrm.kit.sorting import SortKey, parse_sort
from eventcrm.segments.domain import Segment, segment_filter
from eventcrm.segments.errors import SegmentNotFound
from eventcrm.segments.schemas import SegmentCreate, SegmentReplace, SegmentUsersParams
from eventcrm.storage.ports import UnitOfWork
from eventcrm.users.domain import DEFAULT_SORT, SORT_FIELDS, User

_BY_NAME = (SortKey("name"),)


class SegmentService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        new_id: IdGenerator,
        cursors: CursorCodec,
        actor: Actor,
        privacy: ContactPrivacy,
    ) -> None:
        self._actor = actor
        self._privacy = privacy
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._cursors = cursors

    async def create(self, *, data: SegmentCreate) -> Segment:
        require_admin(self._actor, "create segments")
        now = self._clock.now()
        segment = Segment(
            id=data.id or self._new_id(),
            name=data.name,
            description=data.description or None,
            filter=filter_json(data.filter),
            created_at=now,
            updated_at=now,
            created_by=self._actor.label,
            updated_by=self._actor.label,
        )
        await self._uow.segments.add(segment)
        return segment

    async def get(self, *, segment_id: str) -> Segment:
        segment = await self._uow.segments.get(segment_id)
        if segment is None:
            raise SegmentNotFound(segment_id)
        return segment

    async def list(self, *, limit: int, cursor: str | None) -> ListResult[Segment]:
        repo = self._uow.segments

        return await page_in_order(
            lambda limit, after: repo.list(limit=limit, after=after),
            cursors=self._cursors,
            listing="segments",
            sort=_BY_NAME,
            limit=limit,
            cursor=cursor,
        )

    async def replace(self, *, segment_id: str, data: SegmentReplace) -> Segment:
        require_admin(self._actor, "change segments")
        current = await self.get(segment_id=segment_id)
        updated = replace(
            current,
            name=data.name,
            description=data.description or None,
            filter=filter_json(data.filter),
            updated_at=self._clock.now(),
            updated_by=self._actor.label,
        )
        await self._uow.segments.replace(updated)
        return updated

    async def delete(self, *, segment_id: str) -> None:
        require_admin(self._actor, "delete segments")
        if not await self._uow.segments.delete(segment_id):
            raise SegmentNotFound(segment_id)

    async def users(self, *, segment_id: str, params: SegmentUsersParams) -> ListResult[User]:
        segment = await self.get(segment_id=segment_id)
        repo = self._uow.users
        sortable = SORT_FIELDS if self._privacy.sees_all else SORT_FIELDS - CONTACT_FIELDS
        page = await paginate(
            fetch=repo.list,
            count=repo.count,
            cursors=self._cursors,
            listing=f"segments/{segment_id}/users",
            where=segment_filter(segment),
            sort=parse_sort(params.sort, allowed=sortable, default=DEFAULT_SORT),
            limit=params.limit,
            cursor=params.cursor,
            include_total=params.include_total,
        )
        visible = await self._privacy.visible(self._uow, (u.id for u in page.items))
        return replace(page, items=[u if u.id in visible else masked(u) for u in page.items])

    async def count(self, *, segment_id: str) -> int:
        segment = await self.get(segment_id=segment_id)
        return await self._uow.users.count(where=segment_filter(segment))
