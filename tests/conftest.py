"""Shared fixtures: real databases (SQLite file, PostgreSQL schema, DynamoDB table on a
local DynamoDB-compatible server), per-test isolation, and an async HTTP client over the
ASGI app.

PostgreSQL comes from EVENTCRM_TEST_POSTGRES_URL (default: the local ``test``
database). When it is unreachable the PostgreSQL half of the suite is skipped
locally but *fails* under CI=true, so CI can never pass without it. DynamoDB is moto's
server mode, started once per session on a free port (tests/support/dynamodb.py); without
moto installed the DynamoDB part is skipped locally and fails under CI=true.

Tests about SQL itself (migrations, SQL statements, SQL-specific failures) carry
``@pytest.mark.sql("why")`` (or a module-level ``pytestmark``): they run on SQLite and
PostgreSQL only. Which other tests run on DynamoDB too: ``DYNAMODB_SUITES`` (all of
them with EVENTCRM_TEST_DYNAMODB=all); ``-m dynamodb`` selects the DynamoDB half,
``-m "not dynamodb"`` leaves it out.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from eventcrm.app import create_app
from eventcrm.bootstrap import build_backend_storage, build_container, build_worker, migrate
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from eventcrm.worker.runner import DeliveryWorker
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.databases import BACKENDS, empty
from tests.support.dynamodb import aws_environment_set, moto_server, require_moto
from tests.support.smtp_sink import SmtpSink

#: The suite sends thousands of requests from one address: budgets out of its way
#: (tests/api/test_abuse_limits.py sets its own).
GENEROUS_LIMITS: dict[str, Any] = {
    "rate_limit": "1000000/minute",
    "rate_limit_registrations": "1000000/minute",
    "rate_limit_email": "1000000/minute",
}
GENEROUS_LIMITS_ENV = {f"EVENTCRM_{k.upper()}": v for k, v in GENEROUS_LIMITS.items()}

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("EVENTCRM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


async def _run_sql(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


#: pg_trgm is installed once per database, in whichever schema comes first on the
#: search_path of whoever creates it: a test schema, if a test session's migration
#: got there first. Dropping that schema at the end of the session would then drop
#: the extension, and with it (CASCADE) the trigram indexes of every other session
#: sharing the database, deadlocking their writes. Keep it in ``public`` instead.
_TRIGRAMS_IN_PUBLIC = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE EXTENSION pg_trgm SCHEMA public;
    ELSIF (
        SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm'
    ) <> 'public' THEN
        ALTER EXTENSION pg_trgm SET SCHEMA public;
    END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;  -- another session created it at the same moment
END
$$
"""


def _require_postgres() -> None:
    try:
        asyncio.run(asyncio.wait_for(_run_sql(postgres_url(), "SELECT 1"), 10))
    except Exception as exc:
        message = f"PostgreSQL at {postgres_url()} is unreachable: {exc!r}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("sqlite")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{root / 'eventcrm.db'}",
        data_dir=root,
        secret_key="test-secret-key-0123456789",
        log_level="WARNING",
        **GENEROUS_LIMITS,
    )
    migrate(settings)
    return settings


