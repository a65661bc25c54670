"""Whatever a client sends to the email endpoints, the answer is never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import create_mail_event, create_user, register

# JSON values, biased towards the shapes and names these endpoints read.
_FIELDS = st.sampled_from(
    [
        "name", "subject", "html", "text", "templateId", "audience", "userIds", "filter",
        "segmentId", "eventId", "statuses", "roles", "scheduledAt", "description", "field",
        "op", "value", "and", "or", "not", "id", "userId",
    ]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "{{ user.firstName }}", "{% if %}", "{{", "city", "eq", "in", "Austin",
            "registered", "host", "9999-12-31T23:00:00-12:00", "2030-01-01T00:00:00Z",
            "\x00", "u1", "",
        ]
    ),
)  # fmt: skip
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_FIELDS, children, max_size=5)
    ),
    max_leaves=12,
)
_VALID: list[dict[str, Any]] = [
    {"name": "n", "subject": "s", "text": "t", "audience": {"filter": None}},
    {"name": "n", "subject": "s", "html": "<p>h</p>", "audience": {"userIds": ["u1"]}},
    {"subject": "s", "text": "t", "filter": {"field": "city", "op": "eq", "value": "Austin"}},
    {"subject": "s", "text": "t", "eventId": "e1", "statuses": ["registered"]},
    {"name": "n", "subject": "s", "text": "t"},
    {"name": "n", "filter": {"field": "eventsHosted", "op": "gte", "value": 2}},
    {"userId": "u1"},
    {"scheduledAt": "2030-01-01T00:00:00Z"},
]
# Random bodies, and valid ones with one field (or the audience's) replaced.
_BODIES = st.one_of(
    st.dictionaries(_FIELDS, _JSON, max_size=6),
    st.builds(
        lambda base, key, value: {**base, key: value}, st.sampled_from(_VALID), _FIELDS, _JSON
    ),
    st.builds(
        lambda base, key, value: {**base, "audience": {key: value}},
        st.sampled_from(_VALID[:2]),
        _FIELDS,
        _JSON,
    ),
)

_ROUTES = [
    ("POST", "/api/v1/campaigns"),
    ("POST", "/api/v1/emails/send"),
    ("POST", "/api/v1/email-templates"),
    ("POST", "/api/v1/segments"),
    ("POST", "/api/v1/email-templates/t1/preview"),
    ("POST", "/api/v1/campaigns/c1/send"),
]


@pytest.mark.parametrize(("method", "path"), _ROUTES)
async def test_no_body_makes_an_email_endpoint_fail_with_5xx(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    await create_user(client, id="u1", city="Austin")
    await create_mail_event(client, id="e1")
    await register(client, "e1", "u1")
    await client.post(
        "/api/v1/email-templates", json={"id": "t1", "name": "t", "subject": "s", "text": "t"}
    )
    await client.post(
        "/api/v1/campaigns",
        json={"id": "c1", "name": "c", "subject": "s", "text": "t", "audience": {"filter": None}},
    )

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=_BODIES)
    def check(body: dict[str, Any]) -> None:
        statuses.append(body)

    statuses: list[dict[str, Any]] = []
    check()
    for body in statuses:
        response = await client.request(method, path, json=body)
        assert response.status_code < 500, (body, response.text)
