"""A model-based test of registrations (Hypothesis RuleBasedStateMachine).

Random sequences of register (one by one, or several in one batch) / cancel /
change capacity / toggle the waitlist / check in / soft delete / restore, run
through the HTTP API, are
compared step by step with a plain Python model. After every step the
invariants are checked against the database itself (through the storage, so on every
backend, DynamoDB too): registered <= capacity, the waitlist is FIFO and gap-free,
nobody is both registered and waitlisted, and every user's counters equal a recount.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from eventcrm.app import create_app
from eventcrm.bootstrap import build_backend_storage, build_container
from eventcrm.registrations.domain import RegistrationStatus, Role
from eventcrm.settings import Settings
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.databases import empty, registrations_of, stored_event, stored_users

EVENTS = ("e0", "e1")
PEOPLE = tuple(f"p{i}" for i in range(6))
HOST = "host"


@dataclass
class EventModel:
    capacity: int | None = 1
    waitlist_enabled: bool = True
    deleted: bool = False
    registered: list[str] = field(default_factory=list)
    waitlist: deque[str] = field(default_factory=deque)
    checked_in: set[str] = field(default_factory=set)

    def fill(self) -> None:
        while self.waitlist and (self.capacity is None or len(self.registered) < self.capacity):
            self.registered.append(self.waitlist.popleft())


class RegistrationMachine(RuleBasedStateMachine):
    def __init__(self, app_settings: Settings) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.storage = build_backend_storage(app_settings)
        container = build_container(app_settings, storage=self.storage)
        self.batcher = container.registrations
        app = create_app(app_settings, container=container)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=ADMIN_HEADERS
        )
        self.model = {e: EventModel() for e in EVENTS}
        self.run(self._setup())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _setup(self) -> None:
        await seed_admin_key(self.storage)
        for person in (*PEOPLE, HOST):
            body: dict[str, Any] = {
                "id": person,
                "firstName": person,
                "lastName": "X",
                "email": f"{person}@x.org",
            }
            assert (await self.client.post("/api/v1/users", json=body)).status_code == 201
        for event_id in EVENTS:
            body = {
                "id": event_id,
                "title": event_id,
                "startAt": "2030-01-01T10:00:00Z",
                "endAt": "2030-01-01T12:00:00Z",
                "capacity": 1,
                "ownerId": HOST,
            }
            assert (await self.client.post("/api/v1/events", json=body)).status_code == 201

    def teardown(self) -> None:
        async def clean() -> None:
            await self.client.aclose()
            await empty(self.storage)
            await self.storage.close()

        self.run(clean())
        self.loop.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request(method, "/api/v1" + url, **kwargs))  # type: ignore[no-any-return]

    @rule(event=st.sampled_from(EVENTS), person=st.sampled_from(PEOPLE))
    def register(self, event: str, person: str) -> None:
        response = self.request("POST", f"/events/{event}/registrations", json={"userId": person})
        self._expect_registration(event, person, response)

    def _expect_registration(self, event: str, person: str, response: httpx.Response) -> None:
        m = self.model[event]
        if m.deleted:
            assert response.status_code == 404
        elif person in m.registered or person in m.waitlist:
            assert response.status_code == 409
            assert response.json()["type"].endswith("already_registered")
        elif m.capacity is None or len(m.registered) < m.capacity:
            assert response.status_code == 201
            assert response.json()["status"] == "registered"
            m.registered.append(person)
        elif m.waitlist_enabled:
            assert response.status_code == 201
            assert response.json()["status"] == "waitlisted"
            m.waitlist.append(person)
            assert response.json()["waitlistPosition"] == len(m.waitlist)
        else:
            assert response.status_code == 409
            assert response.json()["type"].endswith("event_full")

    @rule(
        event=st.sampled_from(EVENTS),
        people=st.lists(st.sampled_from(PEOPLE), min_size=2, max_size=4),
    )
    def register_several(self, event: str, people: list[str]) -> None:
        """A burst of sign-ups, so waitlists grow long enough to show their order."""
        for person in people:
            self.register(event, person)

    @rule(
        event=st.sampled_from(EVENTS),
        people=st.lists(st.sampled_from(PEOPLE), min_size=2, max_size=5),
    )
    def register_in_one_batch(self, event: str, people: list[str]) -> None:
        """A burst taken in one transaction (group commit): each answer is the one
        it would get had the requests run one by one, in the order they arrived."""
        responses = self.run(self._one_batch(event, people))
        for person, response in zip(people, responses, strict=True):
            self._expect_registration(event, person, response)

    async def _one_batch(self, event: str, people: list[str]) -> list[httpx.Response]:
        url = f"/api/v1/events/{event}/registrations"
        self.batcher.hold(len(people))
        sent = []
        for i, person in enumerate(people):
            sent.append(asyncio.create_task(self.client.post(url, json={"userId": person})))
            if i == len(people) - 1:
                break  # the last one starts the batch
            for _ in range(30_000):  # until it is queued: the arrival order is the list's
                if self.batcher.queued(event) > i:
                    break
                await asyncio.sleep(0.001)
            else:
                raise AssertionError(f"{person} never queued for {event}")
        return list(await asyncio.gather(*sent))

    @rule(event=st.sampled_from(EVENTS), person=st.sampled_from(PEOPLE))
    def cancel(self, event: str, person: str) -> None:
        m = self.model[event]
        response = self.request("DELETE", f"/events/{event}/registrations/{person}")
        if m.deleted or (person not in m.registered and person not in m.waitlist):
            assert response.status_code == 404
            return
        assert response.status_code == 204
        if person in m.registered:
            m.registered.remove(person)
            m.checked_in.discard(person)
            m.fill()
        else:
            m.waitlist.remove(person)

    @rule(event=st.sampled_from(EVENTS), capacity=st.one_of(st.none(), st.integers(0, 5)))
    def change_capacity(self, event: str, capacity: int | None) -> None:
        m = self.model[event]
        response = self.request("PATCH", f"/events/{event}", json={"capacity": capacity})
        if m.deleted:
            assert response.status_code == 404
        elif capacity is not None and capacity < len(m.registered):
            assert response.status_code == 409
        else:
            assert response.status_code == 200, response.text
            m.capacity = capacity
            m.fill()

    @rule(event=st.sampled_from(EVENTS), enabled=st.booleans())
    def toggle_waitlist(self, event: str, enabled: bool) -> None:
        m = self.model[event]
        response = self.request("PATCH", f"/events/{event}", json={"waitlistEnabled": enabled})
        assert response.status_code == (404 if m.deleted else 200)
        if not m.deleted:
            m.waitlist_enabled = enabled

    @rule(event=st.sampled_from(EVENTS), person=st.sampled_from(PEOPLE))
    def check_in(self, event: str, person: str) -> None:
        m = self.model[event]
        response = self.request("POST", f"/events/{event}/registrations/{person}/check-in")
        if m.deleted or (person not in m.registered and person not in m.waitlist):
            assert response.status_code == 404
        elif person in m.waitlist:
            assert response.status_code == 409
        else:
            assert response.status_code == 200
            m.checked_in.add(person)

    @rule(event=st.sampled_from(EVENTS))
    def soft_delete(self, event: str) -> None:
        m = self.model[event]
        response = self.request("DELETE", f"/events/{event}")
        assert response.status_code == (404 if m.deleted else 204)
        m.deleted = True

    @rule(event=st.sampled_from(EVENTS))
    def restore(self, event: str) -> None:
        assert self.request("POST", f"/events/{event}/restore").status_code == 200
        self.model[event].deleted = False

    @invariant()
    def database_matches_the_model(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        for event_id, m in self.model.items():
            event = await stored_event(self.storage, event_id)
            assert event.capacity == m.capacity
            assert event.registered_count == len(m.registered)
            assert event.waitlist_count == len(m.waitlist)
            assert event.capacity is None or event.registered_count <= event.capacity
            regs = await registrations_of(self.storage, event_id, role=Role.ATTENDEE)
            registered = [r.user_id for r in regs if r.status is RegistrationStatus.REGISTERED]
            assert sorted(registered) == sorted(m.registered)
            waitlisted = sorted(
                (r.waitlist_seq or 0, r.user_id)
                for r in regs
                if r.status is RegistrationStatus.WAITLISTED
            )
            assert [user for _, user in waitlisted] == list(m.waitlist)  # FIFO
            assert {r.user_id for r in regs if r.checked_in_at} == m.checked_in
        # Gap-free positions as the API reports them.
        for event_id, m in self.model.items():
            if m.deleted:
                continue
            for position, person in enumerate(m.waitlist, start=1):
                response = await self.client.get(f"/api/v1/users/{person}/waitlists")
                places = {i["eventId"]: i["waitlistPosition"] for i in response.json()["items"]}
                assert places[event_id] == position
        # Counters equal a recount over live events.
        stored = await stored_users(self.storage, [*PEOPLE, HOST])
        counters = {u.id: (u.events_hosted, u.events_attended) for u in stored.values()}
        for person in PEOPLE:
            attended = sum(
                1 for m in self.model.values() if not m.deleted and person in m.registered
            )
            assert counters[person] == (0, attended), person
        hosted = sum(1 for m in self.model.values() if not m.deleted)
        assert counters[HOST] == (hosted, 0)


def test_registrations_match_a_simple_model(settings: Settings, backend: str) -> None:
    class OnTheTestDatabase(RegistrationMachine):
        def __init__(self) -> None:
            super().__init__(settings)

    run_state_machine_as_test(OnTheTestDatabase, settings=settings_for_ci(backend))


def settings_for_ci(backend: str = "sqlite") -> Any:
    # DynamoDB's test server answers one request at a time (every step and every
    # invariant check costs tens of requests): fewer, shorter runs keep it to a minute.
    dynamodb = backend == "dynamodb"
    return hypothesis_settings(
        max_examples=6 if dynamodb else 15,
        stateful_step_count=20 if dynamodb else 30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
