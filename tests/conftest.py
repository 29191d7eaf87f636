"""Fixtures shared by every test: a migrated database per test, on SQLite or PostgreSQL.

The suite runs on SQLite by default. With ``LOOPCRM_TEST_POSTGRES_URL`` set it runs on that
PostgreSQL database instead (its ``public`` schema is dropped and rebuilt by migrations).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, insert, text

from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("LOOPCRM_TEST_POSTGRES_URL", "")


def pytest_report_header(config: pytest.Config) -> str:
    return f"loopcrm database: {'postgresql' if POSTGRES_URL else 'sqlite'}"


class PostgresTemplate:
    """A migrated PostgreSQL schema, reset between tests by truncating and re-seeding."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_database_engine(url)
        with self.engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        upgrade(self.engine)
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)
        self.tables = [t for t in self.metadata.sorted_tables if t.name != "alembic_version"]
        with self.engine.connect() as connection:
            self.seed = {t.name: [dict(r._mapping) for r in connection.execute(t.select())] for t in self.tables}

    def reset(self) -> None:
        names = ", ".join(f'"{t.name}"' for t in self.tables)
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table in self.tables:
                if self.seed[table.name]:
                    connection.execute(insert(table), self.seed[table.name])


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | PostgresTemplate]:
    if POSTGRES_URL:
        template = PostgresTemplate(POSTGRES_URL)
        yield template
        template.engine.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = create_database_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield path


@pytest.fixture
def database_url(database_template: Path | PostgresTemplate, tmp_path: Path) -> str:
    """A migrated, empty (but for seed data) database for this test."""
    if isinstance(database_template, PostgresTemplate):
        database_template.reset()
        return database_template.url
    path = tmp_path / "loopcrm.sqlite3"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    """Makes a fresh unit of work, as an entry point does for each call to a service."""
    session_factory = create_session_factory(engine)
    return lambda: UnitOfWork(session_factory)
