"""A registration rush over HTTP, next to a bare one-transaction-per-attempt baseline.

    .venv/bin/python -m bench.rush                      # PostgreSQL and SQLite, full size
    .venv/bin/python -m bench.rush --backend postgres --rounds 5
    .venv/bin/python -m bench.rush --smoke              # tiny: does it still work?

For each backend: a fresh database and a real ``eventcrm serve`` (2 worker
processes on PostgreSQL; SQLite allows one writer process, so 1 there), an event
with ``--seats`` seats, ``--attempts`` contacts, then one registration attempt
per contact with ``--concurrency`` in flight. In the same run, alternating
which goes first each round, the baseline does the same attempts straight on
the driver (asyncpg, or sqlite3 in threads), one transaction each:

    BEGIN; UPDATE events SET registered_count = registered_count + 1
           WHERE id = $1 AND registered_count < capacity RETURNING ...;
    INSERT INTO registrations ...; COMMIT

(with the waitlist on, a full event takes the next waitlist number instead:
``UPDATE events SET waitlist_seq = waitlist_seq + 1 ... RETURNING waitlist_seq``).

Reported per run: accepted registrations per second until sell-out (seats
divided by the time from the first attempt to the last seat-taking answer),
p50/p99 latency of the accepted attempts, and eventcrm's ratio to the baseline
of the same round. Every run is checked, eventcrm's through the API (the
event's counts, the participant list) and by SQL (counting rows), the
baseline's by SQL: never more registered than seats, exactly ``seats``
registered when there were enough attempts, and with the waitlist on, every
other attempt waitlisted with positions 1..N, each where its answer said. The
exit status is non-zero when any check fails. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx

from bench.server import Database, Server, eventcrm_serve, fresh_database, parse_env

API = "/api/v1"


def nearest_rank(quantile: float, count: int) -> int:
    """The index of a quantile in ``count`` sorted values (the nearest-rank method)."""
    return max(0, math.ceil(quantile * count) - 1)


@dataclass
class Attempt:
    user_id: str
    latency: float  # seconds
    finished: float  # seconds since the rush started
    outcome: str  # registered | waitlisted | full | duplicate | error <status>
    position: int | None = None


@dataclass
class Run:
    backend: str
    waitlist: bool
    system: str
    round: int
    seats: int
    attempts: list[Attempt]
    failures: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == "registered"]

    @property
    def accepted_per_second(self) -> float:
        accepted = self.accepted
        if not accepted:
            return 0.0
        return len(accepted) / max(a.finished for a in accepted)

    def latency_ms(self, quantile: float) -> float:
        latencies = sorted(a.latency for a in self.accepted)
        if not latencies:
            return float("nan")
        return 1000 * latencies[nearest_rank(quantile, len(latencies))]

    @property
    def oversold(self) -> bool:
        return any(f.startswith("OVERSOLD") for f in self.failures)


# --- The load: n attempts, `concurrency` in flight --------------------------------------
async def rush(
    user_ids: list[str],
    concurrency: int,
    attempt: Callable[[str], Awaitable[tuple[str, int | None]]],
) -> list[Attempt]:
    pending = iter(user_ids)
    results: list[Attempt] = []
    started = time.perf_counter()

    async def lane() -> None:
        for user_id in pending:
            t = time.perf_counter()
            outcome, position = await attempt(user_id)
            now = time.perf_counter()
            results.append(Attempt(user_id, now - t, now - started, outcome, position))

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return results


# --- eventcrm over HTTP ----------------------------------------------------------------
async def create_contacts(client: httpx.AsyncClient, count: int, concurrency: int) -> list[str]:
    ids: list[str] = [""] * count
    numbers = iter(range(count))
    tag = f"{time.time_ns():x}"

    async def lane() -> None:
        for i in numbers:
            body = {"firstName": f"P{i}", "lastName": "Rush", "email": f"rush{i}.{tag}@example.com"}
            response = await client.post(f"{API}/users", json=body)
            response.raise_for_status()
            ids[i] = response.json()["id"]

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return ids


async def create_event(client: httpx.AsyncClient, *, seats: int, waitlist: bool) -> str:
    response = await client.post(
        f"{API}/events",
        json={
            "title": f"The rush {time.time_ns()}",
            "startAt": "2030-01-01T18:00:00Z",
            "endAt": "2030-01-01T20:00:00Z",
            "capacity": seats,
            "waitlistEnabled": waitlist,
            "status": "scheduled",
        },
    )
    response.raise_for_status()
    return str(response.json()["id"])


def http_attempt(
    session: aiohttp.ClientSession, event_id: str
) -> Callable[[str], Awaitable[tuple[str, int | None]]]:
    """One attempt over ``session``: aiohttp, whose client costs about 0.15 ms of CPU per
    request here against httpx's 1 ms; the load generator shares the server's cores, so a
    slow client would be measured as a slow server (docs/benchmarks.md)."""
    url = f"{API}/events/{event_id}/registrations"

    async def attempt(user_id: str) -> tuple[str, int | None]:
        try:
            async with session.post(url, json={"userId": user_id}) as response:
                status = response.status
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            return f"error {type(exc).__name__}", None
        if status == 201:
            return str(body["status"]), body.get("waitlistPosition")
        if status == 409:
            # problem+json: the code ends its type URI (urn:eventcrm:problem:event_full)
            code = re.split(r"[:/]", str(body.get("type", "")))[-1]
            return ("full" if code == "event_full" else f"error 409 {code}"), None
        return f"error {status}", None

    return attempt


async def participants(client: httpx.AsyncClient, event_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(f"{API}/events/{event_id}/registrations", params=params)
        response.raise_for_status()
        page = response.json()
        found.extend(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            return found


# --- The checks --------------------------------------------------------------------------
def expected(seats: int, attempts: int, waitlist: bool) -> tuple[int, int]:
    """(registered, waitlisted) after ``attempts`` distinct people tried for ``seats``."""
    registered = min(seats, attempts)
    return registered, (attempts - registered) if waitlist else 0


def check_answers(run: Run) -> None:
    """What the attempts were told adds up: seats given out, waitlist places 1..N."""
    registered, waitlisted = expected(run.seats, len(run.attempts), run.waitlist)
    outcomes = Counter(a.outcome for a in run.attempts)
    if outcomes["registered"] > run.seats:
        run.failures.append(f"OVERSOLD: {outcomes['registered']} answers said registered")
    errors = {k: v for k, v in outcomes.items() if k.startswith("error")}
    if errors:
        run.failures.append(f"errors: {errors}")
    full = len(run.attempts) - registered - waitlisted
    if (outcomes["registered"], outcomes["waitlisted"], outcomes["full"]) != (
        registered,
        waitlisted,
        full,
    ):
        run.failures.append(f"answers {dict(outcomes)}, expected {registered} registered")
    positions = sorted(a.position or 0 for a in run.attempts if a.outcome == "waitlisted")
    if positions != list(range(1, waitlisted + 1)):
        run.failures.append("waitlist positions in the answers are not 1..N")


def check_counts(run: Run, where: str, counts: dict[str, int]) -> None:
    """``counts``: registered/waitlisted as the event says and as rows are counted."""
    registered, waitlisted = expected(run.seats, len(run.attempts), run.waitlist)
    for name, value in counts.items():
        if name.startswith("registered") and value > run.seats:
            run.failures.append(f"OVERSOLD ({where}): {name} = {value} for {run.seats} seats")
    want = {
        "registered_count": registered,
        "registered_rows": registered,
        "waitlist_count": waitlisted,
        "waitlisted_rows": waitlisted,
    }
    wrong = {k: v for k, v in counts.items() if want.get(k, v) != v}
    if wrong:
        run.failures.append(f"{where}: {wrong}, expected {want}")


async def check_api(run: Run, client: httpx.AsyncClient, event_id: str) -> None:
    response = await client.get(f"{API}/events/{event_id}")
    response.raise_for_status()
    event = response.json()
    people = [p for p in await participants(client, event_id) if p["role"] == "attendee"]
    statuses = Counter(p["status"] for p in people)
    check_counts(
        run,
        "API",
        {
            "registered_count": event["registeredCount"],
            "waitlist_count": event["waitlistCount"],
            "registered_rows": statuses["registered"],
            "waitlisted_rows": statuses["waitlisted"],
        },
    )
    listed = {p["userId"]: p.get("waitlistPosition") for p in people if p["status"] == "waitlisted"}
    if sorted(p or 0 for p in listed.values()) != list(range(1, len(listed) + 1)):
        run.failures.append("API: waitlist positions are not 1..N")
    told = {a.user_id: a.position for a in run.attempts if a.outcome == "waitlisted"}
    if told != listed:
        run.failures.append("API: waitlist positions differ from what the answers said")


_COUNT_SQL = (
    "SELECT capacity, registered_count, waitlist_count, "
    "(SELECT count(*) FROM registrations r WHERE r.event_id = e.id AND r.role = 'attendee' "
    "AND r.status = 'registered'), "
    "(SELECT count(*) FROM registrations r WHERE r.event_id = e.id AND r.status = 'waitlisted'), "
    "(SELECT count(DISTINCT r.waitlist_seq) FROM registrations r WHERE r.event_id = e.id "
    "AND r.status = 'waitlisted') "
    "FROM events e WHERE e.id = {param}"
)


def check_sql(run: Run, row: tuple[Any, ...]) -> None:
    capacity, registered_count, waitlist_count, registered, waitlisted, seqs = row
    counts = {
        "registered_count": registered_count,
        "waitlist_count": waitlist_count,
        "registered_rows": registered,
        "waitlisted_rows": waitlisted,
    }
    if capacity != run.seats:
        run.failures.append(f"SQL: capacity is {capacity}")
    check_counts(run, "SQL", counts)
    if seqs != waitlisted:
        run.failures.append("SQL: two waitlisted people share a waitlist number")


# --- The baselines -------------------------------------------------------------------
_SEAT = (
    "UPDATE events SET registered_count = registered_count + 1 "
    "WHERE id = {p1} AND registered_count < capacity RETURNING registered_count"
)
_WAIT = (
    "UPDATE events SET waitlist_count = waitlist_count + 1, waitlist_seq = waitlist_seq + 1 "
    "WHERE id = {p1} AND waitlist_enabled RETURNING waitlist_seq"
)
_INSERT = (
    "INSERT INTO registrations (event_id, user_id, role, status, waitlist_seq, registered_at) "
    "VALUES ({p1}, {p2}, 'attendee', {p3}, {p4}, {p5})"
)


async def asyncpg_baseline(
    database: Database, event_id: str, user_ids: list[str], *, concurrency: int, connections: int
) -> list[Attempt]:
    """One transaction per attempt, ``connections`` connections shared by the lanes."""
    seat, wait, insert = (
        sql.format(p1="$1", p2="$2", p3="$3", p4="$4", p5="$5") for sql in (_SEAT, _WAIT, _INSERT)
    )
    settings = {"search_path": database.schema} if database.schema else {}
    pool = await asyncpg.create_pool(
        database.asyncpg_dsn, min_size=connections, max_size=connections, server_settings=settings
    )
    assert pool is not None

    async def attempt(user_id: str) -> tuple[str, int | None]:
        async with pool.acquire() as conn, conn.transaction():
            now = datetime.now(UTC)
            if await conn.fetchval(seat, event_id) is not None:
                await conn.execute(insert, event_id, user_id, "registered", None, now)
                return "registered", None
            number = await conn.fetchval(wait, event_id)
            if number is None:
                return "full", None
            await conn.execute(insert, event_id, user_id, "waitlisted", number, now)
            return "waitlisted", int(number)

    try:
        return await rush(user_ids, concurrency, attempt)
    finally:
        await pool.close()


async def sqlite_baseline(
    database: Database, event_id: str, user_ids: list[str], *, concurrency: int
) -> list[Attempt]:
    """One transaction per attempt on sqlite3, a connection per thread (SQLite has one
    writer: ``BEGIN IMMEDIATE`` waits for it, as the app's write transactions do)."""
    assert database.path is not None
    path = database.path
    seat, wait, insert = (
        sql.format(p1="?", p2="?", p3="?", p4="?", p5="?") for sql in (_SEAT, _WAIT, _INSERT)
    )
    local = threading.local()
    opened: list[sqlite3.Connection] = []

    def connection() -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 30000")
            local.conn = conn
            opened.append(conn)
        return conn

    def attempt_sync(user_id: str) -> tuple[str, int | None]:
        conn = connection()
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(seat, (event_id,)).fetchone() is not None:
                conn.execute(insert, (event_id, user_id, "registered", None, now))
                conn.execute("COMMIT")
                return "registered", None
            row = conn.execute(wait, (event_id,)).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return "full", None
            conn.execute(insert, (event_id, user_id, "waitlisted", row[0], now))
            conn.execute("COMMIT")
            return "waitlisted", int(row[0])
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(concurrency) as threads:

        async def attempt(user_id: str) -> tuple[str, int | None]:
            return await loop.run_in_executor(threads, attempt_sync, user_id)

        try:
            return await rush(user_ids, concurrency, attempt)
        finally:
            for conn in opened:
                conn.close()


async def sql_counts(database: Database, event_id: str) -> tuple[Any, ...]:
    if database.backend == "sqlite":
        assert database.path is not None
        with sqlite3.connect(database.path) as conn:
            row = conn.execute(_COUNT_SQL.format(param="?"), (event_id,)).fetchone()
        return tuple(row)
    settings = {"search_path": database.schema} if database.schema else {}
    conn = await asyncpg.connect(database.asyncpg_dsn, server_settings=settings)
    try:
        record = await conn.fetchrow(_COUNT_SQL.format(param="$1"), event_id)
    finally:
        await conn.close()
    assert record is not None
    return tuple(record)


# --- One backend ---------------------------------------------------------------------
@dataclass
class Options:
    seats: int
    attempts: int
    concurrency: int
    rounds: int
    connections: int
    workers: int
    waitlist: list[bool]
    embedded_worker: bool
    server_env: dict[str, str]
    uncontended: int


def print_run(run: Run, ratio: float | None) -> None:
    ratio_text = f"{ratio:5.2f}x" if ratio is not None else "     "
    verdict = "ok" if not run.failures else "FAILED: " + "; ".join(run.failures)
    print(
        f"{run.backend:8} {'on' if run.waitlist else 'off':8} {run.round:5} {run.system:26}"
        f" {run.accepted_per_second:10.1f} {run.latency_ms(0.5):8.1f}"
        f" {run.latency_ms(0.99):8.1f} {ratio_text}  {verdict}",
        flush=True,
    )


async def bench_backend(backend: str, options: Options, workdir: Path) -> list[Run]:
    workers = options.workers if backend == "postgres" else 1
    app_name = f"eventcrm, {workers} worker{'s' if workers > 1 else ''}"
    bare_name = "bare asyncpg" if backend == "postgres" else "bare sqlite3"
    runs: list[Run] = []
    with (
        fresh_database(backend, workdir / backend) as database,
        eventcrm_serve(
            database,
            workers=workers,
            extra_env=options.server_env,
            embedded_worker=options.embedded_worker,
        ) as server,
    ):
        async with (
            _client(server, options.concurrency) as client,
            _session(server, options.concurrency) as session,
        ):
            user_ids = await create_contacts(client, options.attempts, min(options.concurrency, 16))
            await _warm(session, options.concurrency)
            # A first, unmeasured rush: every server process has prepared its statements
            # (and the baseline's pool is new each run anyway).
            for waitlist in options.waitlist:
                warm_event = await create_event(
                    client, seats=options.seats // 10 or 1, waitlist=waitlist
                )
                await rush(
                    user_ids[: 2 * options.concurrency],
                    options.concurrency,
                    http_attempt(session, warm_event),
                )
            for round_ in range(1, options.rounds + 1):
                for waitlist in options.waitlist:
                    order = ["app", "bare"] if round_ % 2 else ["bare", "app"]
                    done: dict[str, Run] = {}
                    for system in order:
                        event_id = await create_event(
                            client, seats=options.seats, waitlist=waitlist
                        )
                        if system == "app":
                            attempts = await rush(
                                user_ids, options.concurrency, http_attempt(session, event_id)
                            )
                        elif backend == "postgres":
                            attempts = await asyncpg_baseline(
                                database,
                                event_id,
                                user_ids,
                                concurrency=options.concurrency,
                                connections=options.connections,
                            )
                        else:
                            attempts = await sqlite_baseline(
                                database, event_id, user_ids, concurrency=options.concurrency
                            )
                        name = app_name if system == "app" else bare_name
                        run = Run(backend, waitlist, name, round_, options.seats, attempts)
                        check_answers(run)
                        if system == "app":
                            await check_api(run, client, event_id)
                        check_sql(run, await sql_counts(database, event_id))
                        done[system] = run
                    bare = done["bare"].accepted_per_second
                    ratio = done["app"].accepted_per_second / bare if bare else None
                    print_run(done["app"], ratio)
                    print_run(done["bare"], None)
                    runs.extend([done["app"], done["bare"]])
            await uncontended(backend, options, database, server, client, session, user_ids)
    return runs


async def uncontended(
    backend: str,
    options: Options,
    database: Database,
    server: Server,
    client: httpx.AsyncClient,
    session: aiohttp.ClientSession,
    user_ids: list[str],
) -> None:
    """One registration at a time (nothing else in flight): the time the client waited,
    and the server's own time from its access log (``duration_ms``: the app from the
    first middleware to the last byte, without HTTP parsing); the bare baseline's one
    transaction per attempt, one at a time, beside it."""
    people = user_ids[: options.uncontended]
    event_id = await create_event(client, seats=len(people), waitlist=False)
    app = await rush(people, 1, http_attempt(session, event_id))
    server_ms = sorted(server_durations(server, f"{API}/events/{event_id}/registrations"))
    bare_event = await create_event(client, seats=len(people), waitlist=False)
    if backend == "postgres":
        bare = await asyncpg_baseline(database, bare_event, people, concurrency=1, connections=1)
    else:
        bare = await sqlite_baseline(database, bare_event, people, concurrency=1)
    for name, attempts in (("eventcrm (client)", app), ("bare (client)", bare)):
        if any(a.outcome != "registered" for a in attempts):
            raise SystemExit(f"uncontended {name}: not every attempt registered")
    print(f"{backend:8} uncontended, {len(people)} one at a time: median / p99 ms")
    for name, values in (
        ("eventcrm, server time", server_ms),
        ("eventcrm, at the client", sorted(1000 * a.latency for a in app)),
        (
            f"bare {'asyncpg' if backend == 'postgres' else 'sqlite3'}",
            sorted(1000 * a.latency for a in bare),
        ),
    ):
        p99 = values[nearest_rank(0.99, len(values))]
        print(f"{'':8} {name:30} {statistics.median(values):8.2f} {p99:8.2f}")


def server_durations(server: Server, path: str) -> list[float]:
    """``duration_ms`` of the server's access-log lines for POSTs to ``path``."""
    found = []
    for line in server.log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("method") == "POST" and entry.get("path") == path and "duration_ms" in entry:
            found.append(float(entry["duration_ms"]))
    return found


def _client(server: Server, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, limits=limits, timeout=120
    )


def _session(server: Server, concurrency: int) -> aiohttp.ClientSession:
    """The rush's own client (``http_attempt``): ``concurrency`` keep-alive connections."""
    return aiohttp.ClientSession(
        base_url=server.base_url,
        headers=server.headers,
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def _warm(session: aiohttp.ClientSession, concurrency: int) -> None:
    """Open every keep-alive connection before the first rush."""

    async def ping() -> None:
        async with session.get("/health/live") as response:
            await response.read()

    await asyncio.gather(*(ping() for _ in range(concurrency)))


def summarize(runs: list[Run]) -> None:
    print("\nmedians over rounds (ratio: median of the same-round ratios)")
    keys = sorted({(r.backend, r.waitlist) for r in runs}, key=lambda k: (k[0], not k[1]))
    for backend, waitlist in keys:
        mine = [r for r in runs if (r.backend, r.waitlist) == (backend, waitlist)]
        apps = [r for r in mine if r.system.startswith("eventcrm")]
        bares = [r for r in mine if not r.system.startswith("eventcrm")]
        ratios = [
            a.accepted_per_second / b.accepted_per_second
            for a, b in zip(apps, bares, strict=True)
            if b.accepted_per_second
        ]
        for group, ratio in ((apps, ratios), (bares, None)):
            print(
                f"{backend:8} {'on' if waitlist else 'off':8} {'all':5} {group[0].system:26}"
                f" {statistics.median(r.accepted_per_second for r in group):10.1f}"
                f" {statistics.median(r.latency_ms(0.5) for r in group):8.1f}"
                f" {statistics.median(r.latency_ms(0.99) for r in group):8.1f}"
                + (f" {statistics.median(ratio):5.2f}x" if ratio else "")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--attempts", type=int, default=500, help="one contact each")
    parser.add_argument("--concurrency", type=int, default=50, help="attempts in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="server processes (PostgreSQL)")
    parser.add_argument(
        "--connections", type=int, default=20, help="the asyncpg baseline's pool size"
    )
    parser.add_argument("--waitlist", choices=["on", "off", "both"], default="both")
    parser.add_argument(
        "--embedded-worker",
        action="store_true",
        help="send the confirmation emails from inside the server (off: they stay queued)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for eventcrm serve (repeatable)",
    )
    parser.add_argument(
        "--uncontended", type=int, default=100, help="registrations one at a time, at the end"
    )
    parser.add_argument("--smoke", action="store_true", help="a tiny run: 5 seats, 20 attempts")
    args = parser.parse_args()
    if args.smoke:
        args.seats, args.attempts, args.concurrency, args.rounds = 5, 20, 5, 1
        args.uncontended = 5
        args.connections = min(args.connections, 5)
    options = Options(
        seats=args.seats,
        attempts=args.attempts,
        concurrency=args.concurrency,
        rounds=args.rounds,
        connections=args.connections,
        workers=args.workers,
        waitlist={"on": [True], "off": [False], "both": [True, False]}[args.waitlist],
        embedded_worker=args.embedded_worker,
        server_env=parse_env(args.server_env),
        uncontended=min(args.uncontended, args.attempts),
    )
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    print(
        f"{options.attempts} attempts for {options.seats} seats, {options.concurrency} in flight;"
        f" {options.rounds} round(s)"
    )
    print(
        f"{'backend':8} {'waitlist':8} {'round':5} {'system':26} {'accepted/s':>10}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  checks"
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="eventcrm-rush-") as tmp:
        for backend in backends:
            runs.extend(asyncio.run(bench_backend(backend, options, Path(tmp))))
    summarize(runs)
    oversold = sum(r.oversold for r in runs)
    failed = sum(bool(r.failures) for r in runs)
    print(f"\nverified {len(runs)} runs: {oversold} oversold, {failed} with failed checks")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
