"""``loopcrm`` commands. Each one parses its arguments, calls a service, and prints the outcome."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import click
from pydantic import ValidationError

from loopcrm.platform import backup as backups
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TokenCreate, UserCreate
from loopcrm.platform.db import create_database_engine, create_session_factory, utc_now
from loopcrm.platform.errors import DomainError, ValidationFailed
from loopcrm.platform.i18n import fill_placeholders
from loopcrm.platform.migrations import current_revisions, is_current, upgrade
from loopcrm.platform.permissions import TokenScope, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Mode, Settings, UnsafeSettingsError, load_settings


def _settings() -> Settings:
    """The settings, or a message naming each bad one as it is set (an environment variable)
    instead of a traceback."""
    try:
        return load_settings()
    except UnsafeSettingsError as error:
        raise click.ClickException(str(error)) from None
    except ValidationError as error:
        prefix = Settings.model_config.get("env_prefix", "")
        names = [prefix + "_".join(str(part) for part in issue["loc"]).upper() for issue in error.errors()]
        lines = [
            f"  {name}={issue['input']!r}: {issue['msg']}"
            for name, issue in zip(names, error.errors(), strict=True)
        ]
        raise click.ClickException("invalid settings:\n" + "\n".join(lines)) from None


def _fail(error: DomainError | ValidationError) -> click.ClickException:
    if isinstance(error, ValidationFailed):
        lines = [f"  {item.field}: {fill_placeholders(item.message, item.params)}" for item in error.errors]
        return click.ClickException("invalid input:\n" + "\n".join(lines))
    if isinstance(error, ValidationError):
        lines = [f"  {'.'.join(str(p) for p in issue['loc'])}: {issue['msg']}" for issue in error.errors()]
        return click.ClickException("invalid input:\n" + "\n".join(lines))
    return click.ClickException(str(error))


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR")
def main(log_level: str) -> None:
    """LoopCRM: customer data, insight, action and feedback in one loop."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (required before serving in production)."""
    settings = _settings()
    engine = create_database_engine(settings.resolved_database_url)
    upgrade(engine)
    click.echo(f"database at revision {', '.join(sorted(current_revisions(engine)))}")
    engine.dispose()


