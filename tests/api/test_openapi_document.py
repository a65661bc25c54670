"""The OpenAPI document: readable ids and summaries, every error declared as problem+json,
snake_case query parameters, valid examples, and documentation pages that work offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventcrm.api.openapi import EXAMPLES, SUMMARIES
from eventcrm.errors import DomainError

API_PREFIX = "/api/v1"  # the default EVENTCRM_API_PREFIX

CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def resolve(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        *_, kind, name = item["$ref"].split("/")
        item = document["components"][kind][name]
    return item


async def test_every_operation_has_a_unique_camel_case_id_and_a_written_summary(
    document: dict[str, Any],
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not CAMEL_CASE.match(i)] == []
    assert [i for i in ids if i not in SUMMARIES] == []
    assert "registerForEvent" in ids
    assert "listUserRegistrations" in ids


async def test_every_error_response_is_a_problem_json_document(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            content = resolve(document, response).get("content", {})
            if status == "304":  # Not Modified has no body
                assert content == {}
            elif not status.startswith("2") and list(content) != ["application/problem+json"]:
                wrong.append((method, path, status, list(content)))
            elif not status.startswith("2"):
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_the_problem_schema_matches_a_problem_the_app_sends(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    response = await client.post(f"{API_PREFIX}/users", json={"email": 5})
    problem = response.json()
    schema = document["components"]["schemas"]["Problem"]
    assert set(problem) <= set(schema["properties"])
    assert set(schema["required"]) <= set(problem)
    field_error = document["components"]["schemas"]["FieldError"]
    assert set(problem["errors"][0]) == set(field_error["required"])


def statuses(document: dict[str, Any], operation_id: str) -> set[str]:
    found = [op for _, _, op in operations(document) if op["operationId"] == operation_id]
    return set(found[0]["responses"])


async def test_errors_are_declared_where_they_can_happen(document: dict[str, Any]) -> None:
    common = {"413", "414", "500", "503", "401", "403", "429"}
    assert statuses(document, "listUsers") == {"200", "400", "422"} | common
    assert statuses(document, "getUser") == {"200", "404", "422"} | common
    assert statuses(document, "createUser") == {"201", "400", "409", "415", "422"} | common
    assert statuses(document, "deleteCategory") == {"204", "404", "409", "422"} | common
    # No credentials on the unsubscribe link nor on the probes; a budget per client address.
    assert statuses(document, "unsubscribeOneClick") == {"200", "404", "413", "414", "422"} | {
        "429",
        "500",
        "503",
    }
    assert statuses(document, "getLiveness") == {"200", "413", "414", "429", "500"}


async def test_query_parameters_are_documented_in_snake_case(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    names = {
        parameter["name"]
        for _, _, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    assert "job_title" in names
    assert "include_total" in names
    assert [n for n in names if not SNAKE_CASE.match(n)] == []
    # Both spellings keep working.
    for query in ("include_total=true", "includeTotal=true"):
        response = await client.get(f"{API_PREFIX}/users?{query}")
        assert response.json()["total"] == 0


async def test_the_main_request_bodies_carry_an_example(document: dict[str, Any]) -> None:
    with_example = set()
    for _, _, operation in operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" in body:
            with_example.add(operation["operationId"])
    assert with_example == set(EXAMPLES)


async def test_every_example_passes_the_request_validation(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    for method, path, operation in operations(document):
        example = EXAMPLES.get(operation["operationId"])
        if example is None:
            continue
        url = re.sub(r"\{[a-z_]+\}", "missing", path)
        response = await client.request(method, url, json=example)
        # A reference to a record that does not exist is fine; a malformed body is not.
        assert response.status_code in (201, 202, 200, 404, 422), (path, response.text)
        assert response.json().get("type", "").split(":")[-1] not in (
            "validation_error",
            "malformed_json",
        ), (path, response.text)


async def test_rules_a_schema_cannot_state_are_in_the_description(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "`endAt` must be after `startAt`" in schemas["EventCreate"]["description"]
    assert "Exactly one of" in schemas["AudienceIn"]["description"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


async def test_every_deprecated_alias_names_its_canonical_operation(
    document: dict[str, Any],
) -> None:
    deprecated = [(m, p, op) for m, p, op in operations(document) if op.get("deprecated")]
    assert {op["operationId"] for _, _, op in deprecated} == {
        "filterUsers",
        "filterUsersByEventCount",
        "sendPredefinedEmail",
        "sendEmailsToAudience",
    }
    for _, _, operation in deprecated:
        canonical = operation["x-replaced-by"]
        target = document["paths"][canonical["path"]][canonical["method"]]
        assert target["operationId"] == canonical["operationId"]
        assert not target.get("deprecated")
        unprefixed = canonical["path"].removeprefix(API_PREFIX)
        assert f"use `{canonical['method'].upper()} {unprefixed}`" in operation["description"]


@pytest.mark.parametrize(
    ("schema", "field", "aliases"),
    [
        ("UserCreate", "id", ["userId", "user_id"]),
        ("UserCreate", "phoneNumber", ["phone"]),
        ("UserCreate", "firstName", ["name"]),
        ("UserUpdate", "lastName", ["name"]),
        ("EventCreate", "id", ["eventId", "event_id"]),
        ("EventCreate", "venue", ["location"]),
        ("EventCreate", "capacity", ["maxCapacity", "max_capacity"]),
        ("EventUpdate", "startAt", ["date", "start_date"]),
        ("EventUpdate", "hostIds", ["hosts"]),
        ("RegistrationCreate", "phoneNumber", ["phone"]),
    ],
)
async def test_the_earlier_systems_field_names_are_documented_on_their_fields(
    document: dict[str, Any], schema: str, field: str, aliases: list[str]
) -> None:
    prop = document["components"]["schemas"][schema]["properties"][field]
    assert prop["x-aliases"] == aliases
    for alias in aliases:
        assert f"`{alias}`" in prop["description"]


async def test_aliases_are_not_documented_where_they_are_not_accepted(
    document: dict[str, Any],
) -> None:
    # userId and eventId name the id on create only (docs/migrating.md).
    schemas = document["components"]["schemas"]
    assert "id" not in schemas["UserUpdate"]["properties"]
    assert "x-aliases" not in schemas["UserRead"]["properties"]["phoneNumber"]
    assert "x-aliases" not in schemas["EventRead"]["properties"]["venue"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_documentation_pages_load_everything_from_this_server(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    links = _Links()
    links.feed(response.text)
    assert links.urls, "the page loads its scripts and styles"
    assert [u for u in links.urls if not u.startswith("/")] == []
    # Scripts the page builds at run time name no other host either.
    assert re.findall(r"https?://[^\s\"'<>]+", response.text) == []
    for url in links.urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0


def _subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    subclasses: list[type[DomainError]] = cls.__subclasses__()
    return [cls, *(sub for direct in subclasses for sub in _subclasses(direct))]


def test_every_problem_code_is_listed_in_the_error_docs(repo_root: Path) -> None:
    import eventcrm.app  # noqa: F401  (imports every feature, so every error class exists)

    listed = (repo_root / "docs" / "errors.md").read_text()
    # A class that names no code of its own (the base, each feature's base) is never raised.
    codes = {error.code for error in _subclasses(DomainError)[1:] if "code" in vars(error)}
    assert {"user_not_found", "idempotency_key_in_flight", "invalid_audience"} <= codes
    assert sorted(c for c in codes if f"`{c}`" not in listed) == []
