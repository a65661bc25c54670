"""The DynamoDB implementation of the Storage port: one aiobotocore client per
storage (per process), created on first use and reused by every unit of work."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import aioboto3

from eventcrm.storage.dynamodb.schema import create_table
from eventcrm.storage.dynamodb.session import Db, unreachable_as_unavailable
from eventcrm.storage.dynamodb.uow import DynamoUnitOfWork
from eventcrm.storage.ports import EventChangeListener
from eventcrm.storage.watchers import EventWatchers


class DynamoStorage:
    def __init__(self, table: str, *, scan_limit: int = 10_000, lock_wait: float = 30.0) -> None:
        self.table = table
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._opening = asyncio.Lock()
        self.db = Db(self._get_client, table, scan_limit=scan_limit, lock_wait=lock_wait)
        self._event_watchers = EventWatchers()

    async def _get_client(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    stack = AsyncExitStack()
                    # Region, credentials and endpoint (AWS_ENDPOINT_URL_DYNAMODB) come
                    # from the standard AWS environment variables and configuration chain.
                    # botocore reads AWS_DEFAULT_REGION; AWS_REGION (the SDKs' and Lambda's
                    # name) is honoured too.
                    region = os.environ.get("AWS_REGION") or None
                    client = await stack.enter_async_context(
                        aioboto3.Session().client("dynamodb", region_name=region)
                    )
                    self._stack, self._client = stack, client
        return self._client

    def unit_of_work(self, *, write: bool) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self.db, write=write, listeners=self._event_watchers.current())

    def watch_events(self, listener: EventChangeListener) -> Callable[[], None]:
        """Each commit reports the events its writes touched (session.event_changes)."""
        return self._event_watchers.add(listener)

    async def ping(self) -> None:
        await self.db.call("describe_table", TableName=self.table)

    async def refresh_statistics(self) -> None:
        """Nothing to do: DynamoDB has no query planner."""

    async def create_table(self) -> bool:
        """Create the table and its indexes unless they exist (waits until ACTIVE)."""
        client = await self._get_client()
        with unreachable_as_unavailable(self.table):
            return await create_table(client, self.table)

    async def drop_table(self) -> None:
        await self.db.call("delete_table", TableName=self.table)
        waiter = (await self._get_client()).get_waiter("table_not_exists")
        await waiter.wait(TableName=self.table)

    async def truncate(self) -> None:
        """Delete every item (for tests): a keys-only scan and batched deletes."""
        request: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": "PK, SK"}
        while True:
            answer = await self.db.call("scan", **request)
            keys = [{"PK": i["PK"], "SK": i["SK"]} for i in answer.get("Items", [])]
            for start in range(0, len(keys), 25):
                pending: dict[str, Any] = {
                    self.table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
                }
                while pending:
                    result = await self.db.call("batch_write_item", RequestItems=pending)
                    pending = result.get("UnprocessedItems") or {}
            if not answer.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()
