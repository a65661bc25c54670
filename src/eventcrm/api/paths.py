"""Where the API lives: the one prefix every route, Location header and link uses."""

from __future__ import annotations

from fastapi import APIRouter

API_PREFIX = "/api/v1"


def location(router: APIRouter, resource_id: str) -> str:
    """The path of a resource just created under ``router`` (for a ``Location`` header)."""
    return f"{API_PREFIX}{router.prefix}/{resource_id}"
