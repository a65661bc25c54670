"""Every create answers 201 with a Location that reads the new resource back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.factories import category_payload, event_payload, template_payload, user_payload

CREATES: dict[str, Callable[[], dict[str, Any]]] = {
    "/api/v1/users": user_payload,
    "/api/v1/categories": category_payload,
    "/api/v1/events": event_payload,
    "/api/v1/email-templates": template_payload,
    "/api/v1/segments": lambda: {"name": "Everyone"},
    "/api/v1/campaigns": lambda: {
        "name": "Spring news",
        "subject": "News",
        "text": "Hello",
        "audience": {"filter": None},
    },
}


@pytest.mark.parametrize("collection", CREATES)
async def test_a_created_resource_is_at_its_location(
    client: httpx.AsyncClient, collection: str
) -> None:
    created = await client.post(collection, json=CREATES[collection]())
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location == f"{collection}/{created.json()['id']}"
    read = await client.get(location)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == created.json()["id"]
