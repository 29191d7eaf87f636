"""Settings: typed, from LOOPCRM_* variables, refusing unsafe production configurations."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from loopcrm.settings import Mode, UnsafeSettingsError, load_settings


def test_the_embedded_default_is_a_sqlite_file_in_the_data_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LOOPCRM_DATABASE_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)

    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'loopcrm.sqlite3').resolve()}"
    assert settings.is_embedded


def test_settings_come_from_loopcrm_environment_variables(monkeypatch) -> None:
    monkeypatch.setenv("LOOPCRM_SESSION_LIFETIME_HOURS", "3")
    monkeypatch.setenv("LOOPCRM_DEFAULT_LOCALE", "en")

    settings = load_settings()

    assert settings.session_lifetime_hours == 3
    assert settings.default_locale == "en"


def test_a_development_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)

    first = settings.resolved_secret_key()
    second = load_settings(data_dir=tmp_path).resolved_secret_key()

    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_production_refuses_to_start_with_unsafe_settings() -> None:
    with pytest.raises(UnsafeSettingsError) as refused:
        load_settings(mode=Mode.PRODUCTION, database_url="sqlite:///x.sqlite3")

    message = str(refused.value)
    assert "LOOPCRM_SECRET_KEY" in message
    assert "PostgreSQL" in message
    assert "LOOPCRM_SECURE_COOKIES" in message


def test_production_starts_with_safe_settings() -> None:
    settings = load_settings(
        mode=Mode.PRODUCTION,
        database_url="postgresql+psycopg://crm@db/crm",
        secret_key="s" * 48,
        secure_cookies=True,
    )

    assert settings.resolved_secret_key() == "s" * 48


def test_settings_cannot_change_once_read() -> None:
    settings = load_settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.base_url = "http://elsewhere"  # type: ignore[misc]
