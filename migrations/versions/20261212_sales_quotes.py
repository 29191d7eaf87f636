"""sales: products, price lists, quotes and their lines

Revision ID: 20261212_sales_quotes
Revises: 20261211_sales_leads
Create Date: 2026-12-12 09:00:00

The catalogue (products, price lists per currency and customer tag, their prices), the quotes'
settings (approval threshold) and yearly number counter, quote versions with their lines, and the
hashed tokens of quotes' public links.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261212_sales_quotes"
down_revision = "20261211_sales_leads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_price_lists",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_tag_id", sa.String(length=36), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sales_price_lists_currency", "sales_price_lists", ["currency", "is_active"], unique=False
    )
    op.create_table(
        "sales_products",
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_tax_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku"),
    )
    op.create_table(
        "sales_quote_numbers",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "sales_quote_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approval_threshold_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("default_validity_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sales_price_list_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("price_list_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.ForeignKeyConstraint(["price_list_id"], ["sales_price_lists.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["sales_products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("price_list_id", "product_id", name="uq_sales_price_list_entries_pair"),
    )
    op.create_index(
        op.f("ix_sales_price_list_entries_product_id"),
        "sales_price_list_entries",
        ["product_id"],
        unique=False,
    )
    op.create_table(
        "sales_quotes",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("previous_version_id", sa.String(length=36), nullable=True),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("opportunity_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("account_name", sa.String(length=200), nullable=True),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("price_list_id", sa.String(length=36), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("discount_total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("tax_total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("max_discount_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("submitted_by", sa.String(length=36), nullable=True),
        sa.Column("submitted_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approval_decided_by", sa.String(length=36), nullable=True),
        sa.Column("approval_decided_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approval_note", sa.Text(), nullable=True),
        sa.Column("sent_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["sales_opportunities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["sales_quotes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["sales_price_lists.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", "version_number", name="uq_sales_quotes_number_version"),
    )
    op.create_index("ix_sales_quotes_opportunity", "sales_quotes", ["opportunity_id"], unique=False)
    op.create_index("ix_sales_quotes_owner", "sales_quotes", ["owner_id", "id"], unique=False)
    op.create_index("ix_sales_quotes_status", "sales_quotes", ["status", "valid_until"], unique=False)
    op.create_table(
        "sales_quote_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("sku", sa.String(length=60), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("discount_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("tax_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("line_subtotal", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("discount_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("net_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("tax_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("line_total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["sales_products.id"],
        ),
        sa.ForeignKeyConstraint(["quote_id"], ["sales_quotes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sales_quote_lines_quote", "sales_quote_lines", ["quote_id", "position"], unique=False)
    op.create_table(
        "sales_quote_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("created_at", loopcrm.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["quote_id"], ["sales_quotes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_sales_quote_links_quote_id"), "sales_quote_links", ["quote_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sales_quote_links")
    op.drop_index("ix_sales_quote_lines_quote", table_name="sales_quote_lines")
    op.drop_table("sales_quote_lines")
    op.drop_index("ix_sales_quotes_status", table_name="sales_quotes")
    op.drop_index("ix_sales_quotes_owner", table_name="sales_quotes")
    op.drop_index("ix_sales_quotes_opportunity", table_name="sales_quotes")
    op.drop_table("sales_quotes")
    op.drop_index("ix_sales_price_list_entries_product_id", table_name="sales_price_list_entries")
    op.drop_table("sales_price_list_entries")
    op.drop_table("sales_quote_settings")
    op.drop_table("sales_quote_numbers")
    op.drop_table("sales_products")
    op.drop_index("ix_sales_price_lists_currency", table_name="sales_price_lists")
    op.drop_table("sales_price_lists")
