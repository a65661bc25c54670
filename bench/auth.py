"""An administrator key for a benchmark's requests (every /api/v1 route needs one)."""

from __future__ import annotations

from eventcrm.access.domain import Actor, Role
from eventcrm.access.schemas import ApiKeyCreate
from eventcrm.access.service import ApiKeyService
from eventcrm.kit.clock import SystemClock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.storage.ports import Storage


async def admin_headers(storage: Storage) -> dict[str, str]:
    async with storage.unit_of_work(write=True) as uow:
        service = ApiKeyService(uow=uow, clock=SystemClock(), cursors=CursorCodec("bench" * 4))
        operator = Actor(id="bench", role=Role.ADMIN, label="bench")
        created = await service.create(
            actor=operator, data=ApiKeyCreate(name="bench", role=Role.ADMIN)
        )
        await uow.commit()
    return {"Authorization": f"Bearer {created.plaintext}"}
