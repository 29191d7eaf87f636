"""Fixtures of the CDP tests: an event source, and one database, application and live server
shared by the tests of a module.

Building the application and resetting the database cost about a second a test on a loaded
machine (more on PostgreSQL, where the reset truncates every table). Ingestion tests do not need
an empty database: each makes its own source and reads only that source's events, dead letters and
counters. A module opts in by overriding ``database_url`` with :func:`module_database_url`, so its
service calls, its ``engine`` and the shared application all use the same database.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from tests.conftest import PostgresTemplate

from loopcrm.app import create_app
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.schemas import SourceCreate, SourceCreated
from loopcrm.platform.db import create_database_engine
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import load_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """LoopCRM served by uvicorn in a thread of the test process."""

    url: str
    app: FastAPI


@pytest.fixture(scope="module")
def module_database_url(
    database_template: Path | PostgresTemplate, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated database for every test of one module (see the module docstring)."""
    if isinstance(database_template, PostgresTemplate):
        database_template.reset()
        return database_template.url
    path = tmp_path_factory.mktemp("cdp-module") / "loopcrm.sqlite3"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def module_app(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The application over the module's database, built once for the module."""
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("cdp-module-data"),
        database_url=module_database_url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
    )
    engine = create_database_engine(module_database_url)
    yield create_app(settings, engine=engine)
    engine.dispose()


@pytest.fixture(scope="module")
def live_app_server(module_app: FastAPI) -> Iterator[LiveServer]:
    """The module's application served on a free loopback port (the module shares its database)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(module_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="cdp-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", module_app)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def make_source(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., SourceCreated]:
    """Creates an event source as the system actor; returns it with its write key."""

    def make(name: str = "Website", channel: str = "web", **fields: object) -> SourceCreated:
        return cdp.create_source(
            uow_factory(),
            system_actor(),
            SourceCreate.model_validate({"name": name, "channel": channel, **fields}),
        )

    return make
