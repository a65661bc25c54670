"""Stored idempotent responses (with a TTL attribute) and the in-flight key lease."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from eventcrm.storage.dynamodb.codec import Item, dt, epoch, parse_dt
from eventcrm.storage.dynamodb.schema import GSI1
from eventcrm.storage.dynamodb.session import Cond, Key, KeyCondition, Session
from eventcrm.storage.ports import StoredResponse


def _pk(scope: str, key: str) -> str:
    # Keys are up to 255 printable characters; a digest keeps the partition key short.
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    return f"IDEM#{digest}"


class DynamoIdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def lock(self, *, scope: str, key: str) -> bool:
        taken = await self._s.acquire(
            (_pk(scope, key), "LOCK"), must_exist=False, wait=False, ttl=True
        )
        return taken is not False

    async def get(self, *, scope: str, key: str, now: datetime) -> StoredResponse | None:
        item = await self._s.get((_pk(scope, key), "RESPONSE"))
        if item is None or item["expires_at"] <= dt(now):
            return None
        return StoredResponse(
            request_hash=item["request_hash"],
            status_code=int(item["status_code"]),
            headers=tuple((str(n), str(v)) for n, v in json.loads(item["headers"])),
            body=bytes(item["body"]),
            created_at=parse_dt(item["created_at"]),
            expires_at=parse_dt(item["expires_at"]),
        )

    async def put(self, *, scope: str, key: str, response: StoredResponse) -> None:
        item: Item = {
            "type": "IDEM",
            "GSI1PK": "IDEM",
            "GSI1SK": f"{dt(response.expires_at)}#{_pk(scope, key)}",
            "request_hash": response.request_hash,
            "status_code": response.status_code,
            "headers": json.dumps([list(pair) for pair in response.headers]),
            "body": response.body,
            "created_at": dt(response.created_at),
            "expires_at": dt(response.expires_at),
            # DynamoDB deletes it some time after expiry; `get` never replays it before.
            "ttl": epoch(response.expires_at),
        }
        # Only over nothing, or over an expired response the purge has not removed yet.
        absent_or_expired = Cond(
            "attribute_not_exists({n0}) OR {n1} <= {v0}",
            ("PK", "expires_at"),
            (dt(response.created_at),),
        )
        self._s.put((_pk(scope, key), "RESPONSE"), item, conditions=[absent_or_expired])

    async def purge_expired(self, *, now: datetime, limit: int) -> int:
        expired = await self._s.db.query(
            KeyCondition("GSI1PK", "IDEM", sk_attr="GSI1SK", at_most=f"{dt(now)}#~"),
            index=GSI1,
            limit=limit,
        )
        keys: list[Key] = [(i["PK"], i["SK"]) for i in expired]
        for k in keys:
            # The index may lag behind a response stored anew under the same key.
            self._s.delete(
                k,
                conditions=[
                    Cond(
                        "attribute_not_exists({n0}) OR {n1} <= {v0}",
                        ("PK", "expires_at"),
                        (dt(now),),
                    )
                ],
            )
            self._s.pending[k].bulk = True
        return len(keys)
