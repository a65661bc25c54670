"""The ``eventcrm`` command line."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from eventcrm.bootstrap import (
    build_container,
    build_worker,
    database_location,
    migrate,
    on_database,
)
from eventcrm.kit.logging import configure_logging
from eventcrm.settings import Settings
from eventcrm.storage.sql.migrate import show_current, show_history, write_revision

#: How ``eventcrm serve`` parses HTTP. httptools keeps a connection open after
#: an answer sent before the request body was read (a 413), where h11 closes
#: it, and refuses a request line or header block over 64 KiB itself, with a
#: plain-text 400 (``EVENTCRM_MAX_URL_BYTES`` stays below that, so URLs up to
#: it reach the app and get a problem+json 414).
SERVER_OPTIONS: dict[str, Any] = {"http": "httptools"}

app = typer.Typer(help="eventcrm: an events CRM backend.", no_args_is_help=True)
db = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db, name="db")


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
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter("SQLite allows one writer process; use --workers 1 or PostgreSQL.")
    if migrate_db if migrate_db is not None else settings.is_sqlite:
        migrate(settings)
    typer.echo(f"eventcrm: database at {database_location(settings)}", err=True)
    typer.echo(f"eventcrm: serving on http://{host}:{port} (docs at /docs)", err=True)
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
