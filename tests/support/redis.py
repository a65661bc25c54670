"""Redis for tests: EVENTCRM_TEST_REDIS_URL (default redis://127.0.0.1:6379/0);
skipped when unreachable, but failed under CI=true."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest


def redis_url() -> str:
    return os.environ.get("EVENTCRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> str:
    url = urlsplit(redis_url())
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=5) as conn:
            conn.sendall(b"PING\r\n")
            reachable, reason = conn.recv(64).startswith(b"+PONG"), "PING failed"
    except OSError as exc:
        reachable, reason = False, repr(exc)
    if not reachable:
        message = f"Redis at {redis_url()} is unreachable: {reason}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: Redis tests must run)", pytrace=False)
        pytest.skip(message)
    return redis_url()
