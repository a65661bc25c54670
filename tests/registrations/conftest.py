"""The app's registration batcher, for tests that force a batch (``hold``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from eventcrm.registrations.batcher import RegistrationBatcher


@pytest.fixture
def batcher(_session_app: FastAPI) -> Iterator[RegistrationBatcher]:
    """The batcher of the app behind ``client``; a hold a test left is lifted after it."""
    batcher: RegistrationBatcher = _session_app.state.container.registrations
    yield batcher
    batcher.hold(0)
