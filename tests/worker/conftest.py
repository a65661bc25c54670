"""Fixtures for the sending worker: a real SMTP server and workers pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from eventcrm.bootstrap import build_container, build_worker
from eventcrm.settings import Settings
from eventcrm.storage.sql.storage import SqlStorage
from eventcrm.worker.runner import DeliveryWorker
from tests.smtp_sink import SmtpSink


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
def make_worker(smtp_settings: Settings, storage: SqlStorage) -> Callable[..., DeliveryWorker]:
    def make(**overrides: Any) -> DeliveryWorker:
        settings = smtp_settings.model_copy(update=overrides)
        return build_worker(build_container(settings, storage=storage))

    return make
