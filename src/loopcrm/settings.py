"""One typed settings object, read from ``LOOPCRM_*`` environment variables.

Settings are read once at start-up and frozen: a running process never changes its
configuration. Unsafe combinations refuse to start with a message that says what to fix.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    """How much the process trusts its environment."""

    DEVELOPMENT = "development"  # embedded default: generated secret, auto-migrate, in-process worker
    PRODUCTION = "production"  # explicit secret, explicit migrations, secure cookies required


class UnsafeSettingsError(RuntimeError):
    """Raised at start-up when the configuration would run LoopCRM unsafely."""


# The secret key signs cookies and reset tokens; 32 random bytes is the usual floor for HMAC keys.
MINIMUM_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Every knob of a LoopCRM process. Environment variables are ``LOOPCRM_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LOOPCRM_", frozen=True, extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    data_dir: Path = Path("./loopcrm-data")
    database_url: str = ""  # empty: SQLite file ``loopcrm.sqlite3`` in the data directory
    secret_key: SecretStr = SecretStr("")  # empty in development: generated once, stored in data_dir
    base_url: str = "http://127.0.0.1:8000"
    default_locale: str = "zh_CN"
    default_timezone: str = "Asia/Shanghai"

    session_lifetime_hours: int = Field(default=12, ge=1, le=24 * 30)
    secure_cookies: bool = False  # production requires True (HTTPS)
    login_max_failures: int = Field(default=5, ge=1)  # failures before an account locks
    login_lockout_minutes: int = Field(default=15, ge=1)
    login_ip_max_failures: int = Field(default=30, ge=1)  # per IP per lockout window, any account

    max_request_bytes: int = Field(default=1_000_000, ge=1024)  # API bodies, after decompression
    # File uploads to the API (multipart/form-data): an import file of up to 50 MiB and its fields.
    max_upload_bytes: int = Field(default=51 * 1024 * 1024, ge=1024)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    mail_from: str = "LoopCRM <noreply@loopcrm.local>"

    # Event ingestion (/v1/batch …, docs/cdp.md). A source without its own rate limit gets this one.
    cdp_rate_limit_events_per_second: int = Field(default=50_000, ge=1)
    cdp_max_queued_events: int = Field(
        default=200_000, ge=2500
    )  # beyond this, 503 until the writer catches up
    cdp_lock_timeout_seconds: float = Field(default=5.0, gt=0)  # the writer's wait for a database lock
    cdp_acknowledge_timeout_seconds: float = Field(default=15.0, gt=0)  # a request's wait for its commit
    # Create a CRM contact (source CDP) for a profile identified by an email or phone that no
    # contact has (the cdp.link_contacts job; docs/cdp.md "Profiles and CRM contacts"). Off: the
    # CRM holds only the people someone entered or imported.
    cdp_create_contacts: bool = False
    # Events one run of the identity job resolves in its transaction; unset: 50,000 for a worker
    # process of its own on PostgreSQL, else 25,000, or 10,000 while ingestion is busy (on SQLite
    # the run holds the write lock, in the web process the interpreter). A full run queues the next.
    cdp_identity_events_per_run: int | None = Field(default=None, ge=1)
    # Events one run of the computed-traits job folds; a full run queues the next at once.
    cdp_computed_events_per_run: int = Field(default=20_000, ge=1)
    # Changed CRM contacts one run of the contact-linking job feeds into the graph; likewise.
    cdp_link_contacts_per_run: int = Field(default=10_000, ge=1)

    embedded_worker: bool = True  # run the job worker inside ``loopcrm serve``
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    job_lease_seconds: int = Field(default=60, ge=5)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.mode is not Mode.PRODUCTION:
            return self
        problems = []
        if len(self.secret_key.get_secret_value()) < MINIMUM_SECRET_KEY_LENGTH:
            problems.append(
                f"LOOPCRM_SECRET_KEY must be set to at least {MINIMUM_SECRET_KEY_LENGTH} characters"
            )
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append("LOOPCRM_DATABASE_URL must point to PostgreSQL in production")
        if not self.secure_cookies:
            problems.append("LOOPCRM_SECURE_COOKIES must be true in production (serve over HTTPS)")
        if problems:
            raise UnsafeSettingsError("Refusing to start in production mode:\n  - " + "\n  - ".join(problems))
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loopcrm.sqlite3').resolve()}"

    @property
    def is_embedded(self) -> bool:
        """True when running on the embedded SQLite default."""
        return self.resolved_database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The secret key; in development one is generated on first start and kept in data_dir."""
        configured = self.secret_key.get_secret_value()
        if configured:
            return configured
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; keyword overrides win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
