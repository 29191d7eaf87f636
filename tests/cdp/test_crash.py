"""Nothing acknowledged is lost: kill -9 the server while a client sends; every event that got a
200 is in the log after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.cdp.conftest import free_port

from loopcrm.modules.cdp.schemas import SourceCreated
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
    settings: Settings, make_source: Callable[..., SourceCreated], tmp_path: Path
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

    # Then, after a restart, every acknowledged event is in the log
    assert len(acknowledged) >= 20 * BATCH_SIZE
    port = free_port()
    restarted = _start_server(settings, port)
    try:
        stored: set[str] = set()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            token = _admin_token(settings)
            cursor = None
            while True:
                params: dict[str, str | int] = {"source_id": source.id, "limit": 500}
                if cursor:
                    params["cursor"] = cursor
                page = client.get(
                    "/api/v1/cdp/events", params=params, headers={"Authorization": f"Bearer {token}"}
                )
                assert page.status_code == 200, page.text
                stored.update(item["message_id"] for item in page.json()["items"])
                cursor = page.json()["next_cursor"]
                if not cursor:
                    break
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=30)
    assert set(acknowledged) <= stored


def _admin_token(settings: Settings) -> str:
    from loopcrm.platform.auth import service as auth
    from loopcrm.platform.auth.schemas import TokenCreate, UserCreate
    from loopcrm.platform.db import create_database_engine, create_session_factory
    from loopcrm.platform.permissions import system_actor
    from loopcrm.platform.unit_of_work import UnitOfWork

    engine = create_database_engine(settings.resolved_database_url)
    sessions = create_session_factory(engine)
    try:
        user = auth.create_user(
            UnitOfWork(sessions),
            system_actor(),
            UserCreate(email="crash@example.com", name="Crash", role="admin"),
        )
        created = auth.create_token(
            UnitOfWork(sessions), system_actor(), TokenCreate(name="crash", scope="read"), user_id=user.id
        )
        return created.token
    finally:
        engine.dispose()
