"""sales: leads, lead scoring rules, web forms

Revision ID: 20261211_sales_leads
Revises: 20261210_sales_opportunities
Create Date: 2026-12-11 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261211_sales_leads"
down_revision = "20261210_sales_opportunities"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_lead_imports",
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("rejected_rows", sa.JSON(), nullable=False),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sales_lead_scoring_rules",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sales_lead_forms",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("required_fields", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("thank_you_message", sa.Text(), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("utm_campaign", sa.String(length=100), nullable=True),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_table(
        "sales_lead_form_submissions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("form_id", sa.String(length=36), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["sales_lead_forms.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sales_lead_form_submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_lead_form_submissions_form", ["form_id", "submitted_at"], unique=False
        )
        batch_op.create_index("ix_sales_lead_form_submissions_ip", ["ip", "submitted_at"], unique=False)

    op.create_table(
        "sales_leads",
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("industry", sa.String(length=40), nullable=True),
        sa.Column("province", sa.String(length=50), nullable=True),
        sa.Column("city", sa.String(length=50), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("source", sa.String(length=30), nullable=True),
        sa.Column("utm_campaign", sa.String(length=100), nullable=True),
        sa.Column("utm_medium", sa.String(length=100), nullable=True),
        sa.Column("utm_source", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disqualification_reason", sa.String(length=30), nullable=True),
        sa.Column("disqualification_note", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("activity_counts", sa.JSON(), nullable=False),
        sa.Column("form_id", sa.String(length=36), nullable=True),
        sa.Column("converted_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("converted_by", sa.String(length=36), nullable=True),
        sa.Column("converted_account_id", sa.String(length=36), nullable=True),
        sa.Column("converted_contact_id", sa.String(length=36), nullable=True),
        sa.Column("converted_opportunity_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sales_leads", schema=None) as batch_op:
        batch_op.create_index("ix_sales_leads_email", ["email"], unique=False)
        batch_op.create_index("ix_sales_leads_owner", ["owner_id", "id"], unique=False)
        batch_op.create_index("ix_sales_leads_phone", ["phone"], unique=False)
        batch_op.create_index("ix_sales_leads_score", ["score", "id"], unique=False)
        batch_op.create_index("ix_sales_leads_status", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sales_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_leads_status")
        batch_op.drop_index("ix_sales_leads_score")
        batch_op.drop_index("ix_sales_leads_phone")
        batch_op.drop_index("ix_sales_leads_owner")
        batch_op.drop_index("ix_sales_leads_email")

    op.drop_table("sales_leads")
    with op.batch_alter_table("sales_lead_form_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_lead_form_submissions_ip")
        batch_op.drop_index("ix_sales_lead_form_submissions_form")

    op.drop_table("sales_lead_form_submissions")
    op.drop_table("sales_lead_forms")
    op.drop_table("sales_lead_scoring_rules")
    op.drop_table("sales_lead_imports")
