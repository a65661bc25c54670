"""These tests run on DynamoDB only: moto's server on a free local port (serialised,
see bench/moto_server.py), reached through the same aioboto3 client production uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from bench.moto_server import moto_dynamodb

from eventcrm.bootstrap import build_dynamo_storage, migrate
from eventcrm.settings import Settings
from eventcrm.storage.dynamodb.storage import DynamoStorage
from tests.conftest import GENEROUS_LIMITS


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_dynamodb() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def settings(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(
        database_url=f"dynamodb://eventcrm-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path_factory.mktemp("dynamodb"),
        secret_key="test-secret-key-0123456789",
        log_level="WARNING",
        **GENEROUS_LIMITS,
    )
    migrate(settings)
    return settings


@pytest.fixture(scope="session")
async def _session_storage(settings: Settings) -> AsyncIterator[DynamoStorage]:
    storage = build_dynamo_storage(settings)
    yield storage
    await storage.close()


@pytest.fixture
async def storage(_session_storage: DynamoStorage) -> AsyncIterator[DynamoStorage]:
    yield _session_storage
    await _session_storage.truncate()


@pytest.fixture
def backend(settings: Settings) -> str:
    return "dynamodb"
