"""Where the API lives: the prefix every route, Location header and link uses.

The prefix is a setting (``EVENTCRM_API_PREFIX``, ``/api/v1`` by default, empty
for the root); ``create_app`` mounts every router under it and keeps it in
``app.state.api_prefix``, where handlers find it through their request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request


def api_prefix(request: Request) -> str:
    """The prefix the app serving ``request`` mounts its routers under."""
    prefix: str = request.app.state.api_prefix
    return prefix


def location(request: Request, router: APIRouter, resource_id: str) -> str:
    """The path of a resource just created under ``router`` (for a ``Location`` header)."""
    return f"{api_prefix(request)}{router.prefix}/{resource_id}"
