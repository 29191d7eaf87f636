"""Consistent online backups of the embedded SQLite database, and restoring them.

SQLite's online backup API copies the database page by page inside a read transaction, so
the snapshot is consistent even while the server keeps writing. PostgreSQL is backed up with
its own tools (``pg_dump`` / ``pg_restore``), see docs/operations.md.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine

from loopcrm.platform.errors import DomainError


class BackupNotSupported(DomainError):
    code = "backup_not_supported"
    title = "loopcrm backup and restore handle the embedded SQLite database; use pg_dump for PostgreSQL"


class InvalidBackup(DomainError):
    code = "invalid_backup"
    title = "The file is not a LoopCRM backup"


def _sqlite_path(engine: Engine) -> Path:
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        raise BackupNotSupported()
    return Path(engine.url.database)


def backup(engine: Engine, destination: Path) -> Path:
    """Write a consistent snapshot of the live database to ``destination`` (a new file)."""
    source_path = _sqlite_path(engine)
    destination = destination.resolve()
    if destination.exists():
        raise DomainError(f"{destination} already exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with sqlite3.connect(source_path) as source, sqlite3.connect(partial) as target:
        source.backup(target)
    with sqlite3.connect(partial) as target:
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    partial.rename(destination)
    return destination


def check_backup(path: Path) -> str:
    """Verify ``path`` is an intact LoopCRM database; returns its migration revision."""
    if not path.is_file():
        raise InvalidBackup(f"{path} does not exist")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            (integrity,) = connection.execute("PRAGMA integrity_check").fetchone()
            if integrity != "ok":
                raise InvalidBackup(f"{path} is damaged: {integrity}")
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise InvalidBackup(f"{path} is not a LoopCRM database: {error}") from None
    if row is None:
        raise InvalidBackup(f"{path} has no migration revision")
    return str(row[0])


def restore(engine: Engine, source: Path) -> str:
    """Replace the database's whole content with the backup at ``source``.

    The copy is one transaction on the destination: it lands entirely or not at all. Stop the
    server and workers first, so nothing writes in between. Returns the backup's revision.
    """
    revision = check_backup(source)
    destination_path = _sqlite_path(engine)
    engine.dispose()  # no pooled connection may hold the old file open
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup_file,
        sqlite3.connect(destination_path) as live,
    ):
        backup_file.backup(live)
    return revision
