"""Who is calling: the request's Actor, as a dependency (``ActorDep``).

Every router under the API prefix is included with ``get_actor`` as a dependency
(``app.py``), except the few public ones it names, so a new route cannot
forget it. ``get_actor`` reads ``Authorization: Bearer <credential>`` (an API
key, or a JWT when an identity provider is configured), answers 401 with
``WWW-Authenticate: Bearer`` when it is missing or does not authenticate, and
leaves the Actor in ``request.state.actor`` for what runs after it (idempotency
scopes, rate limits, log lines). FastAPI resolves it once per request however
many dependencies ask for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from eventcrm.access.domain import Actor
from eventcrm.api.deps import container_of
from eventcrm.api.rate_limits import spend_failed_credential
from eventcrm.errors import Unauthenticated

#: Declares the bearer scheme in OpenAPI (Swagger UI's Authorize button); the
#: refusal itself is ours, as problem+json.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key (`ecrm_...`), or a JWT from the configured identity provider.",
)


async def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    container = container_of(request)
    try:
        if credentials is None or not credentials.credentials:
            raise Unauthenticated()
        actor = await container.authenticator.authenticate(credentials.credentials)
    except Unauthenticated:
        await spend_failed_credential(request, container)
        raise
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
