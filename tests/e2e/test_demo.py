"""A new user's first minutes: ``make demo`` serves LoopCRM and the printed login works in Chromium."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser

REPOSITORY = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# `make demo` installs nothing new here (the suite runs after `make install`); migrating, creating
# the demo data (customers with a year of activities, then sales: about 20 s of work) and starting
# the server take under a minute on a quiet machine, but each of its two processes compiles the
# whole package first where no bytecode is cached (PYTHONDONTWRITEBYTECODE: about 15 s each) and
# the suite shares two cores: the limit catches a demo that hangs, not one that is slow.
STARTUP_LIMIT_SECONDS = 150

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        os.environ.get("LOOPCRM_TEST_POSTGRES_URL", "") != "",
        reason="the demo runs on the embedded SQLite default; once per CI run is enough",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make demo exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("make demo was not serving in time")


def test_make_demo_serves_loopcrm_and_the_printed_login_works(tmp_path: Path, browser: Browser) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("LOOPCRM_")},
        "LOOPCRM_DATA_DIR": str(tmp_path / "data"),
        "LOOPCRM_BASE_URL": url,
        # The CDP demo (500,000 events at full size) takes minutes; tests/cdp/test_demo.py and the
        # command-line tests load it small instead.
        "LOOPCRM_DEMO_CDP_EVENTS": "0",
    }
    output = tmp_path / "make-demo.log"
    started = time.monotonic()
    with output.open("w") as log:
        process = subprocess.Popen(
            ["make", "demo", f"DEMO_PORT={port}"],
            cwd=REPOSITORY,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        wait_until_serving(url, process, started + STARTUP_LIMIT_SECONDS)
        printed = output.read_text()
        login = re.search(rf"Open {re.escape(url)} and sign in as (\S+) / password (\S+)", printed)
        assert login is not None, printed
        email, password = login.groups()

        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        assert page.url.startswith(f"{url}/login")
        page.fill("form[action='/login'] input[name=email]", email)
        page.fill("form[action='/login'] input[name=password]", password)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{url}/")
        assert page.locator(".user-label").inner_text() == "王芳"  # the demo admin, greeted by name
        page.goto(f"{url}/admin/users")
        assert page.url == f"{url}/admin/users"
        assert page.locator("table").count() >= 1
        context.close()
        # The demo customers are there once, at full scale (tests/customers/test_demo_data.py
        # checks what they look like).
        with sqlite3.connect(tmp_path / "data" / "loopcrm.sqlite3") as database:
            counts = [
                database.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("accounts", "contacts")
            ]
        assert counts == [1000, 5000]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
