"""The ``eventcrm`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.core
import uvicorn
from alembic.util.exc import CommandError as AlembicError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventcrm.access.domain import Actor, ApiKey, Role
from eventcrm.access.schemas import ApiKeyCreate, ApiKeyListParams
from eventcrm.access.service import ApiKeyService, CreatedKey
from eventcrm.bootstrap import (
    build_backend_storage,
    build_container,
    build_worker,
    database_location,
    migrate,
    on_database,
    secret_key,
)
from eventcrm.errors import DomainError
from eventcrm.kit.clock import SystemClock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.logging import configure_logging
from eventcrm.settings import Settings
from eventcrm.storage.sql.migrate import run_blocking, show_current, show_history, write_revision

T = TypeVar("T")

#: Whoever runs the command line on the server is its operator.
OPERATOR = Actor(id="cli", role=Role.ADMIN, label="command line")

#: How ``eventcrm serve`` parses HTTP. httptools keeps a connection open after
#: an answer sent before the request body was read (a 413), where h11 closes
#: it, and refuses a request line or header block over 64 KiB itself, with a
#: plain-text 400 (``EVENTCRM_MAX_URL_BYTES`` stays below that, so URLs up to
#: it reach the app and get a problem+json 414).
SERVER_OPTIONS: dict[str, Any] = {"http": "httptools"}

#: Where ``serve`` tells its server processes (and their links) to live, when
#: ``EVENTCRM_PUBLIC_URL`` is not set: a wildcard address is no link, so it
#: becomes the loopback.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


#: Where the ``--debug`` option is kept for the whole command line (``click.Context.meta``).
_DEBUG = "eventcrm.debug"


class _OperatorErrors(typer.core.TyperGroup):
    """Turns an error no command handled into one line on stderr and exit status 1;
    ``--debug`` prints the traceback first."""

    def invoke(self, ctx: Any) -> Any:  # a Context of the click typer bundles
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):  # usage errors, exits
            raise
        except Exception as exc:
            if ctx.meta.get(_DEBUG):
                traceback.print_exc()
            typer.echo(f"eventcrm: error: {describe_error(exc)}", err=True)
            raise typer.Exit(code=1) from None


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong, in the operator's terms (settings by their
    variable names, the database's own words)."""
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            name = "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"EVENTCRM_{name}: {message}" if name else message)
        text = "invalid configuration: " + "; ".join(problems)
    elif isinstance(exc, DomainError):
        text = exc.detail
    elif isinstance(exc, AlembicError):
        text = f"migration: {exc}"
    elif isinstance(exc, DBAPIError):
        text = f"database: {exc.orig}"
    elif isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        text = f"could not connect to the database: {exc}"
    elif isinstance(exc, OSError | ValueError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (--debug shows the traceback)"
    return " ".join(text.split())


app = typer.Typer(
    cls=_OperatorErrors, help="eventcrm: an events CRM backend.", no_args_is_help=True
)
db = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db, name="db")
keys = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys, name="keys")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"eventcrm {version('eventcrm')}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error, not one line.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """eventcrm: an events CRM backend."""
    ctx.meta[_DEBUG] = debug


def _public_url(host: str, port: int) -> str:
    """The URL a server bound to ``host:port`` is reached at from this machine."""
    host = _WILDCARDS.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only).")] = 1,
    migrate_db: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate", help="Upgrade the schema first (default: on for SQLite)."
        ),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Send email from inside each server process (off: run `eventcrm worker`).",
        ),
    ] = True,
) -> None:
    """Run the API server."""
    # The server processes build their settings from the environment.
    os.environ["EVENTCRM_EMBEDDED_WORKER"] = "true" if worker else "false"
    settings = Settings()
    base_url = _public_url(host, port)
    if settings.public_url is None:  # links in email point at this server
        os.environ["EVENTCRM_PUBLIC_URL"] = base_url
        if host in _WILDCARDS:
            typer.echo(
                f"eventcrm: links in email point to {base_url}; set EVENTCRM_PUBLIC_URL "
                "to the address people reach this server at",
                err=True,
            )
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter("SQLite allows one writer process; use --workers 1 or PostgreSQL.")
    if workers > 1 and settings.redis_url is None:
        # Each process would cache event reads in its own memory, and a write
        # through one would not invalidate the others: shared only through Redis.
        os.environ["EVENTCRM_EVENT_CACHE_TTL_SECONDS"] = "0"
        os.environ["EVENTCRM_EVENT_LIST_CACHE_TTL_SECONDS"] = "0"
        typer.echo(
            "eventcrm: event reads are not cached with several processes and no EVENTCRM_REDIS_URL",
            err=True,
        )
    if migrate_db if migrate_db is not None else settings.is_sqlite:
        migrate(settings)
    typer.echo(f"eventcrm: database at {database_location(settings)}", err=True)
    _announce_first_admin_key(settings, base_url)
    typer.echo(f"eventcrm: serving on {base_url} (docs at /docs)", err=True)
    with _metrics_directory(workers):
        uvicorn.run(
            "eventcrm.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_config=None,
            **SERVER_OPTIONS,
        )


@contextlib.contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """Several server processes share their metrics through files (prometheus_client's
    multiprocess mode): in ``PROMETHEUS_MULTIPROC_DIR`` if set (emptied first, as
    the mode requires), else a new directory removed on exit. The processes
    start after this and find it in their environment; one process keeps its
    metrics in memory."""
    if workers <= 1:
        yield
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="eventcrm-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield
    finally:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)


def _announce_first_admin_key(settings: Settings, base_url: str) -> None:
    """On a database without any API key, create an administrator key and show it once."""
    try:
        created = _with_api_keys(settings, lambda service: service.create_first_admin_key())
    except DBAPIError as exc:  # not migrated yet (`--no-migrate`): say so, serve anyway
        typer.echo(f"eventcrm: could not look for API keys: {exc.orig!r}", err=True)
        return
    except DomainError as exc:  # the database is down: /health/ready will say so
        typer.echo(f"eventcrm: could not look for API keys: {exc.detail}", err=True)
        return
    if created is None:
        return
    docs = settings.docs_enabled and f" Open {base_url}/docs, press Authorize and paste it."
    typer.echo(
        "eventcrm: this database had no API key; created an administrator key. It is shown "
        f"this once (only its digest is stored), keep it now.{docs or ''}\n"
        f"  curl -H 'Authorization: Bearer <key>' {base_url}{settings.api_prefix}/users\n"
        f"{created.plaintext}"
    )


@app.command("worker")
def run_worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Messages in flight at once (default: settings)."),
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit once nothing is queued or being sent.")
    ] = False,
) -> None:
    """Send queued email: claim due deliveries, send them, record the outcome.

    Several workers may run at once on PostgreSQL. SIGTERM or Ctrl-C finishes
    the batch in hand and exits.
    """
    settings = Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    if settings.is_sqlite:
        migrate(settings)

    async def main() -> None:
        container = build_container(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await build_worker(container, concurrency=concurrency).run(stop, until_idle=until_idle)
        finally:
            await container.storage.close()

    typer.echo(f"eventcrm: worker on {database_location(settings)}", err=True)
    asyncio.run(main())


@db.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = Settings()
    migrate(settings, action="upgrade", revision=revision)
    typer.echo(f"upgraded {database_location(settings)} to {revision}")


# A relative revision such as -1 looks like an option to click: take unknown
# options as arguments, so `eventcrm db downgrade -1` works (and `-- -1` too).
@db.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1, 0002 or base")]) -> None:
    """Revert migrations down to REVISION."""
    settings = Settings()
    migrate(settings, action="downgrade", revision=revision)
    typer.echo(f"downgraded {database_location(settings)} to {revision}")


@db.command("current")
def db_current(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details.")] = False,
) -> None:
    """Show the database's revision (nothing when it has none yet)."""
    on_database(Settings(), lambda engine: show_current(engine, verbose=verbose))


