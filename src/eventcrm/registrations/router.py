"""HTTP handlers of registrations (under an event) and of a user's events."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.api.rate_limits import RegistrationBudget
from eventcrm.api.services import RegistrationDeskDep, RegistrationServiceDep
from eventcrm.kit import metrics
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.pagination import ListResult
from eventcrm.kit.schemas import Page
from eventcrm.registrations.domain import (
    Participant,
    Registration,
    RegistrationStatus,
    Role,
    UserEvent,
)
from eventcrm.registrations.schemas import (
    PageParams,
    ParticipantListParams,
    ParticipantRead,
    RegistrationCreate,
    RegistrationRead,
    UserEventListParams,
    UserEventRead,
)
from eventcrm.registrations.service import RegistrationService

router = APIRouter(
    prefix="/events/{event_id}/registrations", tags=["registrations"], route_class=IdempotentRoute
)
#: The seeds' name for an event's attendee list (docs/migrating.md).
attendees_router = APIRouter(
    prefix="/events/{event_id}", tags=["registrations"], route_class=IdempotentRoute
)
user_router = APIRouter(
    prefix="/users/{user_id}", tags=["registrations"], route_class=IdempotentRoute
)


EventId = Annotated[str, Path(pattern=ID_PATTERN)]
UserId = Annotated[str, Path(pattern=ID_PATTERN)]


def _read(registration: Registration) -> RegistrationRead:
    return RegistrationRead.model_validate(registration)


def _flatten(item: Participant | UserEvent) -> dict[str, Any]:
    fields = asdict(item)
    return {**fields.pop("registration"), **fields}


def _page(result: ListResult[Any], schema: type[Any]) -> Any:
    items = [schema.model_validate(_flatten(item)) for item in result.items]
    return Page[schema](items=items, next_cursor=result.next_cursor)  # type: ignore[valid-type]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[RegistrationBudget],
    response_model=RegistrationRead,
)
async def register(
    event_id: EventId,
    body: RegistrationCreate,
    desk: RegistrationDeskDep,
) -> Response:
    """Register a user: `registered` while seats are free, else `waitlisted` (or 409
    `event_full` when the waitlist is off). Hosts never take a seat. Name the person by
    `userId`, or by `email`: the contact with that email, or a new one."""
    with metrics.registration_attempt() as outcome:
        registration = await desk.register(
            event_id=event_id, user_id=body.person(), role=Role(body.role)
        )
        outcome(registration.status)
    # Serialized here, once: returning the model would have FastAPI validate it
    # against the response model again before serializing (the rush's hot path).
    body_json = _read(registration).model_dump_json(by_alias=True)
    return Response(body_json, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.get("")
async def list_participants(
    event_id: EventId,
    params: Annotated[ParticipantListParams, Query()],
    service: RegistrationServiceDep,
) -> Page[ParticipantRead]:
    """Participants with their contact fields, in the order they joined."""
    result = await service.participants(
        event_id=event_id,
        status=params.status,
        role=params.role,
        limit=params.limit,
        cursor=params.cursor,
    )
    return _page(result, ParticipantRead)  # type: ignore[no-any-return]


@attendees_router.get("/attendees")
async def list_attendees(
    event_id: EventId,
    params: Annotated[PageParams, Query()],
    service: RegistrationServiceDep,
) -> Page[ParticipantRead]:
    """The attendees holding a seat, in the order they joined: the same list as
    `GET /events/{event_id}/registrations?status=registered&role=attendee`."""
    result = await service.participants(
        event_id=event_id,
        status=RegistrationStatus.REGISTERED,
        role=Role.ATTENDEE,
        limit=params.limit,
        cursor=params.cursor,
    )
    return _page(result, ParticipantRead)  # type: ignore[no-any-return]


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel(event_id: EventId, user_id: UserId, service: RegistrationServiceDep) -> None:
    """Cancel; the first waitlisted person takes a freed seat in the same transaction."""
    await service.cancel(event_id=event_id, user_id=user_id)


@router.post("/{user_id}/check-in")
async def check_in(
    event_id: EventId, user_id: UserId, service: RegistrationServiceDep
) -> RegistrationRead:
    """Check a registered person in; repeating it returns the same checkedInAt."""
    return _read(await service.check_in(event_id=event_id, user_id=user_id))


async def _user_events(
    service: RegistrationService,
    user_id: str,
    params: PageParams,
    *,
    status: RegistrationStatus | None,
    role: Role | None = None,
) -> Page[UserEventRead]:
    result = await service.user_events(
        user_id=user_id, status=status, role=role, limit=params.limit, cursor=params.cursor
    )
    return _page(result, UserEventRead)  # type: ignore[no-any-return]


@user_router.get("/events")
async def user_events(
    user_id: UserId,
    params: Annotated[UserEventListParams, Query()],
    service: RegistrationServiceDep,
) -> Page[UserEventRead]:
    """The user's live events with their role and status, by start time."""
    page = PageParams(limit=params.limit, cursor=params.cursor)
    return await _user_events(service, user_id, page, status=None, role=params.role)


@user_router.get("/registrations")
async def user_registrations(
    user_id: UserId, params: Annotated[PageParams, Query()], service: RegistrationServiceDep
) -> Page[UserEventRead]:
    """Events the user holds a seat (or a hosting role) in."""
    return await _user_events(service, user_id, params, status=RegistrationStatus.REGISTERED)


@user_router.get("/waitlists")
async def user_waitlists(
    user_id: UserId, params: Annotated[PageParams, Query()], service: RegistrationServiceDep
) -> Page[UserEventRead]:
    """Events the user is waiting for, with their place in each waitlist."""
    return await _user_events(service, user_id, params, status=RegistrationStatus.WAITLISTED)
