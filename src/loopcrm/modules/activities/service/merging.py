"""Moving activities between records when duplicates are merged, and back when a merge is undone.

Both functions run **inside the caller's open unit of work and never commit**: the merge (or
its undo) in the customers module moves fields, identities, tags and activities in one
transaction, which commits or rolls back as a whole. They check no record permissions: the
caller has checked that the actor may merge the two records.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from loopcrm.modules.activities.models import ActivityLink
from loopcrm.modules.activities.service.registry import ACTIVITY
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork


def count_links(uow: UnitOfWork, subject_type: str, subject_id: str) -> int:
    """How many links :func:`reassign_links` would move from record ``(subject_type, subject_id)``:
    what a merge screen announces before the merge moves them."""
    return int(
        uow.session.scalar(
            select(func.count())
            .select_from(ActivityLink)
            .where(ActivityLink.subject_type == subject_type, ActivityLink.subject_id == subject_id)
        )
        or 0
    )


def reassign_links(uow: UnitOfWork, actor: Actor, subject_type: str, from_id: str, to_id: str) -> list[str]:
    """Move every link of record ``(subject_type, from_id)`` to ``to_id``; returns the moved
    links' ids, which :func:`restore_links` takes to undo exactly this move.

    An activity linked to both records keeps both links (now to the same record); timelines
    show it once, and the undo moves back exactly the link that was moved.
    """
    session = uow.session
    links = session.scalars(
        select(ActivityLink)
        .where(ActivityLink.subject_type == subject_type, ActivityLink.subject_id == from_id)
        .order_by(ActivityLink.id)
    ).all()
    for link in links:
        link.subject_id = to_id
    session.flush()
    moved = [link.id for link in links]
    if moved:
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            ACTIVITY.key,
            None,
            {
                "links.moved": [f"{subject_type}:{from_id}", f"{subject_type}:{to_id}"],
                "link_ids": [None, moved],
            },
        )
    return moved


def restore_links(uow: UnitOfWork, actor: Actor, link_ids: Sequence[str], subject_id: str) -> None:
    """Point the links ``link_ids`` (as :func:`reassign_links` returned them) at ``subject_id``
    again. Links deleted since (the activity was unlinked meanwhile) are skipped."""
    if not link_ids:
        return
    session = uow.session
    links = session.scalars(select(ActivityLink).where(ActivityLink.id.in_(list(link_ids)))).all()
    previous = sorted({f"{link.subject_type}:{link.subject_id}" for link in links})
    for link in links:
        link.subject_id = subject_id
    session.flush()
    if links:
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            ACTIVITY.key,
            None,
            {"links.restored": [previous, subject_id], "link_ids": [None, [link.id for link in links]]},
        )
