"""sales: win-probability model and sales targets

Revision ID: 20261215_sales_forecasting
Revises: 20261214_sales_assignment
Create Date: 2026-12-15 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261215_sales_forecasting"
down_revision = "20261214_sales_assignment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_win_counts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=36), nullable=False),
        sa.Column("feature", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "feature", "value", name="uq_sales_win_counts_key"),
    )
    op.create_table(
        "sales_win_model_settings",
        sa.Column("attribute_names", sa.JSON(), nullable=False),
        sa.Column("min_team_closed", sa.Integer(), nullable=False),
        sa.Column("min_global_closed", sa.Integer(), nullable=False),
        sa.Column("rebuilt_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sales_targets",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "month", name="uq_sales_targets_user_month"),
    )
    with op.batch_alter_table("sales_targets", schema=None) as batch_op:
        batch_op.create_index("ix_sales_targets_month", ["month"], unique=False)
    op.create_table(
        "sales_win_observations",
        sa.Column("opportunity_id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("observed_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["sales_opportunities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("opportunity_id"),
    )


def downgrade() -> None:
    op.drop_table("sales_win_observations")
    with op.batch_alter_table("sales_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_targets_month")
    op.drop_table("sales_targets")
    op.drop_table("sales_win_model_settings")
    op.drop_table("sales_win_counts")