@db.command("history")
def db_history(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details.")] = False,
) -> None:
    """List the revisions, newest first."""
    show_history(verbose=verbose)


@db.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate",
            help="Fill it in from the difference between the tables and the database.",
        ),
    ] = False,
) -> None:
    """Write a new revision file (a development command: the database must be at head)."""
    written: list[Path] = []

    async def revise(engine: AsyncEngine) -> None:
        path = await write_revision(engine, message=message, autogenerate=autogenerate)
        written.extend([path] if path else [])

    on_database(Settings(), revise)
    for path in written:
        typer.echo(f"wrote {path}")


# --- eventcrm keys ... -----------------------------------------------------------------


def _with_api_keys(settings: Settings, use: Callable[[ApiKeyService], Awaitable[T]]) -> T:
    """Run ``use`` with the API key service in one committed transaction (blocking)."""
    results: list[T] = []

    async def run() -> None:
        storage = build_backend_storage(settings)
        try:
            async with storage.unit_of_work(write=True) as uow:
                service = ApiKeyService(
                    uow=uow, clock=SystemClock(), cursors=CursorCodec(secret_key(settings))
                )
                results.append(await use(service))
                await uow.commit()
        finally:
            await storage.close()

    run_blocking(run())
    return results[0]


def _keys_settings() -> Settings:
    settings = Settings()
    if settings.is_sqlite:
        migrate(settings)
    return settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"eventcrm: {message}", err=True)
    return typer.Exit(code=1)


