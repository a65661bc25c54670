"""Event status changes: allowed transitions succeed, the others are refused and change nothing."""

from __future__ import annotations

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem, assert_refused
from tests.support.events_api import EVENTS, read
from tests.support.factories import create_event, event_payload

STATUSES = ("draft", "scheduled", "active", "completed", "cancelled")


#: The allowed status changes, as the issue describes them: cancelled is final.
ALLOWED = {
    ("draft", "scheduled"),
    ("draft", "active"),
    ("draft", "cancelled"),
    ("scheduled", "draft"),
    ("scheduled", "active"),
    ("scheduled", "completed"),
    ("scheduled", "cancelled"),
    ("active", "completed"),
    ("active", "cancelled"),
    ("completed", "active"),
}


CHANGES = [(a, b) for a in STATUSES for b in STATUSES if a != b]


@pytest.mark.parametrize(("current", "requested"), sorted(ALLOWED))
async def test_an_allowed_status_change_succeeds(
    client: httpx.AsyncClient, current: str, requested: str
) -> None:
    created = await create_event(client, status=current)
    response = await client.patch(f"{EVENTS}/{created['id']}", json={"status": requested})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == requested
    assert (await read(client, created["id"]))["status"] == requested


@pytest.mark.parametrize(("current", "requested"), [c for c in CHANGES if c not in ALLOWED])
async def test_a_disallowed_status_change_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, current: str, requested: str
) -> None:
    created = await create_event(client, status=current)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{EVENTS}/{created['id']}",
        status=409,
        code="invalid_status_transition",
        json={"status": requested},
    )


@pytest.mark.parametrize("status", STATUSES)
async def test_sending_the_current_status_again_is_accepted(
    client: httpx.AsyncClient, status: str
) -> None:
    created = await create_event(client, status=status)
    response = await client.patch(
        f"{EVENTS}/{created['id']}", json={"status": status, "venue": "Hall C"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["venue"]) == (status, "Hall C")


async def test_a_cancelled_event_cannot_be_reopened_by_put(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_event(client, status="cancelled")
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{EVENTS}/{created['id']}",
        status=409,
        code="invalid_status_transition",
        json=event_payload(status="scheduled"),
    )


async def test_the_refused_status_change_names_the_allowed_ones(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client, status="active")
    response = await client.patch(f"{EVENTS}/{created['id']}", json={"status": "draft"})
    detail = assert_problem(response, 409)["detail"]
    assert "completed" in detail
    assert "cancelled" in detail


async def test_a_status_change_with_other_fields_is_refused_as_a_whole(
    client: httpx.AsyncClient,
) -> None:
    created = await create_event(client, status="cancelled", venue="Hall A")
    response = await client.patch(
        f"{EVENTS}/{created['id']}", json={"status": "active", "venue": "Hall B"}
    )
    assert_problem(response, 409, code="invalid_status_transition")
    assert (await read(client, created["id"]))["venue"] == "Hall A"
