"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Optional text columns are NOT NULL with '' for "absent": it keeps every sort
key non-null, so keyset pagination is a plain index range scan on both
databases. Repositories map '' to None at the boundary.
"""

from __future__ import annotations

import sqlalchemy as sa

from eventcrm.storage.sql.types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False, server_default="")


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
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
)

#: Columns compared and sorted case-insensitively (through lower()).
USER_TEXT_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "gender",
    "job_title",
    "company",
    "city",
    "state",
    "id",
)
