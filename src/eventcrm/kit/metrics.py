"""The application's Prometheus metrics, and their rendering for ``/metrics``.

Under ``eventcrm serve --workers N`` every process writes its samples to files
in ``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve`` before the processes start,
prometheus_client's multiprocess mode) and ``render`` aggregates them; with one
process the samples stay in its memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

#: Decided once, when the first metric is made: prometheus_client picks its
#: storage (memory or files) from the environment at import time.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "eventcrm_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "eventcrm_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "eventcrm_cache_lookups",
    "Read-cache lookups, by cache (event, event_list) and result (hit, miss).",
    ["cache", "result"],
)
REGISTRATIONS = Counter(
    "eventcrm_registrations",
    "Registration attempts by outcome: registered, waitlisted, or the refusal's error code.",
    ["outcome"],
)
DELIVERIES = Counter(
    "eventcrm_deliveries",
    "Email deliveries the worker finished handling, by resulting status.",
    ["status"],
)
WORKER_BATCH_SECONDS = Histogram(
    "eventcrm_worker_batch_duration_seconds",
    "Time the delivery worker took for one claimed batch.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DUE_DELIVERIES = Gauge(
    "eventcrm_due_deliveries",
    "Deliveries waiting to be sent now (queued or due for a retry), read at scrape time.",
    multiprocess_mode="mostrecent",
)
DB_POOL_CHECKED_OUT = Gauge(
    "eventcrm_db_pool_checked_out",
    "Database connections checked out of the pools, summed over processes.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "eventcrm_db_pool_size",
    "Connections the pools keep open (without overflow), summed over processes.",
    multiprocess_mode="livesum",
)


class _Outcome(Protocol):
    @property
    def status(self) -> object: ...


def observe_worker_batch(outcomes: Iterable[_Outcome], *, seconds: float) -> None:
    """One delivery batch handled: its duration, and each delivery's resulting status."""
    WORKER_BATCH_SECONDS.observe(seconds)
    for outcome in outcomes:
        DELIVERIES.labels(status=str(outcome.status)).inc()


@contextmanager
def registration_attempt() -> Iterator[Callable[[object], None]]:
    """Counts one registration attempt: the status given to the callback
    (``registered``, ``waitlisted``), or the code of the error it raised
    (``event_full``, ``already_registered``, …)."""
    outcome: list[str] = []
    try:
        yield lambda status: outcome.append(str(status))
    except Exception as error:
        REGISTRATIONS.labels(outcome=getattr(error, "code", "error")).inc()
        raise
    REGISTRATIONS.labels(outcome=outcome[-1] if outcome else "unknown").inc()


def render() -> bytes:
    """Every metric in the Prometheus text format, all processes together."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def forget_this_process() -> None:
    """At a server process's exit: its live gauges (pool usage) leave the sums."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
