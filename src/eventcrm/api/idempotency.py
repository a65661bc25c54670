"""``Idempotency-Key`` for every unsafe POST: retries get the first response again.

A client that sends ``Idempotency-Key: <key>`` with a POST may repeat that
request (after a timeout, a dropped connection) without doing the work twice.
Routers opt in by building their routes with :class:`IdempotentRoute`; every
POST of such a router takes the header, except endpoints marked with
:func:`no_idempotency_key` (a search, a preview: they write nothing).

A request with a key goes through three steps, all inside the request's
unit of work (``api/deps.py``), which commits only after the third (a request
without a key skips the first two: ``_look_up`` returns at once):

1. ``_look_up`` — before the unit of work opens — claims the key, refusing it
   while another request with it is in flight in this process (409
   ``idempotency_key_in_flight``); the claim is released once the request's
   transaction is over. On SQLite this must come first: opening a write
   transaction would wait for the first request's write lock.
2. It then opens the request's unit of work (a request without a key
   leaves that to its endpoint, which may never need it), locks the key for the
   transaction (PostgreSQL: an advisory lock; held by another process → 409),
   then looks for a stored response: one for a different request is 422
   ``idempotency_key_reused``; one for the same request is replayed with
   ``Idempotent-Replayed: true`` and the endpoint does not run.
3. The route's handler stores the endpoint's response. FastAPI builds the
   whole response (serialisation included) inside the route handler, and
   function-scoped dependencies — the unit of work among them — exit only
   after it returns (``fastapi.routing.request_response``), so the response
   is written in the same transaction as the change it reports.

Only 2xx responses are stored: a failed request rolls back, so its retry runs
again. Keys are scoped to the caller and the route (method, path template and
path parameters) and expire after ``EVENTCRM_IDEMPOTENCY_TTL_SECONDS``; the
worker purges expired ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.routing import APIRoute

from eventcrm.access.domain import Actor
from eventcrm.api.auth import ActorDep
from eventcrm.api.deps import TransactionDep, container_of
from eventcrm.errors import Conflict, FieldProblem, InvalidInput
from eventcrm.kit.clock import Clock
from eventcrm.storage.ports import StoredResponse, UnitOfWork

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

#: Recomputed or per-request: never replayed from the stored response.
_NOT_REPLAYED = frozenset({b"content-length", b"date", b"server", b"x-request-id"})
_EXEMPT = "__eventcrm_no_idempotency_key__"
_PENDING = "eventcrm.idempotency"

F = TypeVar("F", bound=Callable[..., Any])


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"

    def __init__(self) -> None:
        message = "This Idempotency-Key was already used for a different request."
        super().__init__(message, [FieldProblem(("header", HEADER), message)])


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    title = "Idempotency key in flight"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; "
            "retry it once that one has finished."
        )


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retrying with the same key (within 24 hours by default) returns the "
        "first successful response, with `Idempotent-Replayed: true`, instead of doing the "
        "work again.",
    ),
]


def caller_of(request: Request) -> str:
    """Who sends the request, as far as keys are concerned: two callers never
    share a key. ``_look_up`` depends on ``get_actor``, so the actor is known."""
    actor: Actor = request.state.actor
    return actor.id


def no_idempotency_key(endpoint: F) -> F:
    """Mark a POST endpoint that writes nothing (a search, a preview): it takes no key."""
    setattr(endpoint, _EXEMPT, True)
    return endpoint


def install(app: FastAPI) -> None:
    """Give the app its registry of keys in flight (one per process)."""
    app.state.idempotency_in_flight = set()


@dataclass(frozen=True, slots=True)
class _Attempt:
    scope: str
    key: str


@dataclass(frozen=True, slots=True)
class _Pending:
    """A first request with a key, whose response is to be stored."""

    attempt: _Attempt
    request_hash: str
    uow: UnitOfWork
    clock: Clock
    ttl: timedelta

    async def record(self, response: Response) -> None:
        body = getattr(response, "body", None)
        if not 200 <= response.status_code < 300 or not isinstance(body, bytes | memoryview):
            return  # a failure is not remembered; a streamed body cannot be replayed
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.raw_headers
            if name.lower() not in _NOT_REPLAYED
        )
        now = self.clock.now()
        stored = StoredResponse(
            request_hash=self.request_hash,
            status_code=response.status_code,
            headers=headers,
            body=bytes(body),
            created_at=now,
            expires_at=now + self.ttl,
        )
        await self.uow.idempotency.put(
            scope=self.attempt.scope, key=self.attempt.key, response=stored
        )


class _Replay(Exception):
    """Raised by ``_look_up`` to skip the endpoint; the route's handler answers."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored

    def response(self) -> Response:
        response = Response(content=self.stored.body, status_code=self.stored.status_code)
        response.raw_headers.extend(
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in self.stored.headers
        )
        response.headers[REPLAYED_HEADER] = "true"
        return response


def _scope(request: Request) -> str:
    route = request.scope["route"]
    assert isinstance(route, APIRoute)
    parts = [
        caller_of(request),
        request.method,
        route.path_format,
        sorted(request.path_params.items()),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


async def _fingerprint(request: Request) -> str:
    """The query and the body; a JSON body is compared by value, not by spelling."""
    body = await request.body()
    # Not JSON (or empty): compared byte for byte.
    with contextlib.suppress(ValueError, RecursionError):
        body = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    digest = hashlib.sha256(request.url.query.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


async def _look_up(
    request: Request,
    # The caller is known (keys are scoped by it) before the key is looked at.
    _actor: ActorDep,
    transaction: TransactionDep,
    key: IdempotencyKey = None,
) -> None:
    if key is None:
        return  # the unit of work opens when the endpoint asks for it, if it does
    attempt = _Attempt(scope=_scope(request), key=key)
    in_flight: set[_Attempt] = request.app.state.idempotency_in_flight
    if attempt in in_flight:
        raise IdempotencyKeyInFlight()
    # Claimed before the unit of work opens, released after it has committed.
    in_flight.add(attempt)
    transaction.on_close(lambda: in_flight.discard(attempt))
    uow = await transaction.open()
    if not await uow.idempotency.lock(scope=attempt.scope, key=attempt.key):
        raise IdempotencyKeyInFlight()
    request_hash = await _fingerprint(request)
    container = container_of(request)
    clock = container.clock
    stored = await uow.idempotency.get(scope=attempt.scope, key=attempt.key, now=clock.now())
    if stored is not None:
        if stored.request_hash != request_hash:
            raise IdempotencyKeyReused()
        raise _Replay(stored)
    ttl = timedelta(seconds=container.settings.idempotency_ttl_seconds)
    request.scope[_PENDING] = _Pending(attempt, request_hash, uow, clock, ttl)


class IdempotentRoute(APIRoute):
    """A route whose POST takes an ``Idempotency-Key`` (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ()}
        # Set before APIRoute.__init__, which builds the handler.
        self.idempotent = "POST" in methods and not getattr(endpoint, _EXEMPT, False)
        if self.idempotent:
            guard = Depends(_look_up)
            kwargs["dependencies"] = [guard, *(kwargs.get("dependencies") or ())]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.idempotent:
            return handler

        async def idempotent_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except _Replay as replay:
                return replay.response()
            pending = request.scope.get(_PENDING)
            if isinstance(pending, _Pending):
                # The unit of work is still open: it commits after this returns.
                await pending.record(response)
            return response

        return idempotent_handler
