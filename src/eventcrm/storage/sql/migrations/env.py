"""Alembic environment: runs on the connection handed over by eventcrm.storage.sql.migrate."""

from alembic import context

from eventcrm.storage.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `eventcrm db upgrade`, which supplies the connection.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
