"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Everything the migrations create is declared here too, indexes included and
under the same names, so autogenerate sees no difference between these tables
and a migrated database (tests/storage/test_migrations.py holds it to that).

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


#: The empty-string default as SQL: the DDL is the same as ``server_default=""``, but
#: Alembic compares a plain ``""`` with SQLite's reflected ``''`` as a change.
EMPTY = sa.text("''")


def _audit() -> tuple[sa.Column[str], sa.Column[str]]:
    """Who created a row and who last changed it (an actor's label). Nullable:
    rows written before changes were recorded name nobody, and nothing sorts on them."""
    return (
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=True),
    )


def _text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False, server_default=EMPTY)


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
    sa.Column("email_opt_out", sa.Boolean, nullable=False, server_default=sa.false()),
    *_audit(),
)
# Case-insensitive uniqueness among contacts that have an email (none is '').
_HAS_EMAIL = sa.text("email <> ''")
sa.Index(
    "uq_users_email_lower",
    sa.func.lower(users.c.email),
    unique=True,
    sqlite_where=_HAS_EMAIL,
    postgresql_where=_HAS_EMAIL,
)
# (sort key, id): one index range scan per keyset page, filtered or not.
for _name in ("first_name", "last_name", "email", "job_title", "company", "city", "state"):
    sa.Index(f"ix_users_{_name}_lower", sa.func.lower(users.c[_name]), users.c.id)
for _name in ("created_at", "updated_at", "events_hosted", "events_attended"):
    sa.Index(f"ix_users_{_name}", users.c[_name], users.c.id)
