"""Who is calling: the request's Actor, as a dependency (``ActorDep``).

Credentials are not checked yet: every caller acts as an administrator. The
credential check (API keys, JWTs) replaces ``get_actor``; everything that
needs the caller depends on ``ActorDep`` and stays as it is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from eventcrm.access.domain import Actor, Role

ANYONE = Actor(id="anonymous", role=Role.ADMIN, label="anonymous")


async def get_actor(request: Request) -> Actor:
    request.state.actor = ANYONE
    return ANYONE


ActorDep = Annotated[Actor, Depends(get_actor)]
