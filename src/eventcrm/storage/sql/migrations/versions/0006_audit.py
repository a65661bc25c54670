"""Who created and who last changed each contact, event, category, email
template, segment and campaign (an actor's label; NULL for older rows).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("users", "categories", "email_templates", "segments", "events", "campaigns")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("created_by", sa.String(200), nullable=True))
        op.add_column(table, sa.Column("updated_by", sa.String(200), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "updated_by")
        op.drop_column(table, "created_by")
