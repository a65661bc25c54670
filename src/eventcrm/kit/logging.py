"""Structured logging: one JSON object per line (or a readable console form)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import structlog

_access = logging.getLogger("eventcrm.access")
_render_access_line = False


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, except for a record that arrives already rendered."""

    def format(self, record: logging.LogRecord) -> str:
        line = getattr(record, "rendered", None)
        return line if isinstance(line, str) else super().format(record)


def access_log(**fields: Any) -> None:
    """One access-log line. In JSON it is rendered here, with the same keys
    structlog would write: structlog's processor chain costs about 100 µs a
    line, a tenth of a cached read (docs/benchmarks.md); this about 10 µs."""
    if not _access.isEnabledFor(logging.INFO):
        return
    if not _render_access_line:
        structlog.get_logger("eventcrm.access").info("request", **fields)
        return
    line = json.dumps(
        {
            "event": "request",
            **structlog.contextvars.get_contextvars(),
            **fields,
            "level": "info",
            "logger": "eventcrm.access",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        },
        default=str,
    )
    _access.info(line, extra={"rendered": line})


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    global _render_access_line
    _render_access_line = fmt == "json"
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop below-level events before any work
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = _Formatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # We write our own access line per request; uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
