"""HTTP handlers of segments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.api.paths import location
from eventcrm.api.services import SegmentServiceDep
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
from eventcrm.users.schemas import UserRead

router = APIRouter(prefix="/segments", tags=["segments"], route_class=IdempotentRoute)


SegmentId = Annotated[str, Path(pattern=ID_PATTERN, description="The segment's id.")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_segment(
    body: SegmentCreate, service: SegmentServiceDep, request: Request, response: Response
) -> SegmentRead:
    """Save a named filter; an invalid filter is a 422 naming the bad node."""
    segment = await service.create(data=body)
    response.headers["Location"] = location(request, router, segment.id)
    return SegmentRead.model_validate(segment)


@router.get("")
async def list_segments(
    params: Annotated[SegmentListParams, Query()], service: SegmentServiceDep
) -> Page[SegmentRead]:
    result = await service.list(limit=params.limit, cursor=params.cursor)
    return Page[SegmentRead](
        items=[SegmentRead.model_validate(s) for s in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/{segment_id}")
async def get_segment(segment_id: SegmentId, service: SegmentServiceDep) -> SegmentRead:
    return SegmentRead.model_validate(await service.get(segment_id=segment_id))


@router.put("/{segment_id}")
async def replace_segment(
    segment_id: SegmentId, body: SegmentReplace, service: SegmentServiceDep
) -> SegmentRead:
    return SegmentRead.model_validate(await service.replace(segment_id=segment_id, data=body))


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_segment(segment_id: SegmentId, service: SegmentServiceDep) -> None:
    await service.delete(segment_id=segment_id)


@router.get("/{segment_id}/users")
async def segment_users(
    segment_id: SegmentId,
    params: Annotated[SegmentUsersParams, Query()],
    service: SegmentServiceDep,
) -> Page[UserRead]:
    """The contacts the segment selects now, keyset-paginated."""
    result = await service.users(segment_id=segment_id, params=params)
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in result.items],
        next_cursor=result.next_cursor,
        total=result.total,
    )


@router.get("/{segment_id}/count")
async def segment_count(segment_id: SegmentId, service: SegmentServiceDep) -> Count:
    return Count(count=await service.count(segment_id=segment_id))
