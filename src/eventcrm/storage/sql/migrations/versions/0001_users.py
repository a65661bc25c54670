"""Users (CRM contacts) with the indexes behind filters, sorts and keyset pages.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from eventcrm.storage.sql.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_FOLDED_SORTS = ("first_name", "last_name", "job_title", "company", "city", "state")
_PLAIN_SORTS = ("created_at", "updated_at", "events_hosted", "events_attended")
_SEARCHED = ("first_name", "last_name", "email")


def _text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False, server_default="")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        _text("phone_number", 40),
        _text("avatar", 2083),
        _text("gender", 64),
        _text("job_title", 200),
        _text("company", 200),
        _text("city", 100),
        _text("state", 100),
        sa.Column("events_hosted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("events_attended", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    # Case-insensitive uniqueness; also serves equality filters and sorts on email.
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    # (sort key, id): one index range scan per keyset page, filtered or not.
    for name in _FOLDED_SORTS:
        op.create_index(f"ix_users_{name}_lower", "users", [sa.text(f"lower({name})"), "id"])
    for name in _PLAIN_SORTS:
        op.create_index(f"ix_users_{name}", "users", [name, "id"])
    if op.get_context().dialect.name == "postgresql":
        # Trigram indexes make `q` (substring search) fast on PostgreSQL.
        # In `public`, not the first schema on the search_path: an extension
        # lives once per database, and dropping a schema that holds it would
        # drop every other schema's trigram indexes with it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        ops_schema = (
            op.get_bind()
            .exec_driver_sql(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'"
            )
            .scalar_one()
        )
        for name in _SEARCHED:
            op.execute(
                f"CREATE INDEX ix_users_{name}_trgm ON users "
                f'USING gin (lower({name}) "{ops_schema}".gin_trgm_ops)'
            )


def downgrade() -> None:
    op.drop_table("users")
