"""Migrations build the schema the code expects, on SQLite and PostgreSQL, and upgrade from empty."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from loopcrm.platform.db import create_database_engine
from loopcrm.platform.migrations import (
    current_revisions,
    head_revisions,
    include_in_comparison,
    is_current,
    upgrade,
)
from loopcrm.tables import metadata


def test_migrations_upgrade_an_empty_sqlite_database_to_the_newest_revision(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")

    assert not is_current(engine)
    upgrade(engine)

    assert current_revisions(engine) == head_revisions()
    assert {"users", "roles", "teams", "audit_entries"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_migrated_schema_matches_the_models(engine) -> None:
    """Catches a model change without its migration, on whichever database the suite runs."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_in_comparison(connection)}
        )
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_the_builtin_roles_exist_after_migrating(engine) -> None:
    with engine.connect() as connection:
        keys = sorted(row[0] for row in connection.exec_driver_sql("SELECT key FROM roles WHERE is_builtin"))

    assert keys == sorted(
        ["admin", "sales_manager", "sales_rep", "marketer", "service_agent", "analyst", "read_only"]
    )


def test_every_revision_is_named_by_date_module_and_slug() -> None:
    from loopcrm.platform.migrations import migrations_directory

    names = sorted(path.stem for path in (migrations_directory() / "versions").glob("*.py"))

    assert names
    for name in names:
        date, module, *slug = name.split("_")
        assert len(date) == 8 and date.isdigit(), name
        assert module and slug, name
