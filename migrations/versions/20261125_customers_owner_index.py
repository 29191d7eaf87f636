"""customers: an index of each owner's records alone, for searches within a rep's scope

Revision ID: 20261125_customers_owner_index
Revises: 20261125_customers_list_indexes
Create Date: 2026-11-25 19:00:00

An index on ``owner_id`` alone ends in SQLite's rowid, so "this rep's records among these full-text
matches" is one seek per match (``owner_id = ? AND rowid = ?``). The composite owner indexes of
the previous revision end in another column, and SQLite read all of a rep's index entries
instead: 25 ms for a rep with 60,000 contacts and a prefix like ``wf``, a second for ``王``, per
query of the global search (bench/customers_search.py).
"""

from __future__ import annotations

from alembic import op

revision = "20261125_customers_owner_index"
down_revision = "20261125_customers_list_indexes"
branch_labels = None
depends_on = None

TABLES = ("accounts", "contacts")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_owner", table, ["owner_id"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_owner", table_name=table)