@pytest.fixture(scope="session")
def postgres_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    _require_postgres()
    schema = f"eventcrm_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_run_sql(postgres_url(), _TRIGRAMS_IN_PUBLIC, f"CREATE SCHEMA {schema}"))
    settings = Settings(
        database_url=postgres_url(),
        database_schema=schema,
        data_dir=tmp_path_factory.mktemp("pg"),
        secret_key="test-secret-key-0123456789",
        log_level="WARNING",
        **GENEROUS_LIMITS,
    )
    try:
        migrate(settings)
        yield settings
    finally:
        asyncio.run(_run_sql(postgres_url(), _TRIGRAMS_IN_PUBLIC, f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """moto's server on a free local port, with this process's AWS variables pointed at
    it (dummy credentials, a region) for the whole session; child processes inherit them."""
    require_moto()
    with moto_server() as endpoint, aws_environment_set(endpoint):
        yield endpoint


@pytest.fixture(scope="session")
def dynamodb_settings(tmp_path_factory: pytest.TempPathFactory, dynamodb_endpoint: str) -> Settings:
    # One table for the session, emptied after each test: creating a table with its
    # indexes costs more than emptying the few items a test writes.
    settings = Settings(
        database_url=f"dynamodb://eventcrm-test-{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path_factory.mktemp("dynamodb"),
        secret_key="test-secret-key-0123456789",
        log_level="WARNING",
        # The test server answers one request at a time, ~0.2 s per registration: in a
        # rush the last request waits for every one before it.
        dynamodb_lock_wait_seconds=300,
        **GENEROUS_LIMITS,
    )
    migrate(settings)
    return settings


@pytest.fixture(scope="session", params=BACKENDS)
def settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for a migrated database; every test using it runs on each backend (the
    ones marked ``sql`` on SQLite and PostgreSQL only)."""
    return request.getfixturevalue(f"{request.param}_settings")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
async def _session_storage(settings: Settings) -> AsyncIterator[Storage]:
    storage = build_backend_storage(settings)
    yield storage
    await storage.close()


@pytest.fixture
async def storage(_session_storage: Storage) -> AsyncIterator[Storage]:
    """The storage, emptied after each test."""
    yield _session_storage
    await empty(_session_storage)


@pytest.fixture(scope="session")
def _session_app(settings: Settings, _session_storage: Storage) -> FastAPI:
    # Building the app (routing, dependency analysis) costs far more than a request:
    # one app per backend, shared by every test; the storage is emptied between tests.
    return create_app(settings, container=build_container(settings, storage=_session_storage))


@pytest.fixture
async def client(_session_app: FastAPI, storage: Storage) -> AsyncIterator[httpx.AsyncClient]:
    """An administrator's client (``tests.support.auth.ADMIN``)."""
    await seed_admin_key(storage)
    transport = httpx.ASGITransport(app=_session_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield http
    # The storage is emptied behind the app's back (not through a unit of work).
    await _session_app.state.container.event_cache.clear()


@pytest.fixture
async def anonymous(_session_app: FastAPI, storage: Storage) -> AsyncIterator[httpx.AsyncClient]:
    """A client without any credential."""
    transport = httpx.ASGITransport(app=_session_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await _session_app.state.container.event_cache.clear()


@pytest.fixture
def backend(settings: Settings) -> str:
    if settings.is_dynamodb:
        return "dynamodb"
    return "sqlite" if settings.is_sqlite else "postgres"


#: Modules that start real server processes, time liveness, or fire hundreds of concurrent
#: requests. Under pytest-xdist with ``--dist loadgroup`` they all run on one worker, one
#: after the other, so two of them never compete for the two cores or for PostgreSQL's
#: 100 connections (each storage pools up to 20; a server process has its own pool).
HEAVY_MODULES = frozenset(
    {
        "tests/api/test_database_outage.py",
        "tests/api/test_rate_limits_redis.py",
        "tests/bench/test_smoke.py",
        "tests/deploy/test_entrypoint.py",
        "tests/events/test_cache_processes.py",
        "tests/registrations/test_concurrency.py",
        "tests/templates/test_api_limits.py",
        "tests/test_cli.py",
        "tests/test_tour.py",
        "tests/worker/test_processes.py",
    }
)


#: The DynamoDB variant of these suites runs in `make test`: the storage contract suites,
#: the API suites of the features that own data (contacts, events, registrations,
#: campaigns, keys and roles), the two-process rush, the worker processes and the
#: stateful model (in tests/registrations/). moto's server answers one request at a
#: time, a few milliseconds each: the rest (HTTP plumbing, templates, mail, the filter
#: property tests, …) would add about ten minutes while exercising the same adapter
#: paths. ``EVENTCRM_TEST_DYNAMODB=all`` runs every suite on DynamoDB.
DYNAMODB_SUITES = (
    "tests/storage/",
    "tests/users/",
    "tests/events/",
    "tests/registrations/",
    "tests/campaigns/",
    "tests/access/",
    "tests/worker/test_processes.py",
)
#: Hypothesis over hundreds of generated filters: minutes on the test server.
DYNAMODB_LEFT_OUT = ("tests/users/test_properties.py",)


def runs_on_dynamodb(item: pytest.Item, path: str) -> bool:
    """Whether the DynamoDB variant of a test runs: never for tests about SQL (marked
    ``sql``); by default for ``DYNAMODB_SUITES``; with EVENTCRM_TEST_DYNAMODB=all, always."""
    if item.get_closest_marker("sql") is not None:
        return False
    if os.environ.get("EVENTCRM_TEST_DYNAMODB", "").lower() == "all":
        return True
    return path.startswith(DYNAMODB_SUITES) and not path.startswith(DYNAMODB_LEFT_OUT)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        path = item.path.relative_to(root).as_posix()
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("settings") if callspec else None
        if backend == "postgres":
            item.add_marker(pytest.mark.postgres)
        if backend == "dynamodb":
            if not runs_on_dynamodb(item, path):
                dropped.append(item)
                continue
            item.add_marker(pytest.mark.dynamodb)
        elif "dynamodb_settings" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dynamodb)  # a DynamoDB-only test
        if path in HEAVY_MODULES:
            item.add_marker(pytest.mark.xdist_group("heavy"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_sink: SmtpSink) -> Settings:
    """The test database's settings, sending through the sink with fast retries."""
    return settings.model_copy(
        update={
            "email_provider": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_sink.port,
            "smtp_security": "none",
            "smtp_timeout_seconds": 5.0,
            "email_from": "Events Team <news@events.example>",
            "public_url": "https://crm.example",
            "worker_batch_size": 20,
            "worker_concurrency": 2,
            "worker_poll_interval": 0.05,
            "worker_retry_base_seconds": 0.0,
            "worker_max_attempts": 3,
        }
    )


@pytest.fixture
def make_worker(smtp_settings: Settings, storage: Storage) -> Callable[..., DeliveryWorker]:
    def make(**overrides: Any) -> DeliveryWorker:
        settings = smtp_settings.model_copy(update=overrides)
        return build_worker(build_container(settings, storage=storage))

    return make
