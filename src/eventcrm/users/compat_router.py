"""The earlier systems' contact requests, kept so their clients work unchanged.

Deprecated aliases: each turns its request into the canonical one and calls the
same service method; docs/migrating.md maps every one to its canonical route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from eventcrm.api.idempotency import IdempotentRoute, no_idempotency_key
from eventcrm.api.services import UserServiceDep
from eventcrm.kit.schemas import Page
from eventcrm.users.router import page_of
from eventcrm.users.schemas import UserFilterByParams, UserFilterRequest, UserRead

router = APIRouter(prefix="/users", tags=["users"], route_class=IdempotentRoute)


@router.post("/filter", deprecated=True)
@no_idempotency_key
async def filter_users(body: UserFilterRequest, service: UserServiceDep) -> Page[UserRead]:
    """Deprecated: use `POST /users/search`. Flat criteria named like `GET /users`'
    query parameters (`company`, `job_title`, `city`, `state`, `min_events_hosted`, …)
    plus `role` (`owner`, `host` or `attendee`), e.g.
    `{"filter": {"role": "host"}, "limit": 10}`."""
    return page_of(await service.search(body=body.search()))


@router.post("/filter_by", deprecated=True)
@no_idempotency_key
async def filter_users_by_event_count(
    params: Annotated[UserFilterByParams, Query()], service: UserServiceDep
) -> Page[UserRead]:
    """Deprecated: use `POST /users/search` with `role` and `events_hosted` (or
    `events_attended`) conditions. `?min_events=2&role=host`: hosts of at least
    two events; with `role=attendee` the count is of events attended."""
    return page_of(await service.search(body=params.search()))
