"""Reading the assignment history: who got which record, from whom, how and by whose hand."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true

from loopcrm.modules.sales.assignment.models import AssignedRecordType, AssignmentHistory
from loopcrm.modules.sales.assignment.schemas import AssignmentOut
from loopcrm.modules.sales.assignment.service.object_types import ASSIGNMENT
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import Action, Actor, Scope, require
from loopcrm.platform.unit_of_work import UnitOfWork


def _out(row: AssignmentHistory) -> AssignmentOut:
    return AssignmentOut(
        id=row.id,
        record_type=row.record_type,  # type: ignore[arg-type]  # validated into the enum
        record_id=row.record_id,
        previous_owner_id=row.previous_owner_id,
        owner_id=row.owner_id,
        rule_id=row.rule_id,
        rule_name=row.rule_name,
        method=row.method,  # type: ignore[arg-type]
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        assigned_at=row.assigned_at,
    )


def _reachable(actor: Actor) -> ColumnElement[bool]:
    """A rep sees the changes that gave them or took from them a record; a manager those of their
    teams' members too."""
    scope = require(actor, ASSIGNMENT.key, Action.READ)
    if scope is Scope.ALL:
        return true()
    people = {actor.user_id} if actor.user_id else set()
    if scope is Scope.TEAM:
        people |= actor.team_user_ids
    ordered = sorted(people)
    return or_(AssignmentHistory.owner_id.in_(ordered), AssignmentHistory.previous_owner_id.in_(ordered))


def list_assignments(
    uow: UnitOfWork,
    actor: Actor,
    *,
    record_type: str | None = None,
    record_id: str | None = None,
    owner_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AssignmentOut]:
    """The history newest first, optionally of one record type, one record or one new owner."""
    condition = _reachable(actor)
    with uow:
        statement = select(AssignmentHistory).where(condition)
        if record_type is not None:
            statement = statement.where(
                AssignmentHistory.record_type == AssignedRecordType(record_type).value
            )
        if record_id is not None:
            statement = statement.where(AssignmentHistory.record_id == record_id)
        if owner_id is not None:
            statement = statement.where(AssignmentHistory.owner_id == owner_id)
        return paginate(
            uow.session, statement, AssignmentHistory.id, limit=limit, cursor=cursor, convert=_out
        )
