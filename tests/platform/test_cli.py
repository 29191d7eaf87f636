"""The ``loopcrm`` command line: demo, users and tokens, as a new user would run them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from loopcrm.app import create_app
from loopcrm.cli import main
from loopcrm.settings import load_settings


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch, database_url: str) -> CliRunner:
    monkeypatch.setenv("LOOPCRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOOPCRM_DATABASE_URL", database_url)
    return CliRunner()


def test_demo_loads_once_and_prints_a_login_that_works(cli_env: CliRunner) -> None:
    first = cli_env.invoke(main, ["demo", "--accounts", "20", "--contacts", "60"])
    second = cli_env.invoke(main, ["demo"])  # already there: the sizes no longer matter

    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    assert "sign in as admin@example.com / password loopcrm-demo" in first.output
    assert "demo data already present" in second.output
    token = cli_env.invoke(
        main, ["token", "create", "--email", "admin@example.com", "--name", "check"]
    ).output.strip()
    with TestClient(create_app(load_settings())) as client:
        users = client.get(
            "/api/v1/users", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"}
        )
    assert users.status_code == 200
    assert len(users.json()["items"]) == 11


def test_user_create_reports_each_invalid_field(cli_env: CliRunner) -> None:
    result = cli_env.invoke(
        main, ["user", "create", "--email", "bad", "--name", "X", "--role", "admin", "--password", "short"]
    )

    assert result.exit_code == 1
    assert "email:" in result.output
    assert "password: String should have at least 8 characters" in result.output


def test_user_create_refuses_an_unknown_role(cli_env: CliRunner) -> None:
    cli_env.invoke(main, ["migrate"])

    result = cli_env.invoke(
        main,
        [
            "user",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "pilot",
            "--password",
            "long enough",
        ],
    )

    assert result.exit_code == 1
    assert "role: Unknown role pilot" in result.output


def test_token_create_for_an_unknown_user_fails_clearly(cli_env: CliRunner) -> None:
    cli_env.invoke(main, ["migrate"])

    result = cli_env.invoke(main, ["token", "create", "--email", "ghost@example.com", "--name", "x"])

    assert result.exit_code == 1
    assert "no user with email ghost@example.com" in result.output


def test_a_bad_setting_stops_a_command_with_one_line_naming_the_variable(
    cli_env: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPCRM_CDP_IDENTITY_EVENTS_PER_RUN", "0")

    result = cli_env.invoke(main, ["migrate"])

    assert result.exit_code == 1
    assert result.output == (
        "Error: invalid settings:\n"
        "  LOOPCRM_CDP_IDENTITY_EVENTS_PER_RUN='0': Input should be greater than or equal to 1\n"
    )


def test_the_worker_stops_on_sigterm_and_exits_quietly(cli_env: CliRunner, tmp_path: Path) -> None:
    """``loopcrm worker`` freezes its startup objects for the garbage collector; they are unfrozen
    at exit, or extension modules (duckdb's) would print hundreds of lines about leaked objects."""
    assert cli_env.invoke(main, ["migrate"]).exit_code == 0
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "loopcrm"), "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert worker.stdout is not None
    lines = []
    for line in worker.stdout:
        lines.append(line)
        if "started" in line:
            break
    worker.send_signal(signal.SIGTERM)
    rest, _ = worker.communicate(timeout=30)

    assert worker.returncode == 0
    assert "stopped" in rest
    assert "leaked" not in "".join(lines) + rest
