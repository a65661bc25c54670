"""``GET /api/v1/events/{id}`` at 64 connections: eventcrm (uncached and cached) next to
a bare Starlette endpoint running the same queries and one returning the same bytes.

    .venv/bin/python -m bench.read                       # PostgreSQL, full size
    .venv/bin/python -m bench.read --cached-env EVENTCRM_CACHE_…=… --uncached-env …
    .venv/bin/python -m bench.read --smoke --backend sqlite

Each system is its own server process tree, served by uvicorn with ``--workers``
processes (SQLite: eventcrm allows one), started for its measurement and stopped
after it, so only one holds database connections at a time. Rounds alternate the
order. The load comes from ``wrk`` (2 threads) when it is installed, else from an
httpx client pool in this process; either shares the machine's cores with the
servers. Printed: requests/second, p99 latency, and the ratios eventcrm
uncached / bare database endpoint and eventcrm cached / bare in-memory endpoint.

The cached variant is ``eventcrm serve`` with ``--cached-env`` settings (the
uncached one with ``--uncached-env``). Whether it really served from a cache is
read from the cache-hit counters at ``/metrics``; when there are none the
cached variant is skipped with a message, and an "uncached" variant that shows
cache hits is flagged. Every answer must be a 200: any other fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.rush import nearest_rank
from bench.server import (
    BenchError,
    Database,
    Server,
    eventcrm_serve,
    free_port,
    fresh_database,
    parse_env,
    running,
)

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[1]

UNCACHED, CACHED, BARE_DB, BARE_MEMORY = (
    "eventcrm, uncached",
    "eventcrm, cached",
    "bare Starlette + driver",
    "bare Starlette, memory",
)


@dataclass
class Load:
    requests_per_second: float
    p99_ms: float
    requests: int
    bad: int  # answers other than 200, and socket errors
    detail: str = ""


# --- Load generators -----------------------------------------------------------------
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, headers: dict[str, str], *, connections: int, seconds: float) -> Load:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    command += ["--timeout", "30s"]  # wrk's default (2 s) would count slow answers as errors
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad += sum(int(n) for n in errors.groups()) if errors else 0
    detail = "; ".join(re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out))
    return Load(rps, p99, total, bad, detail)


async def _httpx_load(
    url: str, headers: dict[str, str], *, connections: int, seconds: float
) -> Load:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    bad = 0
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + seconds

        async def lane() -> None:
            nonlocal bad
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    ok = (await client.get(url)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                bad += not ok

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = 1000 * latencies[nearest_rank(0.99, len(latencies))]
    return Load(len(latencies) / elapsed, p99, len(latencies), bad)


def load(url: str, headers: dict[str, str], *, connections: int, seconds: float) -> Load:
    if shutil.which("wrk"):
        return wrk(url, headers, connections=connections, seconds=seconds)
    return asyncio.run(_httpx_load(url, headers, connections=connections, seconds=seconds))


# --- The data: an event with an owner, a host and a category --------------------------
def create_event(server: Server) -> str:
    with httpx.Client(base_url=server.base_url, headers=server.headers) as client:

        def post(path: str, body: dict[str, object]) -> str:
            response = client.post(f"{API}{path}", json=body)
            if response.status_code != 201:
                raise BenchError(f"POST {path}: {response.status_code} {response.text}")
            return str(response.json()["id"])

        owner = post("/users", {"firstName": "Ada", "lastName": "L", "email": "ada@example.com"})
        host = post("/users", {"firstName": "Bob", "lastName": "B", "email": "bob@example.com"})
        category = post("/categories", {"name": "Talks"})
        return post(
            "/events",
            {
                "title": "Reading benchmark",
                "description": "An event read many times over. " * 10,
                "startAt": "2030-01-01T18:00:00Z",
                "endAt": "2030-01-01T20:00:00Z",
                "timezone": "Europe/Paris",
                "venue": "Main hall",
                "capacity": 100,
                "status": "scheduled",
                "ownerId": owner,
                "hostIds": [host],
                "categoryId": category,
            },
        )


def cache_hits(server: Server) -> float | None:
    """The sum of the cache-hit counters at /metrics (None: no such counter)."""
    response = httpx.get(server.base_url + "/metrics", headers=server.headers, timeout=10)
    if response.status_code != 200:
        return None
    found = None
    for line in response.text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = re.split(r"[{ ]", line, maxsplit=1)[0]
        labelled = line.lower()
        if "cache" in name and not name.endswith("_created") and "hit" in labelled:
            if "miss" in labelled:
                continue
            found = (found or 0.0) + float(line.rsplit(" ", 1)[-1])
    return found


# --- The servers ---------------------------------------------------------------------
@contextmanager
def bare(database: Database, factory: str, body: Path, workers: int) -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ)
    env["BENCH_READ_DSN"] = (
        database.asyncpg_dsn if database.backend == "postgres" else str(database.path)
    )
    env["BENCH_READ_SCHEMA"] = database.schema or ""
    env["BENCH_READ_BODY"] = str(body)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"bench.bare_read:{factory}",
        "--factory",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log = database.workdir / f"{factory}-{port}.log"
    with running(command, env=env, log=log, port=port, ready_path="/health", cwd=ROOT) as server:
        yield server


@dataclass
class Options:
    connections: int
    seconds: float
    warmup: float
    rounds: int
    workers: int
    cached_env: dict[str, str]
    uncached_env: dict[str, str]


@dataclass
class Target:
    """The event read, created by the first eventcrm server, and eventcrm's answer."""

    body: Path
    event_id: str | None = None


