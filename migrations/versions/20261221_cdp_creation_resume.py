"""cdp: the contact-creation rule's cursor is a position, so profiles it passes over cannot stall it

The rule used to keep the time it last looked and re-read the minute before it, taking an
unordered 500 candidate profiles a run. Profiles it passes over (a contact holds their email, the
CRM refuses their values) stay candidates, so 500 of them could hold back every profile behind
them for good. Its cursor is now a position in (identity link valid_from, profile id) order, as
the contact feed's became in 20261220_cdp_feed_resume; the existing cursor is moved back by the
minute its next run would have re-read.

Revision ID: 20261221_cdp_creation_resume
Revises: 20261220_cdp_feed_resume
Create Date: 2026-12-21 09:00:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261221_cdp_creation_resume"
down_revision = "20261220_cdp_feed_resume"
branch_labels = None
depends_on = None

_CURSORS = sa.table(
    "cdp_identity_cursors",
    sa.column("name", sa.String()),
    sa.column("last_changed_at", loopcrm.platform.db.UTCDateTime(timezone=True)),
    sa.column("last_id", sa.String()),
)
_CREATION = "contact_creation"
_REREAD = timedelta(minutes=1)


def _move(by: timedelta, last_id: str | None) -> None:
    connection = op.get_bind()
    query = sa.select(_CURSORS.c.last_changed_at).where(_CURSORS.c.name == _CREATION)
    changed_at = connection.scalar(query)
    if changed_at is not None:
        connection.execute(
            sa.update(_CURSORS)
            .where(_CURSORS.c.name == _CREATION)
            .values(last_changed_at=changed_at + by, last_id=last_id)
        )


def upgrade() -> None:
    _move(-_REREAD, "")


def downgrade() -> None:
    # The old code re-reads a minute before the time it kept: move the position forward again.
    _move(_REREAD, None)
