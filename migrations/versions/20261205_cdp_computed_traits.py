"""cdp: computed traits per profile and erasure records

Revision ID: 20261205_cdp_computed_traits
Revises: 20261204_cdp_matching
Create Date: 2026-12-05 09:00:00

The computed-traits consumer's cursor, its per-profile aggregates (events per day, name and
channel; first and last event; orders) and the records of data-subject erasures (ids and counts
only, no personal data).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261205_cdp_computed_traits"
down_revision = "20261204_cdp_matching"
branch_labels = None
depends_on = None

_LARGE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, loopcrm.platform.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cdp_computed_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_sequence", _LARGE, nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "cdp_profile_event_days",
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("count", _LARGE, nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "day", "type", "name", "channel"),
    )
    with op.batch_alter_table("cdp_profile_event_days", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_profile_event_days_name_day", ["type", "name", "day"], unique=False)
    op.create_table(
        "cdp_profile_activity",
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        _time("first_event_at"),
        _time("last_event_at"),
        sa.Column("event_count", _LARGE, nullable=False),
        sa.PrimaryKeyConstraint("profile_id"),
    )
    op.create_table(
        "cdp_profile_orders",
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", _LARGE, nullable=False),
        _time("ordered_at"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "origin", "order_key"),
    )
    with op.batch_alter_table("cdp_profile_orders", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_profile_orders_ordered_at", ["ordered_at"], unique=False)
    op.create_table(
        "cdp_erasures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("profile_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        _time("erased_at"),
        sa.Column("erased_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cdp_erasures", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_erasures_profile", ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cdp_erasures", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_erasures_profile")
    op.drop_table("cdp_erasures")
    with op.batch_alter_table("cdp_profile_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_profile_orders_ordered_at")
    op.drop_table("cdp_profile_orders")
    op.drop_table("cdp_profile_activity")
    with op.batch_alter_table("cdp_profile_event_days", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_profile_event_days_name_day")
    op.drop_table("cdp_profile_event_days")
    op.drop_table("cdp_computed_cursors")