# Trigram indexes serve `q` (substring search) on PostgreSQL only. Migration 0001
# qualifies the operator class with the schema pg_trgm lives in (``public``);
# unqualified, it resolves through the search_path, which always ends in ``public``.
for _name in ("first_name", "last_name", "email"):
    sa.Index(
        f"ix_users_{_name}_trgm",
        sa.func.lower(users.c[_name]).label(f"{_name}_lower"),
        postgresql_using="gin",
        postgresql_ops={f"{_name}_lower": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    _text("description", 2000),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    *_audit(),
)
sa.Index("uq_categories_name_lower", sa.func.lower(categories.c.name), unique=True)

email_templates = sa.Table(
    "email_templates",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    *_audit(),
)
sa.Index("uq_email_templates_name", email_templates.c.name, unique=True)

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    _text("description", 2000),
    #: The filter tree exactly as the client sent it (validated when saved).
    sa.Column("filter", sa.JSON, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    *_audit(),
)
sa.Index("uq_segments_name", segments.c.name, unique=True)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("slug", sa.String(120), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=EMPTY),
    sa.Column("start_at", UTCDateTime, nullable=False),
    sa.Column("end_at", UTCDateTime, nullable=False),
    _text("timezone", 64),
    _text("venue", 300),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("waitlist_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("category_id", sa.String(64), sa.ForeignKey("categories.id"), nullable=True),
    _text("organizer", 200),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("registered_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("waitlist_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("waitlist_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    # The database itself refuses to oversell, whatever the code above it does.
    sa.CheckConstraint("capacity IS NULL OR registered_count <= capacity", name="not_oversold"),
    sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    sa.CheckConstraint("registered_count >= 0 AND waitlist_count >= 0", name="counts_not_negative"),
    *_audit(),
)
# A slug is unique among live events only: a deleted event frees its slug.
_LIVE = sa.text("deleted_at IS NULL")
sa.Index(
    "uq_events_slug_live",
    events.c.slug,
    unique=True,
    sqlite_where=_LIVE,
    postgresql_where=_LIVE,
)
sa.Index("ix_events_start_at", events.c.start_at, events.c.id)
sa.Index("ix_events_created_at", events.c.created_at, events.c.id)
sa.Index("ix_events_title_lower", sa.func.lower(events.c.title), events.c.id)
sa.Index("ix_events_end_at", events.c.end_at)
sa.Index("ix_events_status", events.c.status)
sa.Index("ix_events_category_id", events.c.category_id)
sa.Index("ix_events_owner_id", events.c.owner_id)

registrations = sa.Table(
    "registrations",
    metadata,
    sa.Column(
        "event_id", sa.String(64), sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("waitlist_seq", sa.Integer, nullable=True),
    sa.Column("registered_at", UTCDateTime, nullable=False),
    sa.Column("promoted_at", UTCDateTime, nullable=True),
    sa.Column("checked_in_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("(status = 'waitlisted') = (waitlist_seq IS NOT NULL)", name="waitlist_seq"),
)
# Participants of an event, in the order they joined; and the waitlist in FIFO order.
sa.Index(
    "ix_registrations_event_joined",
    registrations.c.event_id,
    registrations.c.registered_at,
    registrations.c.user_id,
)
sa.Index(
    "uq_registrations_waitlist",
    registrations.c.event_id,
    registrations.c.waitlist_seq,
    unique=True,
)
sa.Index(
    "ix_registrations_user", registrations.c.user_id, registrations.c.role, registrations.c.status
)

#: The first successful response to a request with an Idempotency-Key (see api/idempotency.py).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    #: A digest of the caller and the route (method, template, path parameters).
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    #: [[name, value], ...] of the headers replayed (Location, Content-Type, ...).
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # The worker's purge walks expired keys in this order.
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    #: Stored lifecycle: draft -> queued (audience frozen) | cancelled.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column(
        "template_id",
        sa.String(64),
        sa.ForeignKey("email_templates.id", ondelete="SET NULL"),
        nullable=True,
    ),
    #: Inline content, or the template's content copied when the campaign is sent.
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("html", sa.Text, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("audience", sa.JSON, nullable=False),
    sa.Column("event_id", sa.String(64), nullable=True),
    #: Extra template variables fixed when queued (an event snapshot, what changed).
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("recipient_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("scheduled_at", UTCDateTime, nullable=True),
    sa.Column("queued_at", UTCDateTime, nullable=True),
    sa.Column("cancelled_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    *_audit(),
)
sa.Index("ix_campaigns_created_at", campaigns.c.created_at, campaigns.c.id)
sa.Index("ix_campaigns_template_id", campaigns.c.template_id)

deliveries = sa.Table(
    "deliveries",
    metadata,
    # Generated by the database: the audience is frozen by one INSERT ... SELECT.
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column(
        "campaign_id",
        sa.String(64),
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    #: The address when the audience was frozen (kept when the contact is deleted).
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(1000), nullable=True),
    #: queued: when it is due; sending: when the worker's lease runs out.
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    #: The claim (one per batch) that may record this delivery's outcome.
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("provider_message_id", sa.String(255), nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("campaign_id", "user_id"),
)
# Counts per status and `?status=failed` pages: an index range per campaign.
sa.Index(
    "ix_deliveries_campaign_status", deliveries.c.campaign_id, deliveries.c.status, deliveries.c.id
)
# The queue: only deliveries still to do are indexed, so claiming stays a short
# range scan however many sent rows accumulate.
_ACTIVE = sa.text("status IN ('queued', 'sending')")
sa.Index(
    "ix_deliveries_due",
    deliveries.c.next_attempt_at,
    deliveries.c.id,
    sqlite_where=_ACTIVE,
    postgresql_where=_ACTIVE,
)
# Deleting a contact sets user_id NULL here; without this index that is a scan.
sa.Index("ix_deliveries_user_id", deliveries.c.user_id)

#: API keys (see access/keys.py): the visible prefix and a digest of the secret.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("prefix", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    #: SHA-256 of the secret, hex; the key itself is never stored.
    sa.Column("secret_digest", sa.String(64), nullable=False),
    #: The contact an organizer key acts for.
    sa.Column(
        "user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
)
# The listing's order; and deleting a contact finds its keys without a scan.
sa.Index("ix_api_keys_created_at", api_keys.c.created_at, api_keys.c.prefix)
sa.Index("ix_api_keys_user_id", api_keys.c.user_id)
