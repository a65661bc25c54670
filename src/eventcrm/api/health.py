"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from eventcrm.api.deps import ContainerDep
from eventcrm.api.problems import problem

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(request: Request, container: ContainerDep) -> dict[str, str] | JSONResponse:
    """The process can serve requests: the database answers."""
    try:
        await container.storage.ping()
    except Exception as exc:
        return problem(
            request,
            status=503,
            code="not_ready",
            title="Service Unavailable",
            detail=f"The database is not reachable: {type(exc).__name__}.",
            headers={"Retry-After": "5"},
        )
    return {"status": "ok", "database": "ok"}
