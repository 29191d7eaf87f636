"""New deals given without an owner are assigned by the opportunity rules, with the open deals
counted by the counter the opportunities area registers; a hand-made change of owner is in the
assignment history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.sales.conftest import stage_named

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import AssignedRecordType, AssignmentMethod, RuleCreate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import OpportunityUpdate, PipelineOut
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork


def test_load_balanced_deals_go_to_the_rep_with_fewest_open_deals_and_closed_ones_do_not_count(
    uow_factory: Callable[[], UnitOfWork],
    make_person: Callable[..., Any],
    standard_pipeline: PipelineOut,
    create_deal: Callable[..., Any],
    lost_reasons: list[Any],
) -> None:
    busy, free = make_person("sales_rep", name="Busy"), make_person("sales_rep", name="Free")
    admin = make_person("admin")
    for number in range(2):
        create_deal(admin.actor, name=f"busy {number}", owner_id=busy.user.id)
    closed = create_deal(admin.actor, name="free, lost", owner_id=free.user.id)
    opportunities.change_stage(
        uow_factory(),
        admin.actor,
        closed.id,
        stage_named(standard_pipeline, "Lost").id,
        lost_reason_id=lost_reasons[0].id,
    )
    assignment.create_rule(
        uow_factory(),
        system_actor(),
        RuleCreate(
            record_type=AssignedRecordType.OPPORTUNITY,
            name="balanced",
            method=AssignmentMethod.LOAD_BALANCED,
            user_ids=[busy.user.id, free.user.id],
            off_hours="assign",
        ),
    )

    # Free has one lost deal and no open one; Busy has two open ones. Then they are level at 2 : 2
    # after Free's second deal, and the rule's order breaks the tie.
    owners = [create_deal(admin.actor, name=f"new {number}").owner_id for number in range(3)]

    assert owners == [free.user.id, free.user.id, busy.user.id]


def test_a_hand_made_change_of_owner_is_in_the_assignment_history(
    uow_factory: Callable[[], UnitOfWork],
    make_person: Callable[..., Any],
    standard_pipeline: PipelineOut,
    create_deal: Callable[..., Any],
) -> None:
    first, second = make_person("sales_rep"), make_person("sales_rep")
    admin = make_person("admin")
    deal = create_deal(admin.actor, owner_id=first.user.id)

    opportunities.update_opportunity(
        uow_factory(), admin.actor, deal.id, OpportunityUpdate(owner_id=second.user.id)
    )

    history = assignment.list_assignments(
        uow_factory(), system_actor(), record_type="opportunity", record_id=deal.id, limit=10
    ).items
    # Newest first: the change, then the creation by the admin for the first rep.
    assert [(entry.previous_owner_id, entry.owner_id, entry.method.value) for entry in history] == [
        (first.user.id, second.user.id, "manual"),
        (None, first.user.id, "manual"),
    ]
