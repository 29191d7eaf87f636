"""``loopcrm backup`` and ``restore`` give back identical data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from loopcrm.cli import main

# A demo of a few records: backup and restore do not care how many there are.
SMALL_DEMO = ["demo", "--accounts", "20", "--contacts", "60"]

pytestmark = pytest.mark.skipif(
    __import__("os").environ.get("LOOPCRM_TEST_POSTGRES_URL", "") != "",
    reason="backup and restore handle the embedded SQLite database; PostgreSQL uses pg_dump",
)


def dump(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }


def test_backup_then_restore_gives_back_identical_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LOOPCRM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(main, SMALL_DEMO).exit_code == 0
    database = tmp_path / "data" / "loopcrm.sqlite3"
    before = dump(database)

    backed_up = runner.invoke(main, ["backup", str(tmp_path / "snapshot.sqlite3")])
    created = runner.invoke(
        main,
        [
            "user",
            "create",
            "--email",
            "late@example.com",
            "--name",
            "Late",
            "--role",
            "sales_rep",
            "--password",
            "late password",
        ],
    )
    assert dump(database) != before
    restored = runner.invoke(main, ["restore", "--yes", str(tmp_path / "snapshot.sqlite3")])

    assert backed_up.exit_code == 0, backed_up.output
    assert created.exit_code == 0, created.output
    assert restored.exit_code == 0, restored.output
    assert dump(database) == before
    assert sum(len(rows) for rows in before.values()) > 20


def test_restoring_something_that_is_not_a_backup_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LOOPCRM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    runner.invoke(main, SMALL_DEMO)
    database = tmp_path / "data" / "loopcrm.sqlite3"
    before = dump(database)
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_text("not a database")

    result = runner.invoke(main, ["restore", "--yes", str(bogus)])

    assert result.exit_code == 1
    assert "not a LoopCRM database" in result.output
    assert dump(database) == before


def test_backup_refuses_to_overwrite_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LOOPCRM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    runner.invoke(main, SMALL_DEMO)
    existing = tmp_path / "existing.sqlite3"
    existing.write_text("keep me")

    result = runner.invoke(main, ["backup", str(existing)])

    assert result.exit_code == 1
    assert existing.read_text() == "keep me"
