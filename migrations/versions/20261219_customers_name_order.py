"""customers: name indexes that end in the id, a city's contacts newest first, and on PostgreSQL
the city beside the text vector

Revision ID: 20261219_customers_name_order
Revises: 20261218_cdp_event_attributions
Create Date: 2026-12-19 09:00:00

The global search takes its name candidates in the order ``name, id`` (``_name_beginnings``).
With an index on the name alone, both databases read every record whose name begins with the
query and sorted the ties by id: 6,029 rows for the pinyin initials ``hj`` at a million
contacts, 240 ms at p95 on SQLite. The indexes on ``contacts.full_name``, ``name_pinyin``,
``name_initials`` and ``accounts.name`` now end in ``id`` and keep their names: the first 100
candidates are the first 100 entries of the range.

``contacts (city, created_at, id)`` answers a city's contacts newest first from one range. A
manager's team holds a tenth of the contacts, so the read-ahead in creation order had to read
50,000 rows for a small city (116 ms at p95 on SQLite); the city's range, filtered by the team,
reads a few hundred.

PostgreSQL: the GIN index over ``contacts.search_vector`` becomes one over ``(city,
search_vector)`` (extension ``btree_gin``, shipped with PostgreSQL and trusted since 13, so the
database's owner may create it). A list filtered by city and searched (a surname in Shanghai,
sorted by name) fetched every match of the whole country to check its city: 37,000 pages and
210 ms for 王 at a million contacts; the two-column index finds the city's matches alone (7,700
pages, 35–48 ms). A multi-column GIN index serves a condition on any of its columns, so searches
without a city use it as before, at the same size (72 MB).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "20261219_customers_name_order"
down_revision = "20261218_cdp_event_attributions"
branch_labels = None
depends_on = None

NAME_INDEXES = (
    ("ix_contacts_full_name", "contacts", "full_name"),
    ("ix_contacts_name_pinyin", "contacts", "name_pinyin"),
    ("ix_contacts_name_initials", "contacts", "name_initials"),
    ("ix_accounts_name", "accounts", "name"),
)


def upgrade() -> None:
    for name, table, column in NAME_INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column, "id"], unique=False)
    op.create_index("ix_contacts_city_created_at", "contacts", ["city", "created_at", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        # The operator class named with the extension's schema: a database whose extension lives
        # in another schema than the tables' search path finds it all the same.
        schema = op.get_bind().scalar(
            text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'btree_gin'")
        )
        op.execute(
            "CREATE INDEX ix_contacts_city_search_vector ON contacts "
            f"USING gin (city {schema}.varchar_ops, search_vector)"
        )
        op.execute("DROP INDEX ix_contacts_search_vector")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: other objects may use it by now.
        op.execute("CREATE INDEX ix_contacts_search_vector ON contacts USING gin (search_vector)")
        op.execute("DROP INDEX ix_contacts_city_search_vector")
    op.drop_index("ix_contacts_city_created_at", table_name="contacts")
    for name, table, column in NAME_INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], unique=False)