@keys.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="What the key may do.", case_sensitive=False)],
    user_id: Annotated[
        str | None, typer.Option(help="The contact an organizer key acts for (organizers only).")
    ] = None,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "created on the command line",
    expires_in: Annotated[
        int | None, typer.Option(min=1, max=36_500, help="Days until the key stops working.")
    ] = None,
) -> None:
    """Create an API key and print it: shown once, on the last line, never stored."""
    settings = _keys_settings()
    expires_at = SystemClock().now() + timedelta(days=expires_in) if expires_in else None
    try:
        data = ApiKeyCreate(name=name, role=role, user_id=user_id, expires_at=expires_at)
    except ValidationError as exc:
        raise _fail("; ".join(str(e["msg"]) for e in exc.errors())) from None
    try:
        created: CreatedKey = _with_api_keys(
            settings, lambda service: service.create(actor=OPERATOR, data=data)
        )
    except DomainError as exc:
        raise _fail(exc.detail) from None
    key = created.key
    typer.echo(f"created {key.role.value} key {key.prefix} ({key.name})", err=True)
    typer.echo("It is shown this once; only its digest is stored:", err=True)
    typer.echo(created.plaintext)


@keys.command("list")
def keys_list() -> None:
    """List the keys (never their secrets), oldest first."""
    settings = _keys_settings()

    async def every_key(service: ApiKeyService) -> list[ApiKey]:
        found: list[ApiKey] = []
        cursor: str | None = None
        while True:
            params = ApiKeyListParams(limit=100, cursor=cursor)
            page = await service.list(actor=OPERATOR, params=params)
            found.extend(page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    now = SystemClock().now()
    for key in _with_api_keys(settings, every_key):
        state = "revoked" if key.revoked_at else "expired" if not key.usable_at(now) else "active"
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        expires = key.expires_at.isoformat(timespec="seconds") if key.expires_at else "never"
        user = f" user={key.user_id}" if key.user_id else ""
        typer.echo(
            f"{key.prefix}  {key.role.value:<9} {state:<7} expires={expires} "
            f"last-used={used}{user}  {key.name}"
        )


@keys.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (ecrm_xxxxxxxx).")],
) -> None:
    """Revoke a key: it stops working at once."""
    settings = _keys_settings()
    try:
        _with_api_keys(settings, lambda service: service.revoke(actor=OPERATOR, prefix=prefix))
    except DomainError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"revoked {prefix}")
