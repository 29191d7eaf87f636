"""customers: import runs, the outcome of their rows, and remembered column mappings

Revision ID: 20261124_customers_imports
Revises: 20261124_customers_merges
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261124_customers_imports"
down_revision = "20261124_customers_merges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_import_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("record_kind", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("upsert_key", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("reversed_count", sa.Integer(), nullable=False),
        sa.Column("undo_skipped_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=36), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_import_runs", schema=None) as batch_op:
        batch_op.create_index("ix_customer_import_runs_created_by", ["created_by", "id"], unique=False)

    op.create_table(
        "customer_import_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.Column("record_version", sa.Integer(), nullable=True),
        sa.Column("cells", sa.JSON(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("undo_outcome", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["customer_import_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_import_rows", schema=None) as batch_op:
        batch_op.create_index("ix_customer_import_rows_run_row", ["run_id", "row_number"], unique=False)
        batch_op.create_index("ix_customer_import_rows_record", ["record_id"], unique=False)

    op.create_table(
        "customer_import_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("record_kind", sa.String(length=10), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("upsert_key", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "record_kind", "signature"),
    )


def downgrade() -> None:
    op.drop_table("customer_import_mappings")
    with op.batch_alter_table("customer_import_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_import_rows_record")
        batch_op.drop_index("ix_customer_import_rows_run_row")
    op.drop_table("customer_import_rows")
    with op.batch_alter_table("customer_import_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_import_runs_created_by")
    op.drop_table("customer_import_runs")