# How long a web process may take to answer the supervisor's health ping before it is replaced.
WORKER_HEALTHCHECK_SECONDS = 60


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="web processes (PostgreSQL only)")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web UI and REST API. The embedded default migrates itself first."""
    import uvicorn

    settings = _settings()
    engine = create_database_engine(settings.resolved_database_url)
    if settings.is_embedded and settings.mode is Mode.DEVELOPMENT:
        upgrade(engine)
    elif not is_current(engine):
        raise click.ClickException("the database schema is not current: run `loopcrm migrate` first")
    if workers > 1 and settings.is_embedded:
        raise click.ClickException(
            "several web processes need PostgreSQL; the embedded SQLite default runs one"
        )
    engine.dispose()
    click.echo(f"LoopCRM is serving on http://{host}:{port}")
    if workers > 1:
        uvicorn.run(
            "loopcrm.app:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            # uvicorn kills a worker that misses a 5 s health ping; a worker still importing on a
            # busy machine, or one whose request handlers hold the GIL under heavy ingestion, is
            # slow to answer but not hung. Killing it would drop every request it holds.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    else:
        from loopcrm.app import create_served_app

        uvicorn.run(create_served_app(settings), host=host, port=port, proxy_headers=True)


@main.command()
def worker() -> None:
    """Run background jobs until SIGTERM; the job running then finishes first."""
    from loopcrm.app import freeze_startup_objects, register_tasks
    from loopcrm.platform.jobs.worker import run_worker_process

    register_tasks()
    settings = _settings()
    freeze_startup_objects()
    sys.exit(run_worker_process(settings))


@main.command()
@click.option(
    "--accounts",
    type=click.IntRange(20, 100_000),
    default=1000,
    show_default=True,
    help="How many demo accounts (companies) to create.",
)
@click.option(
    "--contacts",
    type=click.IntRange(20, 500_000),
    default=5000,
    show_default=True,
    help="How many demo contacts (people) to create.",
)
@click.option(
    "--cdp-profiles",
    type=click.IntRange(100, 1_000_000),
    default=None,
    envvar="LOOPCRM_DEMO_CDP_PROFILES",
    help="How many people the CDP demo's events come from (about one profile each once resolved). "
    "[default: 4 a contact: 20,000]",
)
@click.option(
    "--cdp-events",
    type=click.IntRange(0, 10_000_000),
    default=None,
    envvar="LOOPCRM_DEMO_CDP_EVENTS",
    help="About how many CDP events over the past year; 0 for none. The full demo takes a few minutes. "
    "[default: 100 a contact: 500,000]",
)
def demo(accounts: int, contacts: int, cdp_profiles: int | None, cdp_events: int | None) -> None:
    """Migrate and load the demo data (once), then print how to sign in."""
    from loopcrm.demo import load_demo_data

    settings = _settings()
    # The CDP demo grows with the CRM's: a small demo for tests is small everywhere.
    cdp_profiles = cdp_profiles if cdp_profiles is not None else max(100, contacts * 4)
    cdp_events = cdp_events if cdp_events is not None else contacts * 100
    if cdp_events:
        click.echo(f"loading the demo (CDP: {cdp_profiles:,} people, about {cdp_events:,} events)…")
    login = load_demo_data(
        settings,
        accounts=accounts,
        contacts=contacts,
        cdp_profiles=cdp_profiles,
        cdp_events=cdp_events,
        progress=click.echo,
    )
    click.echo("demo data loaded" if login.created else "demo data already present")
    click.echo(f"Open {settings.base_url} and sign in as {login.email} / password {login.password}")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", default="admin", show_default=True, help="role key, e.g. admin or sales_rep")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="prompted when omitted"
)
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a user who can sign in at once."""
    settings = _settings()
    engine = create_database_engine(settings.resolved_database_url)
    try:
        data = UserCreate.model_validate(
            {
                "email": email,
                "name": name,
                "role": role,
                "password": password,
                "locale": settings.default_locale,
            }
        )
        created = auth.create_user(UnitOfWork(create_session_factory(engine)), system_actor("cli"), data)
    except (DomainError, ValidationError) as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    click.echo(f"created user {created.email} ({created.role}) with id {created.id}")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--email", required=True, help="the user the token acts as")
@click.option("--name", required=True, help="what the token is for")
@click.option(
    "--scope",
    type=click.Choice([scope.value for scope in TokenScope]),
    default=TokenScope.READ.value,
    show_default=True,
)
@click.option("--expires-in-days", type=int, default=None, help="no expiry when omitted")
def create_token(email: str, name: str, scope: str, expires_in_days: int | None) -> None:
    """Create an API token and print it (shown only this once)."""
    settings = _settings()
    engine = create_database_engine(settings.resolved_database_url)
    session_factory = create_session_factory(engine)
    try:
        user_id = auth.find_user_id(UnitOfWork(session_factory), system_actor("cli"), email)
        if user_id is None:
            raise click.ClickException(f"no user with email {email}")
        expires_at = utc_now() + timedelta(days=expires_in_days) if expires_in_days else None
        data = TokenCreate(name=name, scope=TokenScope(scope), expires_at=expires_at)
        created = auth.create_token(UnitOfWork(session_factory), system_actor("cli"), data, user_id=user_id)
    except (DomainError, ValidationError) as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    click.echo(created.token)


@main.command()
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Write a consistent online snapshot of the embedded database to DESTINATION."""
    engine = create_database_engine(_settings().resolved_database_url)
    try:
        written = backups.backup(engine, destination)
    except DomainError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    click.echo(f"backup written to {written}")


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def restore(source: Path, yes: bool) -> None:
    """Replace the embedded database with the backup SOURCE. Stop the server first."""
    if not yes and not click.confirm("This replaces all current data with the backup. Continue?"):
        sys.exit(1)
    engine = create_database_engine(_settings().resolved_database_url)
    try:
        revision = backups.restore(engine, source)
    except DomainError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    click.echo(f"restored {source} (revision {revision}); run `loopcrm migrate` if the code is newer")
