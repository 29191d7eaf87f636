"""sales: covering indexes for the dashboard's stage conversion and time in stage

Revision ID: 20261216_sales_dashboard_indexes
Revises: 20261215_sales_forecasting
Create Date: 2026-12-16 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "20261216_sales_dashboard_indexes"
down_revision = "20261215_sales_forecasting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sales_stage_changes_opportunity", table_name="sales_stage_changes")
    op.drop_index("ix_sales_stage_changes_pipeline_time", table_name="sales_stage_changes")
    op.create_index(
        "ix_sales_stage_changes_opportunity",
        "sales_stage_changes",
        ["opportunity_id", "changed_at", "to_stage_id", "pipeline_id"],
    )
    op.create_index(
        "ix_sales_stage_changes_pipeline_time",
        "sales_stage_changes",
        ["pipeline_id", "changed_at", "from_stage_id", "seconds_in_previous_stage", "opportunity_id"],
    )
    op.create_index("ix_sales_opportunities_created", "sales_opportunities", ["created_at", "deleted_at"])


def downgrade() -> None:
    op.drop_index("ix_sales_opportunities_created", table_name="sales_opportunities")
    op.drop_index("ix_sales_stage_changes_pipeline_time", table_name="sales_stage_changes")
    op.drop_index("ix_sales_stage_changes_opportunity", table_name="sales_stage_changes")
    op.create_index(
        "ix_sales_stage_changes_pipeline_time", "sales_stage_changes", ["pipeline_id", "changed_at"]
    )
    op.create_index(
        "ix_sales_stage_changes_opportunity", "sales_stage_changes", ["opportunity_id", "changed_at"]
    )
