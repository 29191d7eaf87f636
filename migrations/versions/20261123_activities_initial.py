"""activities: activities, their links to records, and the users taking part

Revision ID: 20261123_activities_initial
Revises: 20261123_platform_notifications
Create Date: 2026-11-23 12:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261123_activities_initial"
down_revision = "20261123_platform_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("call_direction", sa.String(length=16), nullable=True),
        sa.Column("call_duration_seconds", sa.Integer(), nullable=True),
        sa.Column("call_outcome", sa.String(length=20), nullable=True),
        sa.Column("meeting_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meeting_location", sa.String(length=300), nullable=True),
        sa.Column("email_from", sa.String(length=320), nullable=True),
        sa.Column("email_to", sa.JSON(), nullable=False),
        sa.Column("email_cc", sa.JSON(), nullable=False),
        sa.Column("email_delivery", sa.String(length=16), nullable=True),
        sa.Column("email_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_message_id", sa.String(length=255), nullable=True),
        sa.Column("email_error", sa.String(length=1000), nullable=True),
        sa.Column("task_assignee_id", sa.String(length=36), nullable=True),
        sa.Column("task_priority", sa.String(length=16), nullable=True),
        sa.Column("task_status", sa.String(length=16), nullable=True),
        sa.Column("task_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["task_assignee_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_owner_id", ["owner_id", "id"], unique=False)
        batch_op.create_index(
            "ix_activities_assignee_status_due",
            ["task_assignee_id", "task_status", "occurred_at"],
            unique=False,
        )
        batch_op.create_index("ix_activities_owner_occurred", ["owner_id", "occurred_at"], unique=False)

    op.create_table(
        "activity_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("activity_id", sa.String(length=36), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("is_attendee", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activity_links", schema=None) as batch_op:
        batch_op.create_index("ix_activity_links_activity_id", ["activity_id"], unique=False)
        batch_op.create_index(
            "ix_activity_links_timeline",
            ["subject_type", "subject_id", "occurred_at", "activity_id"],
            unique=False,
        )

    op.create_table(
        "activity_participants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("activity_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activity_participants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_participants_activity", ["activity_id", "role", "user_id"], unique=True
        )
        batch_op.create_index(
            "ix_activity_participants_user", ["user_id", "role", "activity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activity_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_participants_user")
        batch_op.drop_index("ix_activity_participants_activity")
    op.drop_table("activity_participants")

    with op.batch_alter_table("activity_links", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_links_timeline")
        batch_op.drop_index("ix_activity_links_activity_id")
    op.drop_table("activity_links")

    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_owner_occurred")
        batch_op.drop_index("ix_activities_assignee_status_due")
        batch_op.drop_index("ix_activities_owner_id")
    op.drop_table("activities")
