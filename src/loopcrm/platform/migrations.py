"""Running Alembic migrations from code: ``loopcrm migrate``, auto-upgrade of the embedded default,
and the readiness check (are migrations current?)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text


def migrations_directory() -> Path:
    """Where the revisions are: inside the installed package, or at the repository root."""
    package_copy = Path(__file__).resolve().parent.parent / "migrations"
    if package_copy.is_dir():
        return package_copy
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_directory()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database of ``engine`` to ``revision`` (by default the newest)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revisions(database_url: str = "sqlite://") -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    return current_revisions(engine) == head_revisions()


def include_in_comparison(
    connection: Connection,
) -> Callable[[str | None, str, Mapping[str, str | None]], bool]:
    """Alembic's ``include_name`` hook for comparing the models with a database: leaves out the
    full-text indexes that migrations create by hand because no model can describe them.

    Those are SQLite's virtual tables (FTS5) with their shadow tables, and PostgreSQL indexes over
    ``to_tsvector(...)`` expressions, its stored ``tsvector`` columns and their GIN indexes.
    Everything else is compared as usual.
    """
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("PRAGMA table_list").all()
        hidden = {("table", row[1]) for row in rows if row[2] in ("virtual", "shadow")}
    elif connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND (strpos(indexdef, 'to_tsvector(') > 0 OR strpos(indexdef, ' USING gin ') > 0)"
            )
        ).all()
        hidden = {("index", row[0]) for row in rows}
        vectors = connection.execute(
            text(
                "SELECT DISTINCT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type = 'tsvector'"
            )
        ).all()
        hidden |= {("column", row[0]) for row in vectors}
    else:
        hidden = set()
    return lambda name, type_, parent_names: (type_, name) not in hidden
