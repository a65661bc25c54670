"""HTTP handlers of segments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from eventcrm.api.deps import ContainerDep, UnitOfWorkDep
from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import Page
from eventcrm.segments.schemas import (
    Count,
    SegmentCreate,
    SegmentListParams,
    SegmentRead,
    SegmentReplace,
    SegmentUsersParams,
)
from eventcrm.segments.service import SegmentService
from eventcrm.users.schemas import UserRead

router = APIRouter(prefix="/segments", tags=["segments"], route_class=IdempotentRoute)


async def get_segment_service(uow: UnitOfWorkDep, container: ContainerDep) -> SegmentService:
    return SegmentService(
        uow=uow, clock=container.clock, new_id=container.new_id, cursors=container.cursors
    )


ServiceDep = Annotated[SegmentService, Depends(get_segment_service)]
SegmentId = Annotated[str, Path(pattern=ID_PATTERN, description="The segment's id.")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_segment(
    body: SegmentCreate, service: ServiceDep, response: Response
) -> SegmentRead:
    """Save a named filter; an invalid filter is a 422 naming the bad node."""
    segment = await service.create(data=body)
    response.headers["Location"] = f"/api/v1/segments/{segment.id}"
    return SegmentRead.model_validate(segment)


@router.get("")
async def list_segments(
    params: Annotated[SegmentListParams, Query()], service: ServiceDep
) -> Page[SegmentRead]:
    result = await service.list(limit=params.limit, cursor=params.cursor)
    return Page[SegmentRead](
        items=[SegmentRead.model_validate(s) for s in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/{segment_id}")
async def get_segment(segment_id: SegmentId, service: ServiceDep) -> SegmentRead:
    return SegmentRead.model_validate(await service.get(segment_id=segment_id))


@router.put("/{segment_id}")
async def replace_segment(
    segment_id: SegmentId, body: SegmentReplace, service: ServiceDep
) -> SegmentRead:
    return SegmentRead.model_validate(await service.replace(segment_id=segment_id, data=body))


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_segment(segment_id: SegmentId, service: ServiceDep) -> None:
    await service.delete(segment_id=segment_id)


@router.get("/{segment_id}/users")
async def segment_users(
    segment_id: SegmentId,
    params: Annotated[SegmentUsersParams, Query()],
    service: ServiceDep,
) -> Page[UserRead]:
    """The contacts the segment selects now, keyset-paginated."""
    result = await service.users(segment_id=segment_id, params=params)
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in result.items],
        next_cursor=result.next_cursor,
        total=result.total,
    )


@router.get("/{segment_id}/count")
async def segment_count(segment_id: SegmentId, service: ServiceDep) -> Count:
    return Count(count=await service.count(segment_id=segment_id))
