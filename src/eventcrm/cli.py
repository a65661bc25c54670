"""The ``eventcrm`` command line."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from eventcrm.bootstrap import database_location, migrate
from eventcrm.settings import Settings

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
) -> None:
    """Run the API server."""
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
    )


@db.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = Settings()
    migrate(settings, action="upgrade", revision=revision)
    typer.echo(f"upgraded {database_location(settings)} to {revision}")


@db.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    settings = Settings()
    migrate(settings, action="downgrade", revision=revision)
    typer.echo(f"downgraded {database_location(settings)} to {revision}")
