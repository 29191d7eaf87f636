"""Deals on the interaction timeline: calls, notes and tasks can be logged against a deal because
this area registers how to find one (and whether the reader may read it) with activities."""

from __future__ import annotations

from loopcrm.modules.activities import service as activities
from loopcrm.modules.sales.opportunities.service.deals import load
from loopcrm.modules.sales.opportunities.service.object_types import OPPORTUNITY
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork

SUBJECT_TYPE = "opportunity"


def _resolve_opportunity(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> activities.SubjectRef:
    opportunity = load(uow, actor, opportunity_id, Action.READ)
    return activities.SubjectRef(
        SUBJECT_TYPE, opportunity.id, opportunity.name, f"/sales/opportunities/{opportunity.id}"
    )


activities.register_subject_type(SUBJECT_TYPE, _resolve_opportunity)


def timeline_subjects(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> list[tuple[str, str]]:
    """The records whose activities make up a deal's timeline (the deal itself), after checking
    the reader may read it."""
    require(actor, OPPORTUNITY.key, Action.READ)
    with uow:
        opportunity = load(uow, actor, opportunity_id, Action.READ)
        return [(SUBJECT_TYPE, opportunity.id)]
