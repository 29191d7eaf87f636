"""What leads plug into other areas and modules at import time: activities can be linked to a lead
(subject type ``lead``), and the assignment area counts open leads per owner for load balancing."""

from __future__ import annotations

from collections.abc import Sequence

from loopcrm.modules.activities import service as activities
from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.leads.service import records
from loopcrm.platform.permissions import Action, Actor
from loopcrm.platform.unit_of_work import UnitOfWork

SUBJECT_TYPE = "lead"


def _resolve_lead(uow: UnitOfWork, actor: Actor, lead_id: str) -> activities.SubjectRef:
    lead = records.load(uow, actor, lead_id, Action.READ)
    label = " · ".join(part for part in (lead.full_name, lead.company_name) if part)
    return activities.SubjectRef(SUBJECT_TYPE, lead.id, label, f"/sales/leads/{lead.id}")


def _count_open_leads(uow: UnitOfWork, user_ids: Sequence[str]) -> dict[str, int]:
    return records.count_open_leads(uow, user_ids)


activities.register_subject_type(SUBJECT_TYPE, _resolve_lead)
assignment.register_open_load(SUBJECT_TYPE, _count_open_leads)
