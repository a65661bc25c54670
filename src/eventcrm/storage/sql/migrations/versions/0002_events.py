"""Categories, events, registrations (with waitlists) and idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from eventcrm.storage.sql.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False, server_default="")


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        _text("description", 2000),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_categories"),
    )
    op.create_index("uq_categories_name_lower", "categories", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "events",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("end_at", UTCDateTime, nullable=False),
        _text("timezone", 64),
        _text("venue", 300),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("waitlist_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category_id", sa.String(64), nullable=True),
        _text("organizer", 200),
        sa.Column("owner_id", sa.String(64), nullable=True),
        sa.Column("registered_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("waitlist_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("waitlist_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name="fk_events_category_id_categories"
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_events_owner_id_users"),
        sa.CheckConstraint("capacity IS NULL OR registered_count <= capacity", name="not_oversold"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint(
            "registered_count >= 0 AND waitlist_count >= 0", name="counts_not_negative"
        ),
    )
    # A slug is unique among live events only: a deleted event frees its slug.
    op.create_index(
        "uq_events_slug_live",
        "events",
        ["slug"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_events_start_at", "events", ["start_at", "id"])
    op.create_index("ix_events_created_at", "events", ["created_at", "id"])
    op.create_index("ix_events_title_lower", "events", [sa.text("lower(title)"), "id"])
    op.create_index("ix_events_end_at", "events", ["end_at"])
    op.create_index("ix_events_status", "events", ["status"])
    op.create_index("ix_events_category_id", "events", ["category_id"])
    op.create_index("ix_events_owner_id", "events", ["owner_id"])

    op.create_table(
        "registrations",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("waitlist_seq", sa.Integer, nullable=True),
        sa.Column("registered_at", UTCDateTime, nullable=False),
        sa.Column("promoted_at", UTCDateTime, nullable=True),
        sa.Column("checked_in_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("event_id", "user_id", name="pk_registrations"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_registrations_event_id_events", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_registrations_user_id_users", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_seq IS NOT NULL)",
            name="waitlist_seq",
        ),
    )
    # Participants of an event, in the order they joined; and the waitlist in FIFO order.
    op.create_index(
        "ix_registrations_event_joined", "registrations", ["event_id", "registered_at", "user_id"]
    )
    op.create_index(
        "uq_registrations_waitlist", "registrations", ["event_id", "waitlist_seq"], unique=True
    )
    op.create_index("ix_registrations_user", "registrations", ["user_id", "role", "status"])

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("registrations")
    op.drop_table("events")
    op.drop_table("categories")
