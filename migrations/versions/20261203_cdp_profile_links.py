"""cdp: profiles linked to CRM contacts and accounts (filled in by the contact-linking work)

Contact links are identity links of type ``crm_contact`` (no table of their own); group
memberships get a versioned table like identity links; the contact feed keeps a change-time
cursor; the contact-creation rule finds recent email and phone links by (type, valid_from); the
one-current-owner index leads with the value (faster lookups of many values).

Revision ID: 20261203_cdp_profile_links
Revises: 20261202_cdp_identity
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261203_cdp_profile_links"
down_revision = "20261202_cdp_identity"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, loopcrm.platform.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cdp_group_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        _time("first_seen_at"),
        _time("valid_from"),
        _time("valid_to", nullable=True),
        sa.Column("opened_by", sa.String(length=16), nullable=False),
        sa.Column("closed_by", sa.String(length=16), nullable=True),
        sa.Column("opened_by_merge_id", sa.String(length=36), nullable=True),
        sa.Column("closed_by_merge_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["profile_id"], ["cdp_profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cdp_group_links", schema=None) as batch_op:
        batch_op.create_index(
            "uq_cdp_group_links_current",
            ["profile_id", "group_id"],
            unique=True,
            sqlite_where=sa.text("valid_to IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL"),
        )
        batch_op.create_index("ix_cdp_group_links_group", ["group_id"], unique=False)
        batch_op.create_index("ix_cdp_group_links_opened_by_merge", ["opened_by_merge_id"], unique=False)
        batch_op.create_index("ix_cdp_group_links_closed_by_merge", ["closed_by_merge_id"], unique=False)
    with op.batch_alter_table("cdp_identity_links", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_identity_links_type_valid_from", ["type", "valid_from"], unique=False)
        # One current owner per identifier, now with the value first (see the model).
        batch_op.drop_index("uq_cdp_identity_links_current")
        batch_op.create_index(
            "uq_cdp_identity_links_current",
            ["value", "type"],
            unique=True,
            sqlite_where=sa.text("valid_to IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL"),
        )
    with op.batch_alter_table("cdp_identity_cursors", schema=None) as batch_op:
        batch_op.add_column(_time("last_changed_at", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdp_identity_cursors", schema=None) as batch_op:
        batch_op.drop_column("last_changed_at")
    with op.batch_alter_table("cdp_identity_links", schema=None) as batch_op:
        batch_op.drop_index("uq_cdp_identity_links_current")
        batch_op.create_index(
            "uq_cdp_identity_links_current",
            ["type", "value"],
            unique=True,
            sqlite_where=sa.text("valid_to IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL"),
        )
        batch_op.drop_index("ix_cdp_identity_links_type_valid_from")
    with op.batch_alter_table("cdp_group_links", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_group_links_closed_by_merge")
        batch_op.drop_index("ix_cdp_group_links_opened_by_merge")
        batch_op.drop_index("ix_cdp_group_links_group")
        batch_op.drop_index("uq_cdp_group_links_current")
    op.drop_table("cdp_group_links")
