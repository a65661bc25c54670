"""Helpers shared by the users HTTP API tests: paths, payloads and paging."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.factories import user_payload

USERS = "/api/v1/users"
OPTIONAL_FIELDS = ("phoneNumber", "avatar", "gender", "jobTitle", "company", "city", "state")


def full_payload(**overrides: Any) -> dict[str, Any]:
    return user_payload(
        phoneNumber="+15125550100",
        avatar="https://example.com/ada.png",
        gender="female",
        jobTitle="Engineer",
        company="Acme",
        city="Austin",
        state="TX",
        **overrides,
    )


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [u["id"] for u in response.json()["items"]]
