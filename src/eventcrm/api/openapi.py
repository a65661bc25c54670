"""The OpenAPI document, completed in one place so that it tells the whole truth.

FastAPI describes what the routes parse and return on success; this module adds
what it cannot know: every error each operation can answer (all of them
``application/problem+json``, one ``Problem`` schema), the headers every answer
carries, stable camelCase operation ids, summaries, request examples, the
rules a JSON schema cannot express, and query parameters under their canonical
snake_case names (camelCase is accepted as well, but documented once).

Which errors an operation declares follows from its shape (a path id → 404, a
cursor or a JSON body → 400, …) and from two short tables below; nothing is
declared by hand on the routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel, to_snake

from eventcrm.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from eventcrm.api.problems import PROBLEM_JSON, TYPE_PREFIX

#: Operation ids that read better than the handler's name in camelCase.
OPERATION_IDS: dict[str, str] = {
    "live": "getLiveness",
    "ready": "getReadiness",
    "read_metrics": "getMetrics",
    "register": "registerForEvent",
    "list_participants": "listRegistrations",
    "cancel": "cancelRegistration",
    "check_in": "checkIn",
    "user_events": "listUserEvents",
    "user_registrations": "listUserRegistrations",
    "user_waitlists": "listUserWaitlists",
    "segment_users": "listSegmentUsers",
    "segment_count": "countSegmentUsers",
    "retry_failed": "retryFailedDeliveries",
    "unsubscribe_page": "getUnsubscribePage",
    "unsubscribe_one_click": "unsubscribeOneClick",
}

#: One line per operation (the handler's docstring, when it has one, is the description).
SUMMARIES: dict[str, str] = {
    "getLiveness": "Liveness: the process is up",
    "getReadiness": "Readiness: the database answers",
    "getMetrics": "Prometheus metrics (from this machine, or with an administrator key)",
    "createUser": "Create a contact",
    "listUsers": "List contacts",
    "searchUsers": "Search contacts with a filter tree",
    "getUser": "Get a contact",
    "replaceUser": "Update a contact (PUT, same as PATCH)",
    "updateUser": "Update a contact",
    "deleteUser": "Delete a contact",
    "listUserEvents": "List a contact's events",
    "listUserRegistrations": "List the events a contact holds a seat in",
    "listUserWaitlists": "List the waitlists a contact is on",
    "createCategory": "Create a category",
    "listCategories": "List categories",
    "getCategory": "Get a category",
    "replaceCategory": "Replace a category",
    "updateCategory": "Update a category",
    "deleteCategory": "Delete a category",
    "createEvent": "Create an event",
    "listEvents": "List events",
    "countEvents": "Count events",
    "getEventBySlug": "Get an event by its slug",
    "getEvent": "Get an event",
    "replaceEvent": "Update an event (PUT, same as PATCH)",
    "updateEvent": "Update an event",
    "deleteEvent": "Delete an event (soft)",
    "restoreEvent": "Restore a deleted event",
    "registerForEvent": "Register a contact for an event",
    "listRegistrations": "List an event's participants",
    "cancelRegistration": "Cancel a registration",
    "checkIn": "Check a participant in",
    "createTemplate": "Create an email template",
    "listTemplates": "List email templates",
    "getTemplate": "Get an email template",
    "replaceTemplate": "Replace an email template",
    "deleteTemplate": "Delete an email template",
    "previewTemplate": "Preview an email template for a contact",
    "createSegment": "Create a segment",
    "listSegments": "List segments",
    "getSegment": "Get a segment",
    "replaceSegment": "Replace a segment",
    "deleteSegment": "Delete a segment",
    "listSegmentUsers": "List the contacts a segment selects",
    "countSegmentUsers": "Count the contacts a segment selects",
    "createCampaign": "Create a draft campaign",
    "listCampaigns": "List campaigns",
    "getCampaign": "Get a campaign and its progress",
    "deleteCampaign": "Delete a draft campaign",
    "sendCampaign": "Send or schedule a campaign",
    "cancelCampaign": "Cancel a campaign",
    "retryFailedDeliveries": "Retry a campaign's failed deliveries",
    "listDeliveries": "List a campaign's deliveries",
    "sendEmail": "Send an email now",
    "getUnsubscribePage": "Unsubscribe (link)",
    "unsubscribeOneClick": "Unsubscribe (one click, RFC 8058)",
    "createApiKey": "Create an API key (shown once)",
    "listApiKeys": "List API keys",
    "getApiKey": "Get an API key",
    "revokeApiKey": "Revoke an API key",
    "listAttendees": "List an event's attendees",
    # The earlier systems' requests (deprecated aliases; docs/migrating.md).
    "filterUsers": "Filter contacts by flat criteria (deprecated: searchUsers)",
    "filterUsersByEventCount": "Filter contacts by role and event count (deprecated: searchUsers)",
    "sendPredefinedEmail": "Send the predefined email (deprecated: sendEmail)",
    "sendEmailsToAudience": "Send an email to ids or a filter (deprecated: sendEmail)",
}

#: The canonical operation each deprecated alias stands for: named on the alias
#: as ``x-replaced-by`` (its operation id, method and path).
REPLACED_BY: dict[str, str] = {
    "filterUsers": "searchUsers",
    "filterUsersByEventCount": "searchUsers",
    "sendPredefinedEmail": "sendEmail",
    "sendEmailsToAudience": "sendEmail",
}

#: Operations other than POSTs with an idempotency key (each of which may meet
#: ``idempotency_key_in_flight``) that can answer 409: the domain conflicts of
#: docs/errors.md.
CONFLICTING: frozenset[str] = frozenset(
    {
        "replaceUser",  # user_email_taken
        "updateUser",
        "replaceCategory",  # category_name_taken
        "updateCategory",
        "deleteCategory",  # category_in_use
        "replaceEvent",  # event_slug_taken, invalid_status_transition, capacity_below_registered
        "updateEvent",
        "deleteEvent",
        "cancelRegistration",  # owner_registration
        "replaceTemplate",  # template_name_taken
        "deleteTemplate",  # template_in_use
        "replaceSegment",  # segment_name_taken
        "listSegmentUsers",  # segment_filter_outdated
        "countSegmentUsers",
        "deleteCampaign",  # campaign_state_conflict
        "createApiKey",  # api_key_prefix_taken
    }
)

#: Operations anyone may call: no credentials, no rate limit per caller.
PUBLIC: frozenset[str] = frozenset({"getUnsubscribePage", "unsubscribeOneClick"})
#: The probes, outside the API prefix (which may be empty, so paths cannot tell).
PROBES: frozenset[str] = frozenset({"getLiveness", "getReadiness"})

#: Rules a JSON schema cannot state, added to the description of the request body.
BODY_RULES: dict[str, str] = {
    "EventCreate": "`endAt` must be after `startAt`; the owner cannot also be listed in "
    "`hostIds`; `categoryId`, `ownerId` and `hostIds` must name existing records (422).",
    "EventUpdate": "After the change `endAt` must still be after `startAt`; `capacity` cannot "
    "drop below the seats taken (409); `status` moves only along the allowed transitions (409).",
    "AudienceIn": "Exactly one of `userIds`, `filter`, `segmentId` or `eventId`; "
    "`statuses` and `roles` go with `eventId` only.",
    "CampaignCreate": "Either `templateId` or inline content (`subject` with `html` and/or "
    "`text`), not both.",
    "EmailSend": "Either `templateId` or inline content (`subject` with `html` and/or "
    "`text`), not both; exactly one audience field.",
}

_FILTER_EXAMPLE = {
    "and": [
        {"field": "city", "op": "eq", "value": "Austin"},
        {"not": {"field": "emailOptOut", "op": "eq", "value": True}},
    ]
}

#: One request body example per main write operation (checked by the tests to be valid).
EXAMPLES: dict[str, dict[str, Any]] = {
    "createUser": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "phoneNumber": "+44 20 7946 0958",
        "company": "Analytical Engines",
        "jobTitle": "Engineer",
        "city": "London",
    },
    "searchUsers": {"filter": _FILTER_EXAMPLE, "sort": ["last_name", "-created_at"], "limit": 20},
    "createEvent": {
        "title": "Python Meetup",
        "startAt": "2030-05-01T18:00:00Z",
        "endAt": "2030-05-01T21:00:00Z",
        "timezone": "America/Chicago",
        "venue": "Austin Central Library",
        "capacity": 50,
        "waitlistEnabled": True,
        "status": "scheduled",
    },
    "registerForEvent": {"userId": "01J9ZC6Q4W1V0F4K6A8M2T3B5N", "role": "attendee"},
    "createTemplate": {
        "name": "Welcome",
        "subject": "Welcome, {{ user.first_name }}",
        "text": "Hello {{ user.first_name }}, see you at {{ event.title }}!",
    },
    "createSegment": {
        "name": "Austin subscribers",
        "description": "Contacts in Austin who receive email.",
        "filter": _FILTER_EXAMPLE,
    },
    "createCampaign": {
        "name": "May newsletter",
        "subject": "What's on in May",
        "text": "Hello {{ user.first_name }}!",
        "audience": {"segmentId": "01J9ZC8B0S7K4Q2W6E9R1T3Y5U"},
    },
    "sendEmail": {
        "subject": "Doors open at 6",
        "text": "See you tonight, {{ user.first_name }}.",
        "eventId": "01J9ZC7M3X5B8N1Q4R6T9V2W4Y",
        "statuses": ["registered"],
    },
}

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

#: status → (component name, description listing the problem types it carries).
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "`malformed_json` (the body is not JSON) or `invalid_cursor`."),
    401: ("Unauthorized", "`unauthenticated`: no or invalid credentials."),
    403: ("Forbidden", "`forbidden`: the caller's role does not allow this."),
    404: ("NotFound", "The record named in the path does not exist (`*_not_found`)."),
    409: ("Conflict", "The request clashes with the current state (see docs/errors.md)."),
    413: ("ContentTooLarge", "`payload_too_large`: the body is over the size limit."),
    415: (
        "UnsupportedMediaType",
        "`unsupported_media_type`: a body that is not JSON (`application/json`).",
    ),
    414: ("UriTooLong", "`uri_too_long`: path and query string are over the size limit."),
    422: (
        "UnprocessableContent",
        "`validation_error` or a rule of the use case; `errors` names each field.",
    ),
    429: (
        "TooManyRequests",
        "`rate_limited` (the caller's request budget is spent) or `daily_recipient_limit` "
        "(an organizer's daily recipient quota): retry after `Retry-After` seconds.",
    ),
    500: ("InternalServerError", "`internal_error`: a bug, logged with the request id."),
    503: (
        "ServiceUnavailable",
        "`busy` or `service_unavailable` (`not_ready` on readiness): "
        "retry after `Retry-After` seconds.",
    ),
}

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the one sent, when it is safe, else a new one); "
        "also in the problem's `requestId` and the access log.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWW-Authenticate": {
        "description": "The authentication scheme to use (RFC 6750).",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The URL of the created resource.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request "
        "with the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "type": "object",
        "description": "An RFC 9457 problem detail; `type` ends with the problem's code.",
        "required": ["type", "title", "status", "detail", "instance"],
        "properties": {
            "type": {
                "type": "string",
                "pattern": f"^{re.escape(TYPE_PREFIX)}[a-z0-9_]+$",
                "examples": [TYPE_PREFIX + "validation_error"],
            },
            "title": {"type": "string", "examples": ["Validation failed"]},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "description": "The request's path."},
            "requestId": {"type": "string", "description": "As in `X-Request-ID`."},
            "errors": {
                "type": "array",
                "description": "For bad input: one entry per problem.",
                "items": {"$ref": "#/components/schemas/FieldError"},
            },
        },
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "location", "message", "type"],
        "properties": {
            "field": {"type": "string", "description": "The field as the client wrote it."},
            "location": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "description": "Where: `body`, `query`, `path` or `header`, then the path.",
            },
            "message": {"type": "string"},
            "type": {"type": "string", "examples": ["string_too_long"]},
        },
    },
}


def operation_id(route: APIRoute) -> str:
    """The route's stable operation id (``generate_unique_id_function``)."""
    return OPERATION_IDS.get(route.name) or to_camel(route.name)


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(_SCHEMAS)
    components["headers"] = {name: dict(header) for name, header in _HEADERS.items()}
    components["responses"] = {
        name: _error_response(status, description)
        for status, (name, description) in _ERRORS.items()
    }
    for name, rule in BODY_RULES.items():
        if name in schemas:
            schemas[name]["description"] = (
                f"{schemas[name].get('description', '')}\n\n{rule}".strip()
            )
    where: dict[str, dict[str, str]] = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _complete_operation(path, operation)
            where[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "method": method,
                "path": path,
            }
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            canonical = REPLACED_BY.get(operation["operationId"])
            if canonical in where:
                operation["x-replaced-by"] = where[canonical]
    return document


