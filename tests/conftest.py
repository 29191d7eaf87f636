"""Fixtures shared by every test: a migrated database per test, on SQLite or PostgreSQL.

The suite runs on SQLite by default. With ``LOOPCRM_TEST_POSTGRES_URL`` set it runs on that
PostgreSQL database instead (its ``public`` schema is dropped and rebuilt by migrations).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, insert, text

from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.jobs.worker import Worker
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
            self.seed = {
                t.name: [dict(r._mapping) for r in connection.execute(t.select())] for t in self.tables
            }

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
    engine.dispose()
    with sqlite3.connect(path) as connection:  # fold the WAL into the file, so one file copy is whole
        connection.execute("PRAGMA journal_mode=DELETE")
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
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own, for tests of migrations on data: a SQLite file, or on
    PostgreSQL a schema of its own in the test database (the suite's ``public`` is left alone)."""
    if not POSTGRES_URL:
        engine = create_database_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = "empty_database"
    admin = create_database_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    engine = create_database_engine(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    """Makes a fresh unit of work, as an entry point does for each call to a service."""
    session_factory = create_session_factory(engine)
    return lambda: UnitOfWork(session_factory)


# ---------------------------------------------------------------- people, clients, mail

from collections.abc import Iterator as _Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from loopcrm.app import create_app  # noqa: E402
from loopcrm.platform.auth import service as auth  # noqa: E402
from loopcrm.platform.auth.schemas import TokenCreate, UserCreate, UserOut  # noqa: E402
from loopcrm.platform.permissions import Actor, TokenScope, system_actor  # noqa: E402


@dataclass(frozen=True)
class Person:
    """A user made for a test, with the actor its service calls use and an API token."""

    user: UserOut
    actor: Actor
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., Person]:
    """Creates a user with a role, teams and a read-write API token (a password only if given)."""
    counter = iter(range(1, 1_000_000))

    def make(
        role: str,
        *,
        name: str | None = None,
        email: str | None = None,
        team_ids: tuple[str, ...] = (),
        phone: str | None = None,
        token_scope: TokenScope = TokenScope.READ_WRITE,
        password: str | None = None,
    ) -> Person:
        number = next(counter)
        user = auth.create_user(
            uow_factory(),
            system_actor(),
            UserCreate(
                email=email or f"{role}{number}@example.com",
                name=name or f"{role} {number}",
                role=role,
                password=password,  # argon2 is slow on purpose; only tests that sign in set one
                phone=phone,
                team_ids=list(team_ids),
            ),
        )
        token = auth.create_token(
            uow_factory(), system_actor(), TokenCreate(name="test", scope=token_scope), user_id=user.id
        )
        return Person(user, auth.actor_for_user(uow_factory(), user.id), token.token)

    return make


@pytest.fixture
def client(settings: Settings, engine: Engine) -> _Iterator[TestClient]:
    """The whole application over HTTP, in process."""
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


class _CollectingHandler:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 (aiosmtpd API)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: _CollectingHandler

    @property
    def messages(self) -> list[tuple[str, list[str], bytes]]:
        return self.handler.messages


@pytest.fixture
def smtp_server() -> _Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port, keeping what it receives."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = _CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer("127.0.0.1", port, handler)
    controller.stop()


# ---------------------------------------------------------------- the web UI's forms

from httpx import Response  # noqa: E402

from .support import web_forms  # noqa: E402
from .support.web_forms import PASSWORD, FormData  # noqa: E402


@pytest.fixture
def form_token() -> Callable[[str], str]:
    """Reads the CSRF token of the first form on a page."""
    return web_forms.csrf_token_of


@pytest.fixture
def sign_in(client: TestClient) -> Callable[..., Response]:
    """Signs ``email`` in through the login form, as a browser does; asserts the login worked (303)
    and returns its answer. Tests of failing logins use ``web_forms.submit_login`` instead."""

    def sign_in_as(email: str, password: str = PASSWORD, *, next_path: str = "") -> Response:
        return web_forms.sign_in(client, email, password, next_path)

    return sign_in_as


@pytest.fixture
def post_form(client: TestClient) -> Callable[[str, str, FormData], Response]:
    """Opens ``page_path``, then submits ``data`` (a dict or pairs) to ``action`` with the page's
    CSRF token; does not follow a redirect."""

    def post(page_path: str, action: str, data: FormData) -> Response:
        return web_forms.post_form(client, page_path, action, data)

    return post


@pytest.fixture
def admin(make_person: Callable[..., Person]) -> Person:
    """An admin who signs in with ``PASSWORD``."""
    return make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)


@pytest.fixture
def rep(make_person: Callable[..., Person]) -> Person:
    """A sales rep who signs in with ``PASSWORD``."""
    return make_person("sales_rep", name="销售 李雷", email="rep@example.com", password=PASSWORD)


@pytest.fixture
def work(engine: Engine, settings: Settings) -> Callable[[], int]:
    """Runs every due job with a real worker, as ``loopcrm worker`` would; returns how many ran."""
    worker = Worker(create_session_factory(engine), settings, run_scheduler=False)

    def run() -> int:
        count = 0
        while worker.run_once():
            count += 1
        return count

    return run
