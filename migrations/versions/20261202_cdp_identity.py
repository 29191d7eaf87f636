"""cdp: the identity graph: profiles, versioned identity links, merges, trait strategies and the
identity job's cursor over the event log

Revision ID: 20261202_cdp_identity
Revises: 20261202_customers_search_speed
Create Date: 2026-12-02 09:00:00

At most one link of an identifier is current: a partial unique index over (type, value) where
``valid_to`` is null, on SQLite and PostgreSQL alike (ADR 0010).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261202_cdp_identity"
down_revision = "20261202_customers_search_speed"
branch_labels = None
depends_on = None

_CURRENT = "valid_to IS NULL"


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, loopcrm.platform.db.UTCDateTime(timezone=True), nullable=nullable)


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "cdp_profiles",
        sa.Column("traits", sa.JSON(), nullable=False),
        sa.Column("trait_times", sa.JSON(), nullable=False),
        sa.Column("consent", sa.JSON(), nullable=False),
        _time("first_seen_at"),
        _time("last_seen_at"),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        _time("merged_at", nullable=True),
        *_record_columns(),
        sa.ForeignKeyConstraint(["merged_into"], ["cdp_profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cdp_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_profiles_merged_into", ["merged_into"], unique=False)

    op.create_table(
        "cdp_identity_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
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
    with op.batch_alter_table("cdp_identity_links", schema=None) as batch_op:
        batch_op.create_index(
            "uq_cdp_identity_links_current",
            ["type", "value"],
            unique=True,
            sqlite_where=sa.text(_CURRENT),
            postgresql_where=sa.text(_CURRENT),
        )
        batch_op.create_index("ix_cdp_identity_links_profile", ["profile_id", "type"], unique=False)
        batch_op.create_index("ix_cdp_identity_links_opened_by_merge", ["opened_by_merge_id"], unique=False)
        batch_op.create_index("ix_cdp_identity_links_closed_by_merge", ["closed_by_merge_id"], unique=False)

    op.create_table(
        "cdp_profile_merges",
        sa.Column("survivor_id", sa.String(length=36), nullable=False),
        sa.Column("merged_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        _time("merged_at"),
        sa.Column("survivor_before", sa.JSON(), nullable=False),
        sa.Column("merged_before", sa.JSON(), nullable=False),
        sa.Column("survivor_after", sa.JSON(), nullable=False),
        _time("undone_at", nullable=True),
        sa.Column("undone_by", sa.String(length=36), nullable=True),
        *_record_columns(),
        sa.ForeignKeyConstraint(["merged_id"], ["cdp_profiles.id"]),
        sa.ForeignKeyConstraint(["survivor_id"], ["cdp_profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cdp_profile_merges", schema=None) as batch_op:
        batch_op.create_index("ix_cdp_profile_merges_survivor", ["survivor_id"], unique=False)
        batch_op.create_index("ix_cdp_profile_merges_merged", ["merged_id"], unique=False)

    op.create_table(
        "cdp_trait_strategies",
        sa.Column("trait", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        _time("updated_at"),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("trait"),
    )
    op.create_table(
        "cdp_identity_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_sequence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("cdp_identity_cursors")
    op.drop_table("cdp_trait_strategies")
    with op.batch_alter_table("cdp_profile_merges", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_profile_merges_merged")
        batch_op.drop_index("ix_cdp_profile_merges_survivor")
    op.drop_table("cdp_profile_merges")
    with op.batch_alter_table("cdp_identity_links", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_identity_links_closed_by_merge")
        batch_op.drop_index("ix_cdp_identity_links_opened_by_merge")
        batch_op.drop_index("ix_cdp_identity_links_profile")
        batch_op.drop_index(
            "uq_cdp_identity_links_current",
            sqlite_where=sa.text(_CURRENT),
            postgresql_where=sa.text(_CURRENT),
        )
    op.drop_table("cdp_identity_links")
    with op.batch_alter_table("cdp_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_cdp_profiles_merged_into")
    op.drop_table("cdp_profiles")
