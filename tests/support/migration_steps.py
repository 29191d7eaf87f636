"""Stepping a test database to the revision before a migration and back down past it, for tests
of one migration on data (``empty_engine``)."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from loopcrm.platform.migrations import alembic_config


def revision_before(engine: Engine, revision: str) -> str:
    """The revision ``revision`` follows."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    return str(ScriptDirectory.from_config(config).get_revision(revision).down_revision)


def downgrade_past(engine: Engine, revision: str) -> None:
    """Undo ``revision`` and every later one, in one transaction."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision_before(engine, revision))
