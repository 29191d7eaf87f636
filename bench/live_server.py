"""A real ``loopcrm serve`` process over loopback HTTP, with an admin's API token: what the HTTP
benchmarks measure against.

The database is migrated and the admin created through the CLI, as an operator would, so the
server starts on exactly what a fresh installation holds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

REPOSITORY = Path(__file__).resolve().parents[1]
LOOPCRM = REPOSITORY / ".venv" / "bin" / "loopcrm"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(environment: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [str(LOOPCRM), *arguments], env=environment, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def migrate_and_create_admin_token(environment: dict[str, str]) -> str:
    """Migrates the database, creates the admin bench@example.com and returns a read-write API token."""
    run_cli(environment, "migrate")
    run_cli(
        environment,
        "user",
        "create",
        "--email",
        "bench@example.com",
        "--name",
        "Bench",
        "--role",
        "admin",
        "--password",
        "bench password",
    )
    return run_cli(
        environment,
        "token",
        "create",
        "--email",
        "bench@example.com",
        "--name",
        "bench",
        "--scope",
        "read_write",
    )


def process_group_cpu_seconds(group_id: int) -> float:
    """CPU time (user + system) used so far by every live process of a process group: the server
    and its workers. A measure of the server's cost per event that other load on the machine does
    not distort, unlike events per second (PostgreSQL's own processes are not included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == group_id:  # fields after the name: state, ppid, pgrp, …
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


_SERVER_GROUPS: dict[str, int] = {}


def server_group_id(url: str) -> int:
    """The process group of the server :func:`serving` runs at ``url`` (its process id)."""
    return _SERVER_GROUPS[url]


@contextmanager
def serving(
    environment: dict[str, str],
    port: int,
    *,
    stderr: int | IO[bytes] | None = None,
    workers: int = 1,
) -> Iterator[str]:
    """Runs ``loopcrm serve`` on ``port`` until the block ends and yields its base URL once
    /healthz answers (or after 60 s of waiting); the server gets SIGTERM as a whole process group.
    :func:`server_group_id` gives the group of the server that ``url`` names, for CPU readings."""
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(LOOPCRM), "--log-level", "WARNING", "serve", "--port", str(port), "--workers", str(workers)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        _SERVER_GROUPS[url] = server.pid
        yield url
    finally:
        _SERVER_GROUPS.pop(url, None)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
