"""A transaction over a store without interactive transactions.

Reads are strongly consistent (``GetItem``, ``Query`` on the table) and see
this unit of work's own writes. Writes are buffered per item and sent at
``commit`` as ONE ``TransactWriteItems`` (at most 100 items) carrying the
conditions that make them safe: uniqueness guards (``attribute_not_exists``),
lease tokens, existence. Several writes to one item are folded into one
operation, as a transaction may touch an item once.

An event's lock is a lease on its item (``lockToken``, ``lockUntil``): taken
with a conditional update, waited for with jittered retries, released by the
commit transaction itself (which is conditional on still holding it) or
explicitly on rollback; an expired lease is taken over.

A guard that must be refused at once, not at commit (a generated slug, whose
caller tries the next one) is *claimed*: written immediately, pending
(``claimUntil``, a TTL), confirmed by the commit transaction (conditional on
still being this claim) and deleted on rollback; an expired claim is free.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from eventcrm.errors import Busy, QueryNeedsSqlBackend, Unavailable
from eventcrm.storage.dynamodb.codec import Item, deserialize, dt, epoch, serialize, value
from eventcrm.storage.ports import EventChanges

Key = tuple[str, str]
LOCK_TOKEN, LOCK_UNTIL = "lockToken", "lockUntil"
#: DynamoDB's limit on the items of one TransactWriteItems call.
MAX_TRANSACTION_ITEMS = 100
#: How long a lease is held when its holder dies without releasing it.
LEASE_SECONDS = 15.0
CLAIM_UNTIL = "claimUntil"
#: How long a pending claim holds when its unit of work dies without confirming it.
CLAIM_SECONDS = 300.0
_RETRIES = 8


@contextmanager
def unreachable_as_unavailable(table: str) -> Iterator[None]:
    try:
        yield
    except (
        EndpointConnectionError,
        ConnectionClosedError,
        ReadTimeoutError,
        aiohttp.ClientError,
        OSError,
    ) as exc:
        raise Unavailable() from exc
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            raise Unavailable(
                f"The DynamoDB table {table!r} does not exist: run `eventcrm db upgrade`."
            ) from exc
        raise


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True, slots=True)
class Cond:
    """A condition on an item's state before the transaction: ``template`` names
    attributes as ``{n0}``, ``{n1}`` and values as ``{v0}``, ``{v1}``."""

    template: str
    names: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()


NOT_EXISTS = Cond("attribute_not_exists({n0})", ("PK",))
EXISTS = Cond("attribute_exists({n0})", ("PK",))


def equals(attr: str, v: Any) -> Cond:
    return Cond("{n0} = {v0}", (attr,), (v,))


def is_free_claim(item: Item | None, now: datetime) -> bool:
    """No item, or a pending claim whose unit of work died (it ran out)."""
    return item is None or (CLAIM_UNTIL in item and item[CLAIM_UNTIL] < dt(now))


@dataclass
class Op:
    """The buffered write of one item."""

    kind: Literal["put", "update", "delete", "check"]
    item: Item | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    removes: set[str] = field(default_factory=set)
    adds: dict[str, int] = field(default_factory=dict)
    conditions: list[Cond] = field(default_factory=list)
    #: The domain error a failed condition means (None: a clash, answered 503).
    error: Exception | None = None
    #: Part of a bulk change that may be split over several transactions.
    bulk: bool = False
    #: Upper bounds on counters after the write (``registered_count`` <= capacity),
    #: rendered as conditions on the state before it: ``attr <= limit - added``.
    limits: dict[str, int] = field(default_factory=dict)
    #: Writes with the same unit go in one transaction when a change is split.
    unit: str | None = None
    #: This write's share of a counter update on another item (the event's seats
    #: for a registration): when a change is split, each transaction carries the
    #: counters of the writes it holds, so every transaction is consistent alone.
    share: tuple[Key, dict[str, int]] | None = None

    def apply(self, base: Item | None) -> Item | None:
        if self.kind == "put":
            return dict(self.item or {})
        if self.kind == "delete":
            return None
        if base is None:
            return None
        if self.kind == "check":
            return dict(base)
        new = dict(base)
        new.update(self.sets)
        for name in self.removes:
            new.pop(name, None)
        for name, n in self.adds.items():
            new[name] = int(new.get(name) or 0) + n
        return new


def combine(old: Op | None, new: Op) -> Op:
    """One operation doing ``old`` then ``new`` (conditions are on the state before both)."""
    if old is None:
        return new
    conditions = old.conditions + ([] if old.kind in ("put", "delete") else new.conditions)
    error = old.error or new.error
    bulk = old.bulk and new.bulk
    extra: dict[str, Any] = {
        "unit": old.unit or new.unit,
        "share": old.share or new.share,
        "limits": _tightest(old.limits, new.limits),
    }
    if new.kind == "check":
        # A check is on the state before both operations; an item this unit of work
        # puts will exist, so a later existence check on it (a registration of a
        # contact created in the same request) already holds.
        checks = [c for c in new.conditions if not (old.kind == "put" and c == EXISTS)]
        old.conditions += checks
        old.unit, old.share, old.limits = extra["unit"], extra["share"], extra["limits"]
        return old
    if new.kind in ("put", "delete"):
        return Op(new.kind, item=new.item, conditions=conditions, error=error, bulk=bulk, **extra)
    # new is an update
    if old.kind == "put":
        item = new.apply(old.item)
        return Op("put", item=item, conditions=conditions, error=error, bulk=bulk, **extra)
    if old.kind == "delete":
        return old
    merged = Op("update", conditions=conditions, error=error, bulk=bulk, **extra)
    merged.sets = dict(old.sets)
    merged.removes = set(old.removes)
    merged.adds = dict(old.adds)
    for name, v in new.sets.items():
        merged.sets[name] = v
        merged.removes.discard(name)
        merged.adds.pop(name, None)
    for name in new.removes:
        merged.sets.pop(name, None)
        merged.adds.pop(name, None)
        merged.removes.add(name)
    for name, n in new.adds.items():
        if name in merged.sets:
            merged.sets[name] = int(merged.sets[name] or 0) + n
        else:
            merged.adds[name] = merged.adds.get(name, 0) + n
    return merged


def _tightest(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {n: min(v for v in (a.get(n), b.get(n)) if v is not None) for n in a.keys() | b.keys()}


class _Placeholders:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attr: str) -> str:
        for placeholder, known in self.names.items():
            if known == attr:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, v: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value(v)
        return placeholder

    def render(self, cond: Cond) -> str:
        fields = {f"n{i}": self.name(n) for i, n in enumerate(cond.names)}
        fields |= {f"v{i}": self.value(v) for i, v in enumerate(cond.values)}
        return cond.template.format(**fields)

    def expression(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def key_of(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def render(table: str, key: Key, op: Op) -> dict[str, Any]:
    """``op`` as one element of TransactWriteItems."""
    p = _Placeholders()
    request: dict[str, Any] = {"TableName": table}
    if op.kind == "put":
        request["Item"] = serialize(op.item or {})
    else:
        request["Key"] = key_of(*key)
    if op.kind == "update":
        clauses = []
        sets = [f"{p.name(n)} = {p.value(v)}" for n, v in op.sets.items() if v is not None]
        removes = [p.name(n) for n in op.removes]
        removes += [p.name(n) for n, v in op.sets.items() if v is None]
        adds = [f"{p.name(n)} {p.value(v)}" for n, v in op.adds.items()]
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if removes:
            clauses.append("REMOVE " + ", ".join(removes))
        if adds:
            clauses.append("ADD " + ", ".join(adds))
        if not clauses:  # nothing changes: only the conditions are checked
            op = Op("check", conditions=op.conditions or [EXISTS], error=op.error)
        else:
            request["UpdateExpression"] = " ".join(clauses)
    conditions = list(op.conditions)
    if op.kind == "update":
        # The counter stays within its bound: its value before the write, plus what
        # this write adds, is at most the limit.
        conditions += [
            Cond("{n0} <= {v0}", (n,), (limit - op.adds[n],))
            for n, limit in op.limits.items()
            if op.adds.get(n, 0) > 0
        ]
    if conditions:
        request["ConditionExpression"] = " AND ".join(f"({p.render(c)})" for c in conditions)
    elif op.kind == "check":
        request["ConditionExpression"] = p.render(EXISTS)
    p.expression(request)
    kind = {"put": "Put", "update": "Update", "delete": "Delete", "check": "ConditionCheck"}
    return {kind[op.kind]: request}


@dataclass(frozen=True, slots=True)
class KeyCondition:
    """A query's key condition: the partition, and optionally a sort-key range."""

    pk_attr: str
    pk: str
    sk_attr: str = "SK"
    begins_with: str | None = None
    between: tuple[str, str] | None = None
    at_most: str | None = None


