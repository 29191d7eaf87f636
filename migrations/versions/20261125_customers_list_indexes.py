"""customers: indexes for lists in a reader's scope and lists sorted by date

Revision ID: 20261125_customers_list_indexes
Revises: 20261125_customers_lookup
Create Date: 2026-11-25 15:00:00

``owner_id`` and ``team_id`` of accounts and contacts are indexed together with ``id``: a rep's
list, newest first (the default order, keyset-paged on ``id``), is then one index range read
backwards instead of every one of the rep's records sorted (90 ms for a rep with 60,000 contacts),
and "this rep's record with this id" (search by phone or email within a scope) is one lookup.
``created_at`` and ``updated_at`` are indexed for lists sorted by them, as the list pages offer,
and a rep's contacts by name and by creation, so a rep's sorted list reads its first page from
an index instead of sorting every contact the rep owns. Measured with bench/customers_search.py
(docs/benchmarks.md).
"""

from __future__ import annotations

from alembic import op

revision = "20261125_customers_list_indexes"
down_revision = "20261125_customers_lookup"
branch_labels = None
depends_on = None

TABLES = ("accounts", "contacts")


def upgrade() -> None:
    for table in TABLES:
        for column in ("owner_id", "team_id"):
            op.drop_index(f"ix_{table}_{column}", table_name=table)
            op.create_index(f"ix_{table}_{column}", table, [column, "id"], unique=False)
        for column in ("created_at", "updated_at"):
            op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
    for column in ("full_name", "created_at"):
        op.create_index(f"ix_contacts_owner_{column}", "contacts", ["owner_id", column], unique=False)


def downgrade() -> None:
    for column in ("full_name", "created_at"):
        op.drop_index(f"ix_contacts_owner_{column}", table_name="contacts")
    for table in TABLES:
        for column in ("created_at", "updated_at"):
            op.drop_index(f"ix_{table}_{column}", table_name=table)
        for column in ("owner_id", "team_id"):
            op.drop_index(f"ix_{table}_{column}", table_name=table)
            op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
