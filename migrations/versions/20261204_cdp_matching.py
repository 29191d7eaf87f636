"""cdp: probabilistic matching runs, candidate pairs and the review queue

Revision ID: 20261204_cdp_matching
Revises: 20261203_cdp_profile_links
Create Date: 2026-12-04 09:00:00

One row per pair of profiles (ids in sorted order, unique), whose status remembers what was
decided: a rejected pair is never queued again (ADR 0012).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261204_cdp_matching"
down_revision = "20261203_cdp_profile_links"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, loopcrm.platform.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cdp_matching_runs",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("progress_percent", sa.Integer(), nullable=False),
        sa.Column("auto_merge_threshold", sa.Float(), nullable=False),
        sa.Column("review_threshold", sa.Float(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        _time("started_at", nullable=True),
        _time("finished_at", nullable=True),
        sa.Column("profile_count", sa.Integer(), nullable=False),
        sa.Column("compared_pairs", sa.Integer(), nullable=False),
        sa.Column("merged_count", sa.Integer(), nullable=False),
        sa.Column("queued_count", sa.Integer(), nullable=False),
        sa.Column("refused_count", sa.Integer(), nullable=False),
        sa.Column("remembered_count", sa.Integer(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cdp_matching_runs", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_matching_runs_status", ["status"], unique=False)

    op.create_table(
        "cdp_match_candidates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("left_profile_id", sa.String(length=36), nullable=False),
        sa.Column("right_profile_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("reason_detail", sa.String(length=1000), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("merge_id", sa.String(length=36), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        _time("decided_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["run_id"], ["cdp_matching_runs.id"]),
        sa.ForeignKeyConstraint(["left_profile_id"], ["cdp_profiles.id"]),
        sa.ForeignKeyConstraint(["right_profile_id"], ["cdp_profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("left_profile_id", "right_profile_id", name="uq_cdp_match_candidates_pair"),
    )
    with op.batch_alter_table("cdp_match_candidates", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_match_candidates_queue", ["status", "match_weight", "id"], unique=False)
        batch_op.create_index("ix_cdp_match_candidates_right", ["right_profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cdp_match_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_match_candidates_right")
        batch_op.drop_index("ix_cdp_match_candidates_queue")
    op.drop_table("cdp_match_candidates")
    with op.batch_alter_table("cdp_matching_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_matching_runs_status")
    op.drop_table("cdp_matching_runs")
