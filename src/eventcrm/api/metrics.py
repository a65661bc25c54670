"""``GET /metrics``: Prometheus text format, outside the API prefix like the probes.

Who may read it (docs/security.md#metrics): a caller on this machine (a
loopback address, and no proxy forwarding the request for someone else), or
anyone with an administrator key. ``EVENTCRM_METRICS_ENABLED=false`` removes
it (404). The numbers reveal traffic and queue sizes, never personal data.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.exceptions import HTTPException

from eventcrm.access.policy import require_admin
from eventcrm.api.auth import bearer, get_actor
from eventcrm.api.deps import ContainerDep
from eventcrm.kit import metrics

log = structlog.get_logger(__name__)
router = APIRouter(tags=["metrics"])

#: Headers a reverse proxy adds: such a request comes from elsewhere, whatever its address.
_FORWARDED = (b"forwarded", b"x-forwarded-for", b"x-real-ip")


def _from_this_machine(request: Request) -> bool:
    if request.client is None or any(k in _FORWARDED for k, _ in request.scope["headers"]):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def may_read_metrics(
    request: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if not container.settings.metrics_enabled:
        raise HTTPException(404)
    if _from_this_machine(request):
        return
    require_admin(await get_actor(request, credentials), "read the metrics")


@router.get(
    "/metrics",
    dependencies=[Depends(may_read_metrics)],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def read_metrics(container: ContainerDep) -> Response:
    """Requests, cache hits, registrations, deliveries, the queue and the pools."""
    try:
        async with container.storage.unit_of_work(write=False) as uow:
            metrics.DUE_DELIVERIES.set(await uow.deliveries.count_due(container.clock.now()))
    except Exception as exc:  # the other metrics matter most when the database is down
        log.warning("due_deliveries_not_counted", error=repr(exc))
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
