"""Email throughput: a campaign of N recipients sent by the worker to a local SMTP sink,
next to a bare aiosmtplib loop sending the same messages to the same sink.

    .venv/bin/python -m bench.email_throughput --recipients 10000 100000

For each size it prints messages/second and the worker process's peak memory
while sending, and how long freezing the audience (INSERT ... SELECT) took.
The sink (aiosmtpd) runs in its own process so it does not share a core's
Python interpreter with the sender. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx

from bench.auth import admin_headers
from eventcrm.mail.message import Mailbox, OutgoingMessage, to_mime

SUBJECT = "Hello {{ user.firstName }}, news from {{ user.company }}"
HTML = (
    "<html><body><h1>Hi {{ user.firstName }} {{ user.lastName }}</h1>"
    "<p>{{ user.company }} is invited to our next meetup in {{ user.city }}.</p>"
    + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>" * 8
    + '<p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p></body></html>'
)
TEXT = (
    "Hi {{ user.firstName }} {{ user.lastName }}\n\n"
    "{{ user.company }} is invited to our next meetup in {{ user.city }}.\n\n"
    + "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 8
    + "\nUnsubscribe: {{ unsubscribeUrl }}\n"
)


# --- The sink: its own process, counting what it accepts ------------------------
def _sink(port: int, count: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += len(envelope.rcpt_tos)
            return "250 2.0.0 Accepted"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:  # pragma: no cover - the process is terminated
        controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Memory: the peak resident set of this process since a reset -----------------
def _reset_peak() -> None:
    # Linux: writing 5 resets VmHWM (the peak RSS) to the current RSS.
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- The baseline: one connection, a bare loop -----------------------------------
async def bare_loop(port: int, n: int) -> float:
    """Render and send n messages like the worker's, over one connection, in a plain loop.

    The same message builder as the worker (``to_mime``) and the same content, so
    the difference is what the worker adds: claiming from and recording in the
    database, Jinja rendering, headers, retries and bookkeeping.
    """
    sender = Mailbox("news@events.example", "Events")
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await smtp.connect()
    started = time.perf_counter()
    for i in range(n):
        names = {"{{ user.firstName }}": f"P{i}", "{{ user.lastName }}": "Person"}
        text, html = TEXT, HTML
        for tag, value in names.items():
            text, html = text.replace(tag, value), html.replace(tag, value)
        message = OutgoingMessage(
            delivery_id=i,
            campaign_id="bare",
            to=Mailbox(f"p{i}@example.com", f"P{i} Person"),
            subject=f"Hello P{i}, news from Co{i}",
            html=html,
            text=text,
            message_id=f"<bare-{i}@events.example>",
            unsubscribe_url=None,
            date=datetime.now(UTC),
        )
        await smtp.sendmail(sender.address, [message.to.address], to_mime(message, sender))
    elapsed = time.perf_counter() - started
    await smtp.quit()
    return n / elapsed


# --- Our worker ------------------------------------------------------------------
async def campaign_run(port: int, n: int, database_url: str, concurrency: int) -> dict[str, float]:
    from eventcrm.app import create_app
    from eventcrm.bootstrap import build_container, build_worker, migrate
    from eventcrm.settings import Settings
    from eventcrm.storage.sql.storage import SqlStorage
    from eventcrm.storage.sql.tables import users

    data_dir = Path(tempfile.mkdtemp(prefix="eventcrm-bench-"))
    schema = None
    if database_url.startswith("postgresql"):
        # A throwaway schema, dropped afterwards: the database is left as it was.
        schema = f"eventcrm_bench_{os.getpid()}"
        await _run_sql(database_url, f"CREATE SCHEMA {schema}")
    settings = Settings(
        database_url=database_url,
        database_schema=schema,
        data_dir=data_dir,
        secret_key="bench-secret-key-0123456789",
        email_provider="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        email_from="Events <news@events.example>",
        worker_batch_size=500,
        worker_concurrency=concurrency,
        worker_poll_interval=0.05,
        log_level="WARNING",
    )
    migrate(settings)
    container = build_container(settings)
    storage = container.storage
    assert isinstance(storage, SqlStorage)
    now = datetime.now(UTC)
    async with storage.engine.begin() as conn:
        for start in range(0, n, 10_000):
            await conn.execute(
                users.insert(),
                [
                    {
                        "id": f"b{i:07d}",
                        "first_name": f"P{i}",
                        "last_name": "Person",
                        "email": f"p{i}@example.com",
                        "company": f"Co{i}",
                        "city": "Austin",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(n, start + 10_000))
                ],
            )
    app = create_app(settings, container=container)
    headers = await admin_headers(container.storage)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as client:
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/emails/send",
            params={"confirm": "true"},  # a send to everyone
            json={"subject": SUBJECT, "html": HTML, "text": TEXT, "filter": None},
        )
        freeze = time.perf_counter() - started
        assert response.status_code == 202, response.text
        assert response.json()["recipientCount"] == n

        worker = build_worker(container)
        _reset_peak()
        started = time.perf_counter()
        await worker.run(asyncio.Event(), until_idle=True)
        elapsed = time.perf_counter() - started
        peak = _peak_mib()
        campaign = (await client.get(f"/api/v1/campaigns/{response.json()['campaignId']}")).json()
        assert campaign["counts"]["sent"] == n, campaign["counts"]
    await storage.close()
    if schema is not None:
        await _run_sql(database_url, f"DROP SCHEMA {schema} CASCADE")
    return {"rate": n / elapsed, "peak_mib": peak, "freeze_s": freeze}


async def _run_sql(url: str, statement: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def _child(kind: str, port: int, n: int, url: str, concurrency: int, out: Any) -> None:
    if kind == "bare":
        _reset_peak()
        rate = asyncio.run(bare_loop(port, n))
        out.put({"rate": rate, "peak_mib": _peak_mib()})
    else:
        out.put(asyncio.run(campaign_run(port, n, url, concurrency)))


def run_in_child(kind: str, port: int, n: int, url: str, concurrency: int = 1) -> dict[str, Any]:
    """Each measurement in a fresh process, so one's memory never shows in another."""
    out: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_child, args=(kind, port, n, url, concurrency, out))
    proc.start()
    result: dict[str, Any] = out.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file per run; PostgreSQL: postgresql+asyncpg://...",
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()

    port = _free_port()
    count = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink, args=(port, count, ready), daemon=True)
    sink.start()
    ready.wait(10)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; sink on 127.0.0.1:{port}")
    try:
        for n in args.recipients:
            bare = run_in_child("bare", port, n, "")
            print(
                f"{n:>7} recipients  bare aiosmtplib loop : {bare['rate']:8.0f} msg/s  "
                f"peak RSS {bare['peak_mib']:6.1f} MiB"
            )
            for concurrency in args.concurrency:
                url = args.database_url or (
                    f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='eventcrm-bench-')}/b.db"
                )
                ours = run_in_child("campaign", port, n, url, concurrency)
                print(
                    f"{n:>7} recipients  worker concurrency {concurrency}: "
                    f"{ours['rate']:8.0f} msg/s  peak RSS {ours['peak_mib']:6.1f} MiB  "
                    f"({ours['rate'] / bare['rate']:.0%} of bare; audience frozen in "
                    f"{ours['freeze_s']:.2f} s)"
                )
    finally:
        sink.terminate()


if __name__ == "__main__":
    main()