def _error_response(status: int, description: str) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
    if status in (429, 503):
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
    return {
        "description": description,
        "headers": headers,
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }


def _complete_operation(path: str, operation: dict[str, Any]) -> None:
    op_id = operation["operationId"]
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "query":
            parameter["name"] = to_snake(parameter["name"])
    operation["summary"] = SUMMARIES.get(op_id) or operation.get("summary", op_id)

    body = operation.get("requestBody")
    if body is not None and op_id in EXAMPLES:
        body["content"]["application/json"]["example"] = EXAMPLES[op_id]

    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if status == "201":
            headers["Location"] = {"$ref": "#/components/headers/Location"}
    idempotent = any(p["in"] == "header" and p["name"] == IDEMPOTENCY_HEADER for p in parameters)
    if idempotent:
        for status, response in responses.items():
            if status.startswith("2"):
                response["headers"]["Idempotent-Replayed"] = {
                    "$ref": "#/components/headers/Idempotent-Replayed"
                }

    for code in _error_statuses(path, operation, idempotent=idempotent):
        responses[str(code)] = {"$ref": f"#/components/responses/{_ERRORS[code][0]}"}


def _error_statuses(path: str, operation: dict[str, Any], *, idempotent: bool) -> list[int]:
    op_id = operation["operationId"]
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = {413, 414, 429, 500}  # every route counts against a budget (429)
    if parameters or has_body:
        statuses.add(422)
    if has_body or any(p["in"] == "query" and p["name"] == "cursor" for p in parameters):
        statuses.add(400)
    if any(p["in"] == "path" for p in parameters):
        statuses.add(404)
    if idempotent or op_id in CONFLICTING:
        statuses.add(409)
    if op_id == "getMetrics":  # EVENTCRM_METRICS_ENABLED=false
        statuses.add(404)
    if op_id != "getLiveness":  # everything else reads the database
        statuses.add(503)
    if op_id not in PUBLIC | PROBES:
        statuses.update((401, 403))
        if has_body:  # the cross-site write guard (api/middleware.py)
            statuses.add(415)
    return sorted(statuses)
