"""Contacts without an email: the email stays unique (case-insensitively) among the
contacts that have one. A missing email is stored as '' like every optional text,
so the unique index becomes partial, and sorting by email gets its own
``(lower(email), id)`` index like the other sort keys.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_HAS_EMAIL = sa.text("email <> ''")


def upgrade() -> None:
    op.drop_index("uq_users_email_lower", table_name="users")
    op.create_index(
        "uq_users_email_lower",
        "users",
        [sa.text("lower(email)")],
        unique=True,
        sqlite_where=_HAS_EMAIL,
        postgresql_where=_HAS_EMAIL,
    )
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)"), "id"])


def downgrade() -> None:
    # Contacts without an email cannot satisfy the older rule (one '' at most):
    # give each of them a unique placeholder address before the index returns.
    op.execute("UPDATE users SET email = id || '@no-email.invalid' WHERE email = ''")
    op.drop_index("ix_users_email_lower", table_name="users")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
