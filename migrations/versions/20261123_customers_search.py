"""customers: full-text search indexes over accounts and contacts

Revision ID: 20261123_customers_search
Revises: 20261124_customers_imports
Create Date: 2026-11-23 18:00:00

SQLite: one FTS5 external-content table per record table (``accounts_search``,
``contacts_search``) over ``search_text``, kept in step by triggers. The FTS row of a record is
the record's rowid, so a later migration that rebuilds ``accounts`` or ``contacts`` (alembic's
batch mode copies the table, which drops its triggers and may renumber rowids) must call
``create_sqlite_search_index`` again — copy it — and rebuild the index. The search tests fail
loudly if the triggers are gone.

PostgreSQL: a GIN index over ``to_tsvector('simple', search_text)``; queries must spell the
expression exactly so (see ``loopcrm.modules.customers.service.search``).

Stored search texts are recomputed: they no longer hold emails and WeChat ids, which are
internal fields and must not be found by readers who cannot see them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261123_customers_search"
down_revision = "20261124_customers_imports"
branch_labels = None
depends_on = None

TABLES = ("accounts", "contacts")
# Index at most this many rows per statement when recomputing search texts.
BATCH_SIZE = 2000


def create_sqlite_search_index(table: str) -> None:
    """The FTS5 table of ``table`` and the triggers keeping it in step, then a full rebuild.

    ``unicode61`` keeps a run of Hanzi as one token (it splits only at spaces and punctuation),
    and every search term is written space-separated, so a term is exactly one token.
    ``detail=none`` keeps only which rows hold a term: queries are ANDed prefix terms and need no
    positions. The 1-, 2- and 3-character prefix indexes answer the short prefixes people type
    ("王", "wf") without merging thousands of terms.
    """
    index = f"{table}_search"
    op.execute(
        f"CREATE VIRTUAL TABLE {index} USING fts5(search_text, content='{table}', content_rowid='rowid', "
        "tokenize='unicode61', detail=none, prefix='1 2 3')"
    )
    op.execute(
        f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN "  # noqa: S608 (table names are this file's constants)
        f"INSERT INTO {index}(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN "  # noqa: S608 (table names are this file's constants)
        f"INSERT INTO {index}({index}, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER {index}_update AFTER UPDATE OF search_text ON {table} BEGIN "  # noqa: S608 (table names are this file's constants)
        f"INSERT INTO {index}({index}, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); "
        f"INSERT INTO {index}(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    )
    op.execute(f"INSERT INTO {index}({index}) VALUES ('rebuild')")  # noqa: S608 (table names are this file's constants)


def drop_sqlite_search_index(table: str) -> None:
    index = f"{table}_search"
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {index}_{event}")
    op.execute(f"DROP TABLE IF EXISTS {index}")


def _recompute_search_texts() -> None:
    """Stored texts as ``build_search_text`` now writes them: names and public identifiers only."""
    from loopcrm.modules.customers.names import search_terms

    def text_of(names: list[str | None], identifiers: list[str | None]) -> str:
        terms = search_terms(*[name for name in names if name])
        terms.extend(identifier.lower() for identifier in identifiers if identifier)
        return " ".join(dict.fromkeys(term for term in terms if term))

    connection = op.get_bind()
    queries = {
        "accounts": "SELECT id, search_text, name, name_en, credit_code, external_id FROM accounts",
        "contacts": "SELECT id, search_text, full_name, external_id FROM contacts",
    }
    for table, query in queries.items():
        changed = []
        for row in connection.execute(sa.text(query)).all():
            if table == "accounts":
                fresh = text_of([row.name, row.name_en], [row.credit_code, row.external_id])
            else:
                fresh = text_of([row.full_name], [row.external_id])
            if fresh != row.search_text:
                changed.append({"record_id": row.id, "fresh": fresh})
        statement = sa.text(f"UPDATE {table} SET search_text = :fresh WHERE id = :record_id")  # noqa: S608 (table names are this file's constants)
        for start in range(0, len(changed), BATCH_SIZE):
            connection.execute(statement, changed[start : start + BATCH_SIZE])


def upgrade() -> None:
    _recompute_search_texts()
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(
                f"CREATE INDEX ix_{table}_search ON {table} USING gin (to_tsvector('simple', search_text))"
            )
        return
    for table in TABLES:
        create_sqlite_search_index(table)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        return
    for table in TABLES:
        drop_sqlite_search_index(table)
