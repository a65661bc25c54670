"""API keys: one item each, keyed by the visible prefix (which makes the prefix unique)."""

from __future__ import annotations

from datetime import datetime

from eventcrm.access.domain import ApiKey, Role
from eventcrm.access.errors import ApiKeyPrefixTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item, dt, opt_dt, opt_parse_dt, parse_dt
from eventcrm.storage.dynamodb.listing import page
from eventcrm.storage.dynamodb.schema import GSI1
from eventcrm.storage.dynamodb.session import NOT_EXISTS, Cond, KeyCondition, Session
from eventcrm.storage.ports import KeysetPage


def _item(key: ApiKey) -> Item:
    return {
        "type": "APIKEY",
        "GSI1PK": "APIKEY",
        "GSI1SK": f"{dt(key.created_at)}#{key.prefix}",
        "prefix": key.prefix,
        "name": key.name,
        "role": key.role.value,
        "secret_digest": key.secret_digest,
        "user_id": key.user_id,
        "created_at": dt(key.created_at),
        "expires_at": opt_dt(key.expires_at),
        "revoked_at": opt_dt(key.revoked_at),
        "last_used_at": opt_dt(key.last_used_at),
    }


def _key(item: Item) -> ApiKey:
    return ApiKey(
        prefix=item["prefix"],
        name=item["name"],
        role=Role(item["role"]),
        secret_digest=item["secret_digest"],
        user_id=item.get("user_id"),
        created_at=parse_dt(item["created_at"]),
        expires_at=opt_parse_dt(item.get("expires_at")),
        revoked_at=opt_parse_dt(item.get("revoked_at")),
        last_used_at=opt_parse_dt(item.get("last_used_at")),
    )


class DynamoApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, key: ApiKey) -> None:
        if await self._s.get(keys.api_key(key.prefix)) is not None:
            raise ApiKeyPrefixTaken(key.prefix)
        self._s.put(
            keys.api_key(key.prefix),
            _item(key),
            conditions=[NOT_EXISTS],
            error=ApiKeyPrefixTaken(key.prefix),
        )

    async def get(self, prefix: str) -> ApiKey | None:
        item = await self._s.get(keys.api_key(prefix))
        return _key(item) if item else None

    async def _all(self) -> list[Item]:
        return await self._s.query(
            KeyCondition("GSI1PK", "APIKEY"),
            index=GSI1,
            belongs=lambda i: i.get("type") == "APIKEY",
            what="API keys",
        )

    async def list(
        self, *, limit: int, after: tuple[KeyValue, ...] | None = None
    ) -> KeysetPage[ApiKey]:
        values = [_key(i) for i in await self._all()]
        return page(
            values, lambda k: (k.created_at, k.prefix), [False, False], limit=limit, after=after
        )

    async def revoke(self, prefix: str, *, at: datetime) -> bool:
        item = await self._s.get(keys.api_key(prefix))
        if item is None:
            return False
        if item.get("revoked_at") is None:
            self._s.update(keys.api_key(prefix), sets={"revoked_at": dt(at)})
        return True

    async def touch(self, prefix: str, *, at: datetime, unless_since: datetime) -> bool:
        # One conditional UpdateItem at once, outside the transaction, as the SQL
        # adapter's one conditional UPDATE: a lost race only means someone else wrote it.
        condition = Cond(
            "attribute_exists({n0}) AND (attribute_not_exists({n1}) OR {n1} < {v0})",
            ("PK", "last_used_at"),
            (dt(unless_since),),
        )
        return await self._s.update_now(
            keys.api_key(prefix), sets={"last_used_at": dt(at)}, condition=condition
        )

    async def any(self) -> bool:
        return bool(
            await self._s.db.query(KeyCondition("GSI1PK", "APIKEY"), index=GSI1, limit=1)
        ) or any(k[0].startswith("APIKEY#") for k in self._s.pending)
