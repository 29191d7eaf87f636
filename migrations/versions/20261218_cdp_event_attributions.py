"""cdp: events' profiles move from the log to cdp_event_attributions (ADR 0017)

The identity job inserts an attribution per event instead of updating the event, so the log is
append-only: on PostgreSQL each update wrote a new version of the event with an entry in all
five of its indexes. Existing attributions are copied, then the log's profile index and column
are dropped.

Revision ID: 20261218_cdp_event_attributions
Revises: 20261217_cdp_event_id_indexes
Create Date: 2026-12-18 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261218_cdp_event_attributions"
down_revision = "20261217_cdp_event_id_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cdp_event_attributions",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("timestamp", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
    )
    op.execute(
        "INSERT INTO cdp_event_attributions (sequence, profile_id, timestamp)"
        " SELECT sequence, profile_id, timestamp FROM cdp_events WHERE profile_id IS NOT NULL"
    )
    # After the copy: one index build instead of an entry per copied row.
    op.create_index(
        "ix_cdp_event_attributions_profile", "cdp_event_attributions", ["profile_id", "timestamp"]
    )
    op.drop_index("ix_cdp_events_profile_id", table_name="cdp_events")
    op.drop_column("cdp_events", "profile_id")


def downgrade() -> None:
    op.add_column("cdp_events", sa.Column("profile_id", sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE cdp_events SET profile_id = (SELECT profile_id FROM cdp_event_attributions"
        " WHERE cdp_event_attributions.sequence = cdp_events.sequence)"
    )
    op.create_index("ix_cdp_events_profile_id", "cdp_events", ["profile_id", "timestamp"])
    op.drop_index("ix_cdp_event_attributions_profile", table_name="cdp_event_attributions")
    op.drop_table("cdp_event_attributions")
