"""HTTP handlers of events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.api.conditional import conditional_json
from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.api.paths import location
from eventcrm.api.services import EventServiceDep
from eventcrm.events.domain import Event
from eventcrm.events.schemas import (
    SLUG_PATTERN,
    EventCount,
    EventCreate,
    EventFilterParams,
    EventListParams,
    EventRead,
    EventUpdate,
)
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import Page

router = APIRouter(prefix="/events", tags=["events"], route_class=IdempotentRoute)


EventId = Annotated[str, Path(pattern=ID_PATTERN)]


def _read(event: Event) -> EventRead:
    return EventRead.model_validate(event)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_event(
    body: EventCreate, service: EventServiceDep, request: Request, response: Response
) -> EventRead:
    """Create an event; the slug is generated from the title when not given."""
    event = await service.create(data=body)
    response.headers["Location"] = location(request, router, event.id)
    return _read(event)


#: Reads answer with an ETag and 304 to a matching If-None-Match (api/conditional.py).
_CONDITIONAL: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the If-None-Match tag is still current."}
}


@router.get("", response_model=Page[EventRead], responses=_CONDITIONAL)
async def list_events(
    params: Annotated[EventListParams, Query()], service: EventServiceDep, request: Request
) -> Response:
    """Live events (add include_deleted=true for deleted ones), filtered and keyset-paged."""
    result = await service.list(params=params)
    items = [_read(e) for e in result.items]
    page = Page[EventRead](items=items, next_cursor=result.next_cursor, total=result.total)
    return conditional_json(request, page)


@router.get("/count")
async def count_events(
    params: Annotated[EventFilterParams, Query()], service: EventServiceDep
) -> EventCount:
    """How many events match the same filters as the listing."""
    return EventCount(count=await service.count(params=params))


@router.get("/by-slug/{slug}", response_model=EventRead, responses=_CONDITIONAL)
async def get_event_by_slug(
    slug: Annotated[str, Path(pattern=SLUG_PATTERN, max_length=120)],
    service: EventServiceDep,
    request: Request,
) -> Response:
    return conditional_json(request, _read(await service.get_by_slug(slug=slug)))


@router.get("/{event_id}", response_model=EventRead, responses=_CONDITIONAL)
async def get_event(event_id: EventId, service: EventServiceDep, request: Request) -> Response:
    return conditional_json(request, _read(await service.get(event_id=event_id)))


@router.put("/{event_id}")
async def replace_event(
    event_id: EventId, body: EventUpdate, service: EventServiceDep
) -> EventRead:
    """Change only the fields sent, like PATCH. Raising capacity promotes waitlisted people."""
    return _read(await service.update(event_id=event_id, data=body))


@router.patch("/{event_id}")
async def update_event(event_id: EventId, body: EventUpdate, service: EventServiceDep) -> EventRead:
    """Change only the fields sent. Status changes follow the allowed transitions."""
    return _read(await service.update(event_id=event_id, data=body))


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_event(event_id: EventId, service: EventServiceDep) -> None:
    """Soft delete: hidden from reads and listings, restorable."""
    await service.delete(event_id=event_id)


@router.post("/{event_id}/restore")
async def restore_event(event_id: EventId, service: EventServiceDep) -> EventRead:
    """Bring back a soft-deleted event (409 if its slug was taken meanwhile)."""
    return _read(await service.restore(event_id=event_id))
