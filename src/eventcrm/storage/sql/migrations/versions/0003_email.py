"""Email: templates, segments, campaigns, the per-recipient delivery ledger, opt-out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from eventcrm.storage.sql.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('queued', 'sending')")


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("email_opt_out", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "email_templates",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_templates"),
    )
    op.create_index("uq_email_templates_name", "email_templates", ["name"], unique=True)
    op.create_table(
        "segments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column("filter", sa.JSON, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segments"),
    )
    op.create_index("uq_segments_name", "segments", ["name"], unique=True)
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("html", sa.Text, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("audience", sa.JSON, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("recipient_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("scheduled_at", UTCDateTime, nullable=True),
        sa.Column("queued_at", UTCDateTime, nullable=True),
        sa.Column("cancelled_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name="fk_campaigns_template_id_email_templates",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_campaigns_created_at", "campaigns", ["created_at", "id"])
    op.create_index("ix_campaigns_template_id", "campaigns", ["template_id"])
    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("claim_token", sa.String(64), nullable=True),
        sa.Column("provider_message_id", sa.String(255), nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_deliveries_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_deliveries_user_id_users", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("campaign_id", "user_id", name="uq_deliveries_campaign_id_user_id"),
    )
    # Counts per status and `?status=failed` pages: an index range per campaign.
    op.create_index("ix_deliveries_campaign_status", "deliveries", ["campaign_id", "status", "id"])
    # The queue: only deliveries still to do are indexed, so claiming stays a
    # short range scan however many millions of sent rows accumulate.
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at", "id"],
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    # Deleting a contact sets user_id NULL here; without this index that is a scan.
    op.create_index("ix_deliveries_user_id", "deliveries", ["user_id"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("campaigns")
    op.drop_table("segments")
    op.drop_table("email_templates")
    op.drop_column("users", "email_opt_out")
