"""sales: assignment rules and availability of reps

Revision ID: 20261214_sales_assignment
Revises: 20261213_sales_orders
Create Date: 2026-12-14 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261214_sales_assignment"
down_revision = "20261213_sales_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_assignment_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("previous_owner_id", sa.String(length=36), nullable=True),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.String(length=36), nullable=True),
        sa.Column("rule_name", sa.String(length=200), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("assigned_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sales_assignment_history", schema=None) as batch_op:
        batch_op.create_index("ix_sales_assignment_history_owner", ["owner_id", "id"], unique=False)
        batch_op.create_index(
            "ix_sales_assignment_history_record", ["record_type", "record_id", "id"], unique=False
        )

    op.create_table(
        "sales_assignment_rules",
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("team_ids", sa.JSON(), nullable=False),
        sa.Column("fallback_user_id", sa.String(length=36), nullable=True),
        sa.Column("off_hours", sa.String(length=10), nullable=False),
        sa.Column("last_user_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["fallback_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sales_assignment_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_assignment_rules_type_position", ["record_type", "position"], unique=False
        )

    op.create_table(
        "sales_rep_availability",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("away_from", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("away_until", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("working_days", sa.JSON(), nullable=False),
        sa.Column("work_start", sa.Time(), nullable=True),
        sa.Column("work_end", sa.Time(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("sales_rep_availability")
    with op.batch_alter_table("sales_assignment_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_assignment_rules_type_position")
    op.drop_table("sales_assignment_rules")
    with op.batch_alter_table("sales_assignment_history", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_assignment_history_record")
        batch_op.drop_index("ix_sales_assignment_history_owner")
    op.drop_table("sales_assignment_history")
