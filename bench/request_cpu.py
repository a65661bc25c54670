"""CPU time per request inside the application, without HTTP parsing or a network.

    .venv/bin/python -m bench.request_cpu                      # PostgreSQL
    .venv/bin/python -m bench.request_cpu --backend sqlite --smoke
    .venv/bin/python -m bench.request_cpu --profile rush       # where the time goes

The app (``create_app``, with its lifespan) is called as an ASGI application by
``--concurrency`` tasks in this process, each request a minimal HTTP scope with
an API key; the database is a fresh one (bench/server.py). Three workloads:

- ``rush``: ``POST /events/{id}/registrations``, one contact each, all
  accepted (the seats outnumber the attempts);
- ``read``: ``GET /events/{id}`` with the event cache off (a database read each time);
- ``cached``: the same with the cache on (served from memory after the first).

Printed per workload: the process's CPU time (``time.process_time``, every
thread) divided by the requests, the median over ``--rounds`` rounds that
interleave the workloads (the machine is shared: rounds cancel some noise).
The database server's own CPU is not counted; the client's (building scopes,
collecting answers) is, and is small next to the application's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from bench.server import GENEROUS_LIMITS_ENV, BenchError, admin_key, fresh_database

API = "/api/v1"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Client:
    """Raw ASGI calls to one app."""

    def __init__(self, app: App, key: str) -> None:
        self._app = app
        self._auth = f"Bearer {key}".encode()

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        headers = [(b"host", b"bench"), (b"authorization", self._auth)]
        if body is not None:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("bench", 80),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # no disconnect while the request runs
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, send)
        return status, b"".join(chunks)

    async def created(self, path: str, body: Any) -> str:
        status, answer = await self.call("POST", path, body)
        if status != 201:
            raise BenchError(f"POST {path}: {status} {answer[:300]!r}")
        return str(json.loads(answer)["id"])


async def _lifespan(app: Any) -> Any:
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    return context


async def _measure(
    requests: Sequence[Callable[[], Awaitable[tuple[int, bytes]]]],
    concurrency: int,
    expected: int,
    profiler: Profiler | None,
) -> float:
    """CPU seconds per request over ``requests``, run ``concurrency`` at a time."""
    queue = iter(requests)
    bad: list[int] = []

    async def lane() -> None:
        for request in queue:
            status, _ = await request()
            if status != expected:
                bad.append(status)

    if profiler is not None:
        profiler.start()
    started = time.process_time()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    spent = time.process_time() - started
    if profiler is not None:
        profiler.stop()
    if bad:
        raise BenchError(f"{len(bad)} answers other than {expected}: {sorted(set(bad))}")
    return spent / len(requests)


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    from eventcrm.app import create_app
    from eventcrm.settings import Settings

    results: dict[str, list[float]] = {"rush": [], "read": [], "cached": []}
    # Samples the thread's stack whatever task runs: time spent per function, all requests.
    profiler = Profiler(interval=0.0005, async_mode="disabled") if args.profile else None
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.backend, Path(tmp)) as db:
        key = admin_key(db)
        apps = {}
        for name, ttl in (("uncached", "0"), ("cached", "600")):
            env = {**db.env, **GENEROUS_LIMITS_ENV, "EVENTCRM_EVENT_CACHE_TTL_SECONDS": ttl}
            env["EVENTCRM_LOG_LEVEL"] = "WARNING" if args.quiet_log else "INFO"
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                apps[name] = create_app(Settings())
            finally:
                os.environ.clear()
                os.environ.update(saved)
        contexts = [await _lifespan(app) for app in apps.values()]
        try:
            uncached = Client(apps["uncached"], key)
            cached = Client(apps["cached"], key)
            per_round = args.requests
            total = per_round * args.rounds + args.concurrency
            event_id = await uncached.created(
                f"{API}/events",
                {
                    "title": "CPU per request",
                    "description": "An event read many times over. " * 10,
                    "startAt": "2030-01-01T18:00:00Z",
                    "endAt": "2030-01-01T20:00:00Z",
                    "capacity": total + 10,
                    "status": "scheduled",
                },
            )
            contacts = [
                await uncached.created(
                    f"{API}/users",
                    {"firstName": f"P{i}", "lastName": "Cpu", "email": f"cpu{i}@example.com"},
                )
                for i in range(total)
            ]
            path = f"{API}/events/{event_id}"
            register = f"{path}/registrations"
            # Warm both apps (statement caches, the cached app's entry).
            for client in (uncached, cached):
                for _ in range(args.concurrency):
                    await client.call("GET", path)
            warm = contacts[: args.concurrency]
            await _measure(
                [partial(uncached.call, "POST", register, {"userId": u}) for u in warm],
                args.concurrency,
                201,
                None,
            )
            left = iter(contacts[args.concurrency :])
            workloads = ["rush", "read", "cached"]
            for round_ in range(args.rounds):
                order = workloads if round_ % 2 == 0 else workloads[::-1]
                for workload in order:
                    profiling = profiler if args.profile == workload else None
                    if workload == "rush":
                        batch = [next(left) for _ in range(per_round)]
                        requests = [
                            partial(uncached.call, "POST", register, {"userId": u}) for u in batch
                        ]
                        expected = 201
                    else:
                        client = uncached if workload == "read" else cached
                        requests = [partial(client.call, "GET", path)] * per_round
                        expected = 200
                    results[workload].append(
                        await _measure(requests, args.concurrency, expected, profiling)
                    )
        finally:
            for context in contexts:
                await context.__aexit__(None, None, None)
    if profiler is not None:
        text = profiler.output_text(show_all=args.flat, color=False, flat=args.flat)
        print(text)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--requests", type=int, default=2000, help="per workload and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="a quick, small run")
    parser.add_argument("--profile", choices=("rush", "read", "cached"))
    parser.add_argument("--flat", action="store_true", help="profile: time per function, flat")
    parser.add_argument(
        "--quiet-log", action="store_true", help="no access log lines (log level warning)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.rounds, args.concurrency = 50, 1, 5
    results = asyncio.run(run(args))
    # Standard output; the access log lines go to standard error.
    out = sys.stdout
    print(f"CPU per request ({args.backend}, {args.concurrency} in flight)", file=out)
    for workload, values in results.items():
        rounds = ", ".join(f"{v * 1e6:.0f}" for v in values)
        median = statistics.median(values) * 1e6
        print(f"  {workload:7} median {median:6.0f} µs ({rounds})", file=out)


if __name__ == "__main__":
    main()
