"""The administrator key every test client sends (seeded per test: tables are emptied)."""

from __future__ import annotations

from datetime import UTC, datetime

from eventcrm.access.domain import ApiKey, Role
from eventcrm.access.keys import new_key
from eventcrm.storage.ports import Storage

ADMIN = new_key()
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN.plaintext}"}


async def seed_admin_key(storage: Storage) -> None:
    """Store the test administrator key, unless it is there already."""
    async with storage.unit_of_work(write=True) as uow:
        if await uow.api_keys.get(ADMIN.prefix) is not None:
            return
        await uow.api_keys.add(
            ApiKey(
                prefix=ADMIN.prefix,
                name="test administrator",
                role=Role.ADMIN,
                secret_digest=ADMIN.secret_digest,
                created_at=datetime.now(UTC),
            )
        )
        await uow.commit()
