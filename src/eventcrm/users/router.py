"""HTTP handlers of the contact CRM: parse, call one service method, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.api.idempotency import IdempotentRoute, no_idempotency_key
from eventcrm.api.paths import location
from eventcrm.api.services import UserServiceDep
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.pagination import ListResult
from eventcrm.kit.schemas import Page
from eventcrm.users.domain import User
from eventcrm.users.schemas import (
    UserCreate,
    UserListParams,
    UserRead,
    UserSearch,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"], route_class=IdempotentRoute)


UserId = Annotated[str, Path(pattern=ID_PATTERN, description="The user's id.")]


def page_of(result: ListResult[User]) -> Page[UserRead]:
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in result.items],
        next_cursor=result.next_cursor,
        total=result.total,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model_exclude_none=False)
async def create_user(
    body: UserCreate, service: UserServiceDep, request: Request, response: Response
) -> UserRead:
    """Create a contact. 409 if the id or (case-insensitively) the email is taken."""
    user = await service.create(data=body)
    response.headers["Location"] = location(request, router, user.id)
    return UserRead.model_validate(user)


@router.get("")
async def list_users(
    params: Annotated[UserListParams, Query()], service: UserServiceDep
) -> Page[UserRead]:
    """List contacts with combinable filters, a sort, and keyset pagination."""
    return page_of(await service.list(params=params))


@router.post("/search")
@no_idempotency_key
async def search_users(body: UserSearch, service: UserServiceDep) -> Page[UserRead]:
    """List contacts selected by a filter expression (and/or/not over field conditions)."""
    return page_of(await service.search(body=body))


@router.get("/{user_id}")
async def get_user(user_id: UserId, service: UserServiceDep) -> UserRead:
    return UserRead.model_validate(await service.get(user_id=user_id))


@router.put("/{user_id}")
async def replace_user(user_id: UserId, body: UserUpdate, service: UserServiceDep) -> UserRead:
    """Change only the fields sent, like PATCH; send null to clear an optional field."""
    return UserRead.model_validate(await service.update(user_id=user_id, data=body))


@router.patch("/{user_id}")
async def update_user(user_id: UserId, body: UserUpdate, service: UserServiceDep) -> UserRead:
    """Change only the fields sent; send null to clear an optional field."""
    return UserRead.model_validate(await service.update(user_id=user_id, data=body))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: UserId, service: UserServiceDep) -> None:
    await service.delete(user_id=user_id)
