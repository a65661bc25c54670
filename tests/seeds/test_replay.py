"""The earlier systems' documented requests, replayed (docs/migrating.md).

Every ``seed_*.json`` file beside this module holds the HTTP request examples of
one earlier system's documentation, in the order a user would send them. Each
file is replayed on both databases against an app served where that system
served (``apiPrefix``); the only thing added to its requests is the
administrator's ``Authorization`` header. Adding an example to a file needs no
new code. The file format:

``requests[]``
    ``method``, ``path`` (as the system wrote it, prefix included), optional
    ``query`` (an object; a list value repeats the parameter) and ``json`` (the
    body); ``documented`` says where the example comes from.
``expect``
    ``status`` (default: any 2xx), ``fields`` (a dotted path into the JSON
    answer → the exact value), ``present`` (dotted paths that must exist),
    ``length`` (dotted path → the length of that list).
``capture``
    a name → a dotted path into the answer; later requests use the value as
    ``{{name}}`` anywhere in a path, query or body string (a string that is
    exactly ``{{name}}`` takes the captured value as it is, list or number).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.sql.storage import SqlStorage
from tests.support.auth import ADMIN_HEADERS, seed_admin_key

SEEDS = Path(__file__).parent
SEED_FILES = sorted(SEEDS.glob("seed_*.json"))

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MISSING = object()


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def at(document: Any, dotted: str) -> Any:
    """The value at ``items.0.id`` in a JSON document, or ``_MISSING``."""
    value = document
    for part in dotted.split(".") if dotted else ():
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def fill(template: Any, captured: dict[str, Any]) -> Any:
    """``template`` with every ``{{name}}`` replaced by a captured value."""
    if isinstance(template, dict):
        return {key: fill(value, captured) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, captured) for item in template]
    if not isinstance(template, str):
        return template

    def value_of(name: str) -> Any:
        assert name in captured, f"{{{{{name}}}}} is used before it is captured"
        return captured[name]

    whole = _PLACEHOLDER.fullmatch(template)
    if whole:
        return value_of(whole.group(1))
    return _PLACEHOLDER.sub(lambda m: str(value_of(m.group(1))), template)


def check(step: dict[str, Any], response: httpx.Response) -> Any:
    """Assert what the step expects; return the JSON answer (None when there is none)."""
    where = f"{step['method']} {response.request.url} ({step.get('documented', '')})"
    expect = step.get("expect", {})
    if "status" in expect:
        assert response.status_code == expect["status"], f"{where}: {response.text}"
    else:
        assert 200 <= response.status_code < 300, f"{where}: {response.text}"
    body = response.json() if response.content else None
    for dotted in expect.get("present", []):
        assert at(body, dotted) is not _MISSING, f"{where}: no {dotted} in {body}"
    for dotted, value in expect.get("fields", {}).items():
        assert at(body, dotted) == value, f"{where}: {dotted} is not {value!r} in {body}"
    for dotted, length in expect.get("length", {}).items():
        found = at(body, dotted)
        assert isinstance(found, list), f"{where}: {dotted} is not a list in {body}"
        assert len(found) == length, f"{where}: {dotted} has {len(found)} items, not {length}"
    return body


@pytest.fixture
async def served_at(
    request: pytest.FixtureRequest, settings: Settings, storage: SqlStorage
) -> AsyncIterator[httpx.AsyncClient]:
    """An administrator's client of an app served under the seed's prefix."""
    configured = settings.model_copy(update={"api_prefix": request.param})
    app = create_app(configured, container=build_container(configured, storage=storage))
    await seed_admin_key(storage)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield http


def _cases() -> list[Any]:
    return [pytest.param(path, load(path)["apiPrefix"], id=path.stem) for path in SEED_FILES]


#: The keys a file, a request and its ``expect`` may hold: a misspelt key would
#: otherwise silently check nothing.
FILE_KEYS = {"seed", "source", "apiPrefix", "notes", "requests"}
REQUEST_KEYS = {"documented", "method", "path", "query", "json", "expect", "capture"}
EXPECT_KEYS = {"status", "fields", "present", "length"}


def test_every_seed_has_its_replay_file() -> None:
    assert [path.stem[:8] for path in SEED_FILES] == [f"seed_{n:03d}" for n in range(5)]
    # Seed 000 served under /api/v1, the others at the root.
    assert [load(path)["apiPrefix"] for path in SEED_FILES] == ["/api/v1", "", "", "", ""]


def test_the_migration_guide_links_every_replay_file(repo_root: Path) -> None:
    guide = (repo_root / "docs" / "migrating.md").read_text(encoding="utf-8")
    for n, path in enumerate(SEED_FILES):
        assert f"## Seed {n:03d}: " in guide
        assert f"(../tests/seeds/{path.name})" in guide


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda path: path.stem)
def test_a_replay_file_is_well_formed(path: Path) -> None:
    data = load(path)
    assert set(data) <= FILE_KEYS, path.name
    assert data["source"], path.name
    assert data["requests"], path.name
    for step in data["requests"]:
        assert set(step) <= REQUEST_KEYS, step
        assert set(step.get("expect", {})) <= EXPECT_KEYS, step
        assert step["documented"], step
        assert step["path"].startswith(data["apiPrefix"] + "/") or step["path"].startswith("{{")


@pytest.mark.parametrize(("path", "served_at"), _cases(), indirect=["served_at"])
async def test_a_seed_clients_documented_requests_work(
    path: Path, served_at: httpx.AsyncClient
) -> None:
    captured: dict[str, Any] = {}
    for written in load(path)["requests"]:
        step = fill(written, captured)
        response = await served_at.request(
            step["method"], step["path"], params=step.get("query"), json=step.get("json")
        )
        body = check(step, response)
        for name, dotted in step.get("capture", {}).items():
            value = at(body, dotted)
            assert value is not _MISSING, f"{step['path']}: nothing at {dotted} to capture"
            captured[name] = value
