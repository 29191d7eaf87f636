"""Fixtures of the CDP tests: an event source and a live LoopCRM server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from loopcrm.app import create_app
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.schemas import SourceCreate, SourceCreated
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """LoopCRM served by uvicorn in a thread of the test process."""

    url: str
    app: FastAPI


@pytest.fixture
def live_app_server(settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    port = free_port()
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="cdp-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", app)
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
