"""cdp: event sources, the append-only event log, dead letters and per-minute source counters

Revision ID: 20261201_cdp_events
Revises: 20261125_customers_owner_index
Create Date: 2026-12-01 09:00:00

The event log's ``sequence`` is the order the identity job consumes it in (ADR 0009); its
indexes serve per-person timelines (anonymous id, user id, later profile id, each with time)
and analytics by event name and time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261201_cdp_events"
down_revision = "20261125_customers_owner_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cdp_sources",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("write_key_digest", sa.String(length=64), nullable=False),
        sa.Column("write_key_prefix", sa.String(length=12), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("rate_limit_per_second", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("write_key_digest"),
    )
    op.create_table(
        "cdp_dead_letters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["cdp_sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cdp_dead_letters", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_dead_letters_source", ["source_id", "id"], unique=False)

    op.create_table(
        "cdp_events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("group_id", sa.String(length=255), nullable=True),
        sa.Column("previous_id", sa.String(length=255), nullable=True),
        sa.Column("profile_id", sa.String(length=36), nullable=True),
        sa.Column("timestamp", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("original_timestamp", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["cdp_sources.id"],
        ),
        sa.PrimaryKeyConstraint("sequence"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("source_id", "message_id", name="uq_cdp_events_source_message"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("cdp_events", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_events_anonymous_id", ["anonymous_id", "timestamp"], unique=False)
        batch_op.create_index("ix_cdp_events_event_timestamp", ["event", "timestamp"], unique=False)
        batch_op.create_index("ix_cdp_events_profile_id", ["profile_id", "timestamp"], unique=False)
        batch_op.create_index("ix_cdp_events_user_id", ["user_id", "timestamp"], unique=False)

    op.create_table(
        "cdp_source_minutes",
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("minute", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("deduplicated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["cdp_sources.id"],
        ),
        sa.PrimaryKeyConstraint("source_id", "minute"),
    )


def downgrade() -> None:
    op.drop_table("cdp_source_minutes")
    with op.batch_alter_table("cdp_events", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_events_user_id")
        batch_op.drop_index("ix_cdp_events_profile_id")
        batch_op.drop_index("ix_cdp_events_event_timestamp")
        batch_op.drop_index("ix_cdp_events_anonymous_id")

    op.drop_table("cdp_events")
    with op.batch_alter_table("cdp_dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_dead_letters_source")

    op.drop_table("cdp_dead_letters")
    op.drop_table("cdp_sources")
