"""cdp: the contact feed's cursor is a position, so a burst of changes cannot stall it

A run of the contact feed reads at most a set number of contacts. It used to restart a minute
before the newest change it had read, so when more contacts than that changed within a minute
(an import), every run read the same first ones again and the feed stalled for good. The cursor
is now a position in (updated_at, id) order: ``last_id`` joins ``last_changed_at``, and a run
resumes right after it. The feed's existing cursor is moved back by that minute here, which is
what its next run would have re-read.

Revision ID: 20261220_cdp_feed_resume
Revises: 20261219_customers_name_order
Create Date: 2026-12-20 09:00:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import loopcrm.platform.db

revision = "20261220_cdp_feed_resume"
down_revision = "20261219_customers_name_order"
branch_labels = None
depends_on = None

_CURSORS = sa.table(
    "cdp_identity_cursors",
    sa.column("name", sa.String()),
    sa.column("last_changed_at", loopcrm.platform.db.UTCDateTime(timezone=True)),
    sa.column("last_id", sa.String()),
)
_FEED = "crm_contacts"
_REREAD = timedelta(minutes=1)


def upgrade() -> None:
    with op.batch_alter_table("cdp_identity_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_id", sa.String(length=36), nullable=True))
    connection = op.get_bind()
    changed_at = connection.scalar(sa.select(_CURSORS.c.last_changed_at).where(_CURSORS.c.name == _FEED))
    if changed_at is not None:
        connection.execute(
            sa.update(_CURSORS)
            .where(_CURSORS.c.name == _FEED)
            .values(last_changed_at=changed_at - _REREAD, last_id="")
        )


def downgrade() -> None:
    # The old code re-reads a minute before the cursor itself: move the position forward again.
    connection = op.get_bind()
    changed_at = connection.scalar(sa.select(_CURSORS.c.last_changed_at).where(_CURSORS.c.name == _FEED))
    if changed_at is not None:
        connection.execute(
            sa.update(_CURSORS).where(_CURSORS.c.name == _FEED).values(last_changed_at=changed_at + _REREAD)
        )
    with op.batch_alter_table("cdp_identity_cursors", schema=None) as batch_op:
        batch_op.drop_column("last_id")
