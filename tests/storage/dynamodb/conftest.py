"""These tests run on DynamoDB only: the session's table on moto's server (the root
conftest's ``dynamodb_settings``), reached through the same aioboto3 client production
uses, emptied after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventcrm.bootstrap import build_dynamo_storage
from eventcrm.settings import Settings
from eventcrm.storage.dynamodb.storage import DynamoStorage


@pytest.fixture(scope="session")
def settings(dynamodb_settings: Settings) -> Settings:
    return dynamodb_settings


@pytest.fixture(scope="session")
async def _dynamo_storage(dynamodb_settings: Settings) -> AsyncIterator[DynamoStorage]:
    storage = build_dynamo_storage(dynamodb_settings)
    yield storage
    await storage.close()


@pytest.fixture
async def storage(_dynamo_storage: DynamoStorage) -> AsyncIterator[DynamoStorage]:
    yield _dynamo_storage
    await _dynamo_storage.truncate()


@pytest.fixture
def backend() -> str:
    return "dynamodb"
