"""New leads created through the leads service are assigned by the rules, with the open leads
counted by the counter the leads area registers (capacity is the real number of open leads)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import (
    AssignedRecordType,
    AvailabilityUpdate,
    ConditionIn,
    ConditionOperator,
    RuleCreate,
)
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import LeadCreate
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork


def test_new_leads_are_assigned_by_rule_and_capacity_counts_real_open_leads(
    uow_factory: Callable[[], UnitOfWork], make_person: Callable[..., Any]
) -> None:
    south, first, second = (make_person("sales_rep", name=name) for name in ("South", "First", "Second"))
    marketer = make_person("marketer")
    assignment.create_rule(
        uow_factory(),
        system_actor(),
        RuleCreate(
            record_type=AssignedRecordType.LEAD,
            name="广东",
            conditions=[ConditionIn(field="province", operator=ConditionOperator.EQUALS, value="广东")],
            user_ids=[south.user.id],
        ),
    )
    assignment.create_rule(
        uow_factory(),
        system_actor(),
        RuleCreate(
            record_type=AssignedRecordType.LEAD, name="其他", user_ids=[first.user.id, second.user.id]
        ),
    )
    assignment.update_availability(
        uow_factory(),
        system_actor(),
        first.user.id,
        AvailabilityUpdate(capacity=2),
        company_time_zone="Asia/Shanghai",
    )

    def create(number: int, province: str | None = None) -> str | None:
        data = LeadCreate(
            family_name="王", given_name=f"{number}号", email=f"lead{number}@example.cn", province=province
        )
        return leads.create_lead(uow_factory(), marketer.actor, data).owner_id

    from_guangdong = create(0, "广东")
    others = [create(number, "浙江") for number in range(1, 7)]

    assert from_guangdong == south.user.id
    # First takes turns until two open leads fill its capacity; then Second takes every lead.
    assert others == [
        first.user.id,
        second.user.id,
        first.user.id,
        second.user.id,
        second.user.id,
        second.user.id,
    ]
    assert Counter(others) == {first.user.id: 2, second.user.id: 4}
    history = assignment.list_assignments(uow_factory(), system_actor(), record_type="lead", limit=50).items
    assert len(history) == 7 and {entry.method.value for entry in history} == {"round_robin"}
    inbox = notifications.list_notifications(uow_factory(), south.actor, limit=10, cursor=None).items
    assert [n.params for n in inbox] == [{"rule": "广东"}]
