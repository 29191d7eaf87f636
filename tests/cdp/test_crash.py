"""Nothing acknowledged is lost: kill -9 the server while a client sends; every event that got a
200 is in the log afterwards.

The log is read back through a new engine opened after the kill, as a restarted server would
open it (on SQLite the first new connection recovers the WAL the killed process left). (A second
server started only to read the log through the API cost a whole process start, seconds on a
loaded machine, for the same rows.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
from tests.cdp.conftest import free_port

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.schemas import SourceCreated
from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

BATCH_SIZE = 50


def _start_server(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "LOOPCRM_DATA_DIR": str(settings.data_dir),
        "LOOPCRM_DATABASE_URL": settings.resolved_database_url,
        "LOOPCRM_SECRET_KEY": settings.secret_key.get_secret_value(),
        "LOOPCRM_EMBEDDED_WORKER": "false",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "loopcrm"),
            "--log-level",
            "WARNING",
            "serve",
            "--port",
            str(port),
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def test_kill_9_mid_stream_loses_no_acknowledged_event(
    settings: Settings, make_source: Callable[..., SourceCreated]
) -> None:
    # Given a server process and a client sending batches to it, one after another
    source = make_source(channel="server")
    port = free_port()
    server = _start_server(settings, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            number = 0
            while not stop.is_set():
                ids = [f"crash-{number}-{index}" for index in range(BATCH_SIZE)]
                batch = [{"type": "track", "event": "E", "userId": "u", "messageId": id_} for id_ in ids]
                number += 1
                try:
                    response = client.post("/v1/batch", json={"writeKey": source.write_key, "batch": batch})
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    acknowledged.extend(ids)

    sender = threading.Thread(target=send)
    sender.start()

    # When the server is killed without warning mid-stream
    deadline = time.monotonic() + 30
    while len(acknowledged) < 20 * BATCH_SIZE and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    stop.set()
    sender.join(timeout=10)

    # Then every acknowledged event is in the log, read through a new connection
    assert len(acknowledged) >= 20 * BATCH_SIZE
    assert set(acknowledged) <= _stored_message_ids(settings, source.id)


def _stored_message_ids(settings: Settings, source_id: str) -> set[str]:
    engine = create_database_engine(settings.resolved_database_url)
    try:
        uow_factory = partial(UnitOfWork, create_session_factory(engine))
        stored: set[str] = set()
        cursor = None
        while True:
            page = cdp.list_events(
                uow_factory(), system_actor(), limit=500, cursor=cursor, source_id=source_id
            )
            stored.update(event.message_id for event in page.items)
            cursor = page.next_cursor
            if not cursor:
                return stored
    finally:
        engine.dispose()
