"""customers: indexes that keep searches, lists and imports fast at a million contacts

Revision ID: 20261125_customers_lookup
Revises: 20261123_customers_search
Create Date: 2026-11-25 09:00:00

``contact_points (kind, search_key)`` becomes ``(kind, search_key, record_kind, record_id)``.
Every lookup of a phone or email (search, list filters, duplicate warnings, import upserts)
also says ``record_kind = ?`` and reads ``record_id``. Without statistics, SQLite's planner
preferred ``ix_contact_points_record (record_kind, …)`` for ``kind = ? AND search_key = ? AND
record_kind = ?``, a scan of every contact's phones and emails (50 ms at 100,000 contacts, per
duplicate check of every imported row). With the two columns added the lookup is answered from
the index alone on both databases (bench/customers_search.py, bench/customers_import.py).
"""

from __future__ import annotations

from alembic import op

revision = "20261125_customers_lookup"
down_revision = "20261123_customers_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contact_points_search_key", table_name="contact_points")
    op.create_index(
        "ix_contact_points_search_key",
        "contact_points",
        ["kind", "search_key", "record_kind", "record_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_points_search_key", table_name="contact_points")
    op.create_index("ix_contact_points_search_key", "contact_points", ["kind", "search_key"], unique=False)
