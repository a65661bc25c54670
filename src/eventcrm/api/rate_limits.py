"""Request budgets at the boundary: every API route counts against the caller's
``default`` budget; registering and sending email also against tighter ones.

The caller is the authenticated key (``request.state.actor``, left there by
``get_actor``, which every protected router runs before its budget), or the
client address where there is none (health, unsubscribe links). A credential
that does not authenticate spends its client address's budget
(``spend_failed_credential``), so keys cannot be guessed at full speed. A spent budget is
429 ``rate_limited`` with ``Retry-After``; ``RequestLimitsMiddleware``
(api/middleware.py) reports the tightest budget this request touched in
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` on every
response, refusals included.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from eventcrm.api.deps import container_of
from eventcrm.container import Container
from eventcrm.errors import LimitExceeded
from eventcrm.kit.rate_limits import Decision

#: ``scope["state"]`` key the headers middleware reads.
STATE_KEY = "rate_limit"


def client_key(request: Request) -> str:
    # Behind a proxy, run the server with --proxy-headers / --forwarded-allow-ips
    # so the client address is the real one.
    return f"ip:{request.client.host if request.client else 'unknown'}"


def caller_key(request: Request) -> str:
    actor = getattr(request.state, "actor", None)
    if actor is None:
        return client_key(request)
    return f"actor:{actor.id}"  # key:<prefix> or jwt:<issuer>#<subject>


async def _count(
    request: Request, container: Container, budget: str, *, key: str | None = None
) -> None:
    decision = await container.request_budgets.hit(budget, key or caller_key(request))
    if decision is None:  # the counter storage is down: fail open (logged)
        return
    _report(request, decision)
    if not decision.allowed:
        raise LimitExceeded(
            f"Too many requests: the {budget} budget allows {decision.limit} in its window. "
            f"Retry in {decision.reset_after} s.",
            retry_after=decision.reset_after,
        )


def _report(request: Request, decision: Decision) -> None:
    """Keep the tightest decision of this request for the response headers."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    known: Decision | None = state.get(STATE_KEY)
    if known is None or (decision.allowed, decision.remaining) < (known.allowed, known.remaining):
        state[STATE_KEY] = decision


async def limit_caller(request: Request) -> None:
    """The ``default`` budget of an authenticated route, per key."""
    await _count(request, container_of(request), "default")


async def spend_failed_credential(request: Request, container: Container) -> None:
    """A refused credential costs its client address one request of its budget:
    past it, guessing gets 429 instead of 401."""
    await _count(request, container, "default", key=client_key(request))


async def limit_client(request: Request) -> None:
    """The ``default`` budget of a route without credentials, per client address."""
    await _count(request, container_of(request), "default")


async def limit_registrations(request: Request) -> None:
    await _count(request, container_of(request), "registrations")


async def limit_email(request: Request) -> None:
    await _count(request, container_of(request), "email")


CallerBudget = Depends(limit_caller)
ClientBudget = Depends(limit_client)
#: Added to ``POST /events/{id}/registrations``.
RegistrationBudget = Depends(limit_registrations)
#: Added to campaign send, retry-failed and ``POST /emails/send``.
EmailBudget = Depends(limit_email)
