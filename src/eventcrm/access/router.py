"""HTTP handlers of API keys (administrators only: the service refuses others)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.access.keys import PREFIX_PATTERN
from eventcrm.access.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyListParams, ApiKeyRead
from eventcrm.api.auth import ActorDep
from eventcrm.api.paths import location
from eventcrm.api.services import ApiKeyServiceDep
from eventcrm.kit.schemas import Page

# Not an IdempotentRoute: the creation's response holds the key, and a stored
# response would keep it in the database, which must only ever hold its digest.
router = APIRouter(prefix="/api-keys", tags=["api keys"])

KeyPrefix = Annotated[str, Path(pattern=PREFIX_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate,
    actor: ActorDep,
    service: ApiKeyServiceDep,
    request: Request,
    response: Response,
) -> ApiKeyCreated:
    """Create a key. The response holds the whole key (`key`) this once: it is never
    shown again, and only a digest of it is stored."""
    created = await service.create(actor=actor, data=body)
    response.headers["Location"] = location(request, router, created.key.prefix)
    response.headers["Cache-Control"] = "no-store"
    read = ApiKeyRead.model_validate(created.key)
    return ApiKeyCreated(**read.model_dump(), key=created.plaintext)


@router.get("")
async def list_api_keys(
    params: Annotated[ApiKeyListParams, Query()], actor: ActorDep, service: ApiKeyServiceDep
) -> Page[ApiKeyRead]:
    """Keys, oldest first (revoked and expired ones included)."""
    result = await service.list(actor=actor, params=params)
    items = [ApiKeyRead.model_validate(k) for k in result.items]
    return Page[ApiKeyRead](items=items, next_cursor=result.next_cursor)


@router.get("/{prefix}")
async def get_api_key(prefix: KeyPrefix, actor: ActorDep, service: ApiKeyServiceDep) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.get(actor=actor, prefix=prefix))


@router.delete("/{prefix}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(prefix: KeyPrefix, actor: ActorDep, service: ApiKeyServiceDep) -> None:
    """Revoke the key: it stops working at once. The record stays, for the listing."""
    await service.revoke(actor=actor, prefix=prefix)