class Db:
    """The table and its one shared client (one per process)."""

    def __init__(
        self,
        client_factory: Callable[[], Awaitable[Any]],
        table: str,
        *,
        scan_limit: int,
        lock_wait: float,
    ) -> None:
        self._factory = client_factory
        self.table = table
        self.scan_limit = scan_limit
        self.lock_wait = lock_wait
        #: Leases this process waits for, one waiter at a time per key: the others
        #: queue here instead of polling the table (which would slow the holder down).
        self.local_locks: dict[Key, tuple[asyncio.Lock, int]] = {}
        #: Delivery numbers reserved by this process and not used yet: [next, end).
        self.delivery_numbers = (0, 0)

    @asynccontextmanager
    async def queued(self, key: Key) -> AsyncIterator[None]:
        lock, users = self.local_locks.get(key) or (asyncio.Lock(), 0)
        self.local_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.local_locks[key]
            if users <= 1:
                del self.local_locks[key]
            else:
                self.local_locks[key] = (lock, users - 1)

    async def client(self) -> Any:
        return await self._factory()

    async def call(self, method: str, **kwargs: Any) -> Any:
        client = await self.client()
        with unreachable_as_unavailable(self.table):
            return await getattr(client, method)(**kwargs)

    async def get(self, key: Key) -> Item | None:
        found = await self.call(
            "get_item", TableName=self.table, Key=key_of(*key), ConsistentRead=True
        )
        raw = found.get("Item")
        return deserialize(raw) if raw else None

    async def batch_get(self, keys: Sequence[Key]) -> dict[Key, Item]:
        found: dict[Key, Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            pending: dict[str, Any] = {
                self.table: {
                    "Keys": [key_of(*k) for k in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            attempt = 0
            while pending:
                answer = await self.call("batch_get_item", RequestItems=pending)
                for raw in answer.get("Responses", {}).get(self.table, []):
                    item = deserialize(raw)
                    found[(item["PK"], item["SK"])] = item
                pending = answer.get("UnprocessedKeys") or {}
                if pending:
                    attempt += 1
                    await asyncio.sleep(min(1.0, 0.02 * 2**attempt) * random.random())
        return found

    async def query(
        self,
        cond: KeyCondition,
        *,
        index: str | None = None,
        limit: int | None = None,
        forward: bool = True,
        ceiling: tuple[str, int] | None = None,
    ) -> list[Item]:
        """Every item of a key condition (all pages), or the first ``limit``.
        ``ceiling`` (what, most items) refuses a query reading more than that."""
        p = _Placeholders()
        expression = f"{p.name(cond.pk_attr)} = {p.value(cond.pk)}"
        if cond.begins_with is not None:
            expression += f" AND begins_with({p.name(cond.sk_attr)}, {p.value(cond.begins_with)})"
        if cond.between is not None:
            low, high = cond.between
            expression += f" AND {p.name(cond.sk_attr)} BETWEEN {p.value(low)} AND {p.value(high)}"
        if cond.at_most is not None:
            expression += f" AND {p.name(cond.sk_attr)} <= {p.value(cond.at_most)}"
        request = p.expression(
            {
                "TableName": self.table,
                "KeyConditionExpression": expression,
                "ScanIndexForward": forward,
            }
        )
        if index is None:
            request["ConsistentRead"] = True
        else:
            request["IndexName"] = index
        items: list[Item] = []
        while True:
            if limit is not None:
                request["Limit"] = limit - len(items)
            answer = await self.call("query", **request)
            items.extend(deserialize(raw) for raw in answer.get("Items", []))
            if ceiling is not None and len(items) > ceiling[1]:
                raise QueryNeedsSqlBackend(ceiling[0], ceiling[1])
            last = answer.get("LastEvaluatedKey")
            if not last or (limit is not None and len(items) >= limit):
                return items
            request["ExclusiveStartKey"] = last

    async def transact(self, elements: list[dict[str, Any]], ops: list[Op]) -> None:
        """One TransactWriteItems, retried with jitter on conflicts (same request token,
        so a retry of a transaction that did commit changes nothing)."""
        token = uuid.uuid4().hex
        for attempt in range(_RETRIES):
            try:
                await self.call(
                    "transact_write_items", TransactItems=elements, ClientRequestToken=token
                )
                return
            except ClientError as exc:
                code = error_code(exc)
                if code == "TransactionCanceledException":
                    reasons = _reasons(exc, len(ops))
                    for op, reason in zip(ops, reasons, strict=False):
                        if reason == "ConditionalCheckFailed":
                            raise op.error or Busy(
                                "Another request changed the same data; retry."
                            ) from None
                    if not any(r in _RETRYABLE for r in reasons):
                        raise
                elif code not in _RETRYABLE:
                    raise
            await asyncio.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        raise Busy("The data kept changing under concurrent requests; retry.")


_RETRYABLE = {
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
    "ThrottlingError",
    "ThrottlingException",
    "ProvisionedThroughputExceeded",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
}


def _reasons(exc: ClientError, n: int) -> list[str]:
    given = exc.response.get("CancellationReasons")
    if given:
        return [str(r.get("Code") or "None") for r in given]
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if "[" in message and message.rstrip().endswith("]"):
        inside = message[message.rindex("[") + 1 : message.rstrip().rindex("]")]
        return [part.strip() for part in inside.split(",")]
    return ["None"] * n


class Session:
    """One unit of work's view of the table: reads through its own pending writes."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.pending: dict[Key, Op] = {}
        self._read: dict[Key, Item | None] = {}
        #: Leases held: key -> (token, release by deleting the item).
        self._leases: dict[Key, tuple[str, bool]] = {}
        #: This process's queue places held with them (given up when they are released).
        self._queued: dict[Key, AbstractAsyncContextManager[None]] = {}
        #: Claims written and not confirmed yet: key -> (owner, claimUntil).
        self._claims: dict[Key, tuple[str, str]] = {}

    # --- reads ---------------------------------------------------------------
    async def base(self, key: Key) -> Item | None:
        if key not in self._read:
            self._read[key] = await self.db.get(key)
        found = self._read[key]
        return dict(found) if found is not None else None

    async def get(self, key: Key) -> Item | None:
        op = self.pending.get(key)
        if op is not None and op.kind in ("put", "delete"):
            return op.apply(None)
        found = await self.base(key)
        return op.apply(found) if op is not None else found

    async def get_many(self, keys: Sequence[Key]) -> dict[Key, Item]:
        unknown = [k for k in keys if k not in self._read and k not in self.pending]
        if unknown:
            fetched = await self.db.batch_get(unknown)
            for k in unknown:
                self._read[k] = fetched.get(k)
        found: dict[Key, Item] = {}
        for k in keys:
            item = await self.get(k)
            if item is not None:
                found[k] = item
        return found

    async def query(
        self,
        cond: KeyCondition,
        *,
        belongs: Callable[[Item], bool],
        index: str | None = None,
        what: str | None = None,
    ) -> list[Item]:
        """Every item of a key condition as this unit of work sees it: the stored ones
        with its pending writes applied, and its new items for which ``belongs`` holds.
        ``what`` names the listing when the read ceiling applies to it."""
        ceiling = (what, self.db.scan_limit) if what is not None else None
        stored = await self.db.query(cond, index=index, ceiling=ceiling)
        results: dict[Key, Item] = {(i["PK"], i["SK"]): i for i in stored}
        return await self.overlay(results, belongs)

    async def overlay(
        self, results: dict[Key, Item], belongs: Callable[[Item], bool]
    ) -> list[Item]:
        for key, op in list(self.pending.items()):
            if key in results:
                new = op.apply(results[key])
            elif op.kind == "put":
                new = op.apply(None)
            elif op.kind == "update" and not op.bulk:
                new = op.apply(await self.base(key))
            else:
                continue
            if new is None or not belongs(new):
                results.pop(key, None)
            else:
                results[key] = new
        return list(results.values())

    # --- writes --------------------------------------------------------------
    def stage(self, key: Key, op: Op) -> None:
        self.pending[key] = combine(self.pending.get(key), op)

    def put(
        self,
        key: Key,
        item: Item,
        *,
        conditions: Sequence[Cond] = (),
        error: Exception | None = None,
        bulk: bool = False,
    ) -> None:
        item = {**item, "PK": key[0], "SK": key[1]}
        self.stage(key, Op("put", item=item, conditions=list(conditions), error=error, bulk=bulk))

    def update(
        self,
        key: Key,
        *,
        sets: dict[str, Any] | None = None,
        adds: dict[str, int] | None = None,
        removes: Sequence[str] = (),
        conditions: Sequence[Cond] = (EXISTS,),
        error: Exception | None = None,
        bulk: bool = False,
    ) -> None:
        self.stage(
            key,
            Op(
                "update",
                sets=dict(sets or {}),
                adds=dict(adds or {}),
                removes=set(removes),
                conditions=list(conditions),
                error=error,
                bulk=bulk,
            ),
        )

    def delete(self, key: Key, *, conditions: Sequence[Cond] = ()) -> None:
        self.stage(key, Op("delete", conditions=list(conditions)))

    async def update_now(self, key: Key, *, sets: dict[str, Any], condition: Cond) -> bool:
        """One conditional UpdateItem, applied at once; whether it was written."""
        p = _Placeholders()
        assignments = ", ".join(f"{p.name(n)} = {p.value(v)}" for n, v in sets.items())
        request = {
            "TableName": self.db.table,
            "Key": key_of(*key),
            "UpdateExpression": f"SET {assignments}",
            "ConditionExpression": p.render(condition),
        }
        try:
            await self.db.call("update_item", **p.expression(request))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        self._read.pop(key, None)
        return True

    async def claim(self, key: Key, owner: str, *, error: Exception) -> None:
        """Write the guard ``key`` of ``owner`` at once, pending, unless another holds
        it (then raise ``error``); the commit confirms it, a rollback deletes it."""
        if key in self.pending:  # a guard this unit of work gives up: its own to take back
            self.put(key, {"owner": owner}, conditions=[NOT_EXISTS], error=error)
            return
        now = datetime.now(UTC)
        until = now + timedelta(seconds=CLAIM_SECONDS)
        free = Cond("attribute_not_exists({n0}) OR {n1} < {v0}", ("PK", CLAIM_UNTIL), (dt(now),))
        sets = {"owner": owner, CLAIM_UNTIL: dt(until), "ttl": epoch(until)}
        if not await self.update_now(key, sets=sets, condition=free):
            raise error
        self._claims[key] = (owner, dt(until))
        mine = [equals("owner", owner), equals(CLAIM_UNTIL, dt(until))]
        # A put without the mark makes the guard permanent; it fails (``error``) when
        # the claim ran out and another took it over.
        self.put(key, {"owner": owner}, conditions=mine, error=error)

    async def release_claims(self) -> None:
        """Delete the claims this unit of work did not confirm."""
        claims, self._claims = self._claims, {}
        for key, (owner, until) in claims.items():
            p = _Placeholders()
            mine = (equals("owner", owner), equals(CLAIM_UNTIL, until))
            request = {
                "TableName": self.db.table,
                "Key": key_of(*key),
                "ConditionExpression": " AND ".join(p.render(c) for c in mine),
            }
            # Taken over after expiry, or unreachable: the claim runs out by itself.
            with suppress(ClientError, Unavailable):
                await self.db.call("delete_item", **p.expression(request))

    # --- leases --------------------------------------------------------------
    def holds(self, key: Key) -> bool:
        return key in self._leases

    async def acquire(
        self, key: Key, *, must_exist: bool, wait: bool, ttl: bool = False
    ) -> Item | Literal[False] | None:
        """Take the lease on ``key`` for this unit of work. None: the item does not
        exist (``must_exist``); False: another holds it and ``wait`` is off; raises
        Busy when waiting ran out."""
        if key in self._leases:
            return await self.get(key)
        if not wait:
            return await self._take(key, must_exist=must_exist, wait=False, ttl=ttl)
        place = self.db.queued(key)
        try:
            await asyncio.wait_for(place.__aenter__(), self.db.lock_wait)
        except TimeoutError:
            raise Busy("The event is being changed by other requests; retry.") from None
        try:
            taken = await self._take(key, must_exist=must_exist, wait=True, ttl=ttl)
        except BaseException:
            await place.__aexit__(None, None, None)
            raise
        if key in self._leases:
            self._queued[key] = place
        else:
            await place.__aexit__(None, None, None)
        return taken

    async def _take(
        self, key: Key, *, must_exist: bool, wait: bool, ttl: bool
    ) -> Item | Literal[False] | None:
        token = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.db.lock_wait
        attempt = 0
        while True:
            now = datetime.now(UTC)
            until = now + timedelta(seconds=LEASE_SECONDS)
            p = _Placeholders()
            free = (
                f"(attribute_not_exists({p.name(LOCK_TOKEN)}) "
                f"OR {p.name(LOCK_UNTIL)} < {p.value(dt(now))})"
            )
            condition = f"attribute_exists({p.name('PK')}) AND {free}" if must_exist else free
            sets = (
                f"SET {p.name(LOCK_TOKEN)} = {p.value(token)}, "
                f"{p.name(LOCK_UNTIL)} = {p.value(dt(until))}"
            )
            if ttl:
                sets += f", {p.name('ttl')} = {p.value(epoch(until))}"
            request = p.expression(
                {
                    "TableName": self.db.table,
                    "Key": key_of(*key),
                    "UpdateExpression": sets,
                    "ConditionExpression": condition,
                    "ReturnValues": "ALL_NEW",
                }
            )
            try:
                answer = await self.db.call("update_item", **request)
            except ClientError as exc:
                if error_code(exc) not in ("ConditionalCheckFailedException", *_RETRYABLE):
                    raise
                if must_exist and attempt % 20 == 0 and await self.db.get(key) is None:
                    return None
                if not wait:
                    return False
                attempt += 1
                if loop.time() >= deadline:
                    raise Busy("The event is being changed by other requests; retry.") from None
                await asyncio.sleep(min(0.25, 0.004 * 1.5**attempt) * (0.5 + random.random()))
                continue
            item = deserialize(answer["Attributes"])
            item.pop(LOCK_TOKEN, None)
            item.pop(LOCK_UNTIL, None)
            self._read[key] = item
            self._leases[key] = (token, not must_exist)
            if must_exist:
                self.update(
                    key, removes=(LOCK_TOKEN, LOCK_UNTIL), conditions=(equals(LOCK_TOKEN, token),)
                )
            else:
                self.delete(key, conditions=(equals(LOCK_TOKEN, token),))
            return item

    async def _leave_queues(self) -> None:
        places, self._queued = self._queued, {}
        for place in places.values():
            await place.__aexit__(None, None, None)

    async def release_leases(self) -> None:
        """Give back every lease and claim still held (after a rollback or a failed commit)."""
        leases, self._leases = self._leases, {}
        try:
            await self._release(leases)
            await self.release_claims()
        finally:
            await self._leave_queues()

    async def _release(self, leases: dict[Key, tuple[str, bool]]) -> None:
        for key, (token, delete) in leases.items():
            p = _Placeholders()
            request: dict[str, Any] = {
                "TableName": self.db.table,
                "Key": key_of(*key),
                "ConditionExpression": p.render(equals(LOCK_TOKEN, token)),
            }
            if not delete:
                request["UpdateExpression"] = f"REMOVE {p.name(LOCK_TOKEN)}, {p.name(LOCK_UNTIL)}"
            p.expression(request)
            # Taken over after expiry, or unreachable: the lease runs out by itself.
            with suppress(ClientError, Unavailable):
                await self.db.call("delete_item" if delete else "update_item", **request)

    # --- commit --------------------------------------------------------------
    async def commit(self) -> EventChanges:
        """Write the pending changes; what they changed in event reads."""
        ops = list(self.pending.items())
        self.pending = {}
        self._read = {}
        if not ops:
            return EventChanges(frozenset())
        changes = event_changes(ops)
        # One transaction when it fits (the usual case). Larger changes are split
        # (``split``); a lease is released by the last transaction writing its item.
        for chunk in split(ops):
            await self.db.transact(
                [render(self.db.table, k, o) for k, o in chunk], [o for _, o in chunk]
            )
            released = {k for k, o in chunk if LOCK_TOKEN in o.removes or o.kind == "delete"}
            self._leases = {k: v for k, v in self._leases.items() if k not in released}
        self._leases = {}
        self._claims = {}
        await self._leave_queues()
        return changes

    def discard(self) -> None:
        self.pending = {}
        self._read = {}


_LEASE_ONLY = frozenset({LOCK_TOKEN, LOCK_UNTIL})


def event_changes(ops: Sequence[tuple[Key, Op]]) -> EventChanges:
    """What ``ops`` change in event reads: the events whose partition they write
    (the event item, its registrations and waitlist), or every event for a
    changed or deleted category (its name shows on its events) and a deleted
    person (their registrations and ownerships go)."""
    event_ids: set[str] = set()
    for (pk, sk), op in ops:
        if op.kind == "check":
            continue
        if op.kind == "update" and not op.sets and not op.adds and op.removes <= _LEASE_ONLY:
            continue  # a lease given back changes nothing anyone reads
        if pk.startswith("EVENT#"):
            event_ids.add(pk.removeprefix("EVENT#"))
        elif (sk == "CATEGORY" and not (op.kind == "put" and NOT_EXISTS in op.conditions)) or (
            sk == "USER" and op.kind == "delete"
        ):
            return EventChanges(frozenset(), all_events=True)
    return EventChanges(frozenset(event_ids))


def split(ops: list[tuple[Key, Op]]) -> list[list[tuple[Key, Op]]]:
    """``ops`` as transactions of at most 100 items: one when they fit.

    Otherwise the conditioned writes come first, bulk writes (frozen deliveries,
    counter moves) after. Writes of one ``unit`` (a registration, its waitlist
    entry, its person's counter) stay together, and each transaction carries
    the counter updates its writes ``share`` (the event's seats and waitlist),
    with the same conditions as the whole (the lease still held, the seats
    bound): each transaction is consistent alone and capacity holds after every
    one of them. The counter item's own write (releasing its lease) goes in the
    last transaction that touches it. Only transactions, not the split change,
    are atomic: a failure midway leaves the earlier ones written (docs/dynamodb.md).
    """
    if len(ops) <= MAX_TRANSACTION_ITEMS:
        return [ops]
    by_key = dict(ops)
    counters = {
        o.share[0]
        for _, o in ops
        if o.share is not None and o.share[0] in by_key and by_key[o.share[0]].kind == "update"
    }
    units: dict[object, list[tuple[Key, Op]]] = {}
    for bulk in (False, True):
        for k, o in ops:
            if o.bulk == bulk and k not in counters:
                units.setdefault(o.unit if o.unit is not None else k, []).append((k, o))
    chunks: list[tuple[list[tuple[Key, Op]], set[Key]]] = []
    current: list[tuple[Key, Op]] = []
    touched: set[Key] = set()
    for unit in units.values():
        needs = {o.share[0] for _, o in unit if o.share is not None and o.share[0] in counters}
        size = len(current) + len(touched | needs) + len(unit)
        if current and size > MAX_TRANSACTION_ITEMS:
            chunks.append((current, touched))
            current, touched = [], set()
        current = current + unit
        touched = touched | needs
    if current or not chunks:
        chunks.append((current, touched))
    if counters and not any(counters & t for _, t in chunks):
        chunks[0][1].update(counters)
    last = {k: max(i for i, (_, t) in enumerate(chunks) if k in t) for k in counters}
    result: list[list[tuple[Key, Op]]] = []
    done: dict[Key, dict[str, int]] = {k: {} for k in counters}
    for i, (chunk, touched) in enumerate(chunks):
        extra: list[tuple[Key, Op]] = []
        for k in sorted(touched):
            whole = by_key[k]
            if last[k] == i:  # the rest: what no earlier transaction carried
                op = replace(
                    whole,
                    adds={n: v - done[k].get(n, 0) for n, v in whole.adds.items()},
                    conditions=list(whole.conditions),
                )
            else:
                adds: dict[str, int] = {}
                for _, o in chunk:
                    if o.share is not None and o.share[0] == k:
                        for n, v in o.share[1].items():
                            adds[n] = adds.get(n, 0) + v
                for n, v in adds.items():
                    done[k][n] = done[k].get(n, 0) + v
                op = Op(
                    "update",
                    adds=adds,
                    conditions=list(whole.conditions),
                    error=whole.error,
                    limits=dict(whole.limits),
                )
            extra.append((k, op))
        result.append(extra + chunk)
    return result