def measure(
    system: str, database: Database, target: Target, options: Options
) -> tuple[Load | None, str]:
    """One system's load; (None, why) when the cached variant has no cache to use."""
    workers = options.workers if database.backend == "postgres" else 1
    note = ""
    if system in (UNCACHED, CACHED):
        env = options.cached_env if system == CACHED else options.uncached_env
        context = eventcrm_serve(database, workers=workers, extra_env=env, name="read")
    else:
        factory = "database_app" if system == BARE_DB else "memory_app"
        context = bare(database, factory, target.body, workers)
    with context as server:
        if target.event_id is None:  # the first system measured is eventcrm
            target.event_id = create_event(server)
            first = f"{server.base_url}{API}/events/{target.event_id}"
            response = httpx.get(first, headers=server.headers)
            response.raise_for_status()
            target.body.write_bytes(response.content)
        url = f"{server.base_url}{API}/events/{target.event_id}"
        if options.warmup >= 1:
            load(url, server.headers, connections=options.connections, seconds=options.warmup)
        else:  # a smoke run: a few requests, enough to fill a cache
            for _ in range(5):
                httpx.get(url, headers=server.headers).raise_for_status()
        if system == BARE_DB and httpx.get(url).json() != json.loads(target.body.read_bytes()):
            note = "its document differs from eventcrm's"
        if system in (UNCACHED, CACHED):
            hits = cache_hits(server)
            if system == CACHED and not hits:
                return None, "no cache hits at /metrics: caching not available or not enabled"
            if system == UNCACHED and hits:
                note = f"served {hits:.0f} cache hits while warming: pass --uncached-env"
        return load(
            url, server.headers, connections=options.connections, seconds=options.seconds
        ), note


def bench_backend(backend: str, options: Options, workdir: Path) -> dict[str, list[Load]]:
    results: dict[str, list[Load]] = {}
    skipped: dict[str, str] = {}
    with fresh_database(backend, workdir / backend) as database:
        target = Target(database.workdir / "event.json")
        systems = [UNCACHED, CACHED, BARE_DB, BARE_MEMORY]
        for round_ in range(1, options.rounds + 1):
            shift = (round_ - 1) % len(systems)
            for system in systems[shift:] + systems[:shift]:
                if system in skipped:
                    continue
                result, note = measure(system, database, target, options)
                if result is None:
                    skipped[system] = note
                    print(f"{backend:8} {round_:5} {system:24} skipped: {note}", flush=True)
                    continue
                results.setdefault(system, []).append(result)
                verdict = "ok" if not result.bad else f"FAILED: {result.bad} bad ({result.detail})"
                print(
                    f"{backend:8} {round_:5} {system:24} {result.requests_per_second:9.0f}"
                    f" {result.p99_ms:8.1f}  {verdict}{'; ' + note if note else ''}",
                    flush=True,
                )
    return results


def summarize(backend: str, results: dict[str, list[Load]]) -> None:
    rps = {
        s: statistics.median(r.requests_per_second for r in loads) for s, loads in results.items()
    }
    p99 = {s: statistics.median(r.p99_ms for r in loads) for s, loads in results.items()}
    for system in (UNCACHED, CACHED, BARE_DB, BARE_MEMORY):
        if system not in rps:
            continue
        base = {UNCACHED: BARE_DB, CACHED: BARE_MEMORY}.get(system)
        ratio = f"{rps[system] / rps[base]:5.2f}x of {base}" if base in rps else ""
        print(f"{backend:8} {'all':5} {system:24} {rps[system]:9.0f} {p99[system]:8.1f}  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="postgres")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    for variant in ("cached", "uncached"):
        parser.add_argument(
            f"--{variant}-env",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=f"environment of the {variant} eventcrm serve (repeatable)",
        )
    parser.add_argument("--smoke", action="store_true", help="a tiny run: 1 s each, 8 connections")
    args = parser.parse_args()
    if args.smoke:
        args.connections, args.seconds, args.warmup, args.rounds = 8, 1.0, 0.0, 1
    options = Options(
        connections=args.connections,
        seconds=args.seconds,
        warmup=args.warmup,
        rounds=args.rounds,
        workers=args.workers,
        cached_env=parse_env(args.cached_env),
        uncached_env=parse_env(args.uncached_env),
    )
    generator = (
        "wrk -t2" if shutil.which("wrk") else "httpx (no wrk: the client limits the bare endpoints)"
    )
    print(
        f"GET {API}/events/{{id}}: {options.connections} connections, {generator},"
        f" {options.seconds:g} s per measurement, {options.rounds} round(s)"
    )
    print(f"{'backend':8} {'round':5} {'system':24} {'req/s':>9} {'p99 ms':>8}  checks")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="eventcrm-read-") as tmp:
        backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
        summaries = []
        for backend in backends:
            results = bench_backend(backend, options, Path(tmp))
            bad += sum(r.bad for loads in results.values() for r in loads)
            summaries.append((backend, results))
    print("\nmedians over rounds")
    for backend, results in summaries:
        summarize(backend, results)
    print(f"\n{bad} bad answers")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
