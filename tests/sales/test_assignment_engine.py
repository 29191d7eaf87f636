"""Assignment of new records by rules: round robin, capacity, inactive and away reps, load
balancing, weighting, working days, rule order and conditions, fallback; manual reassignment.

Open records are counted by a counter this module registers (the test's own bookkeeping of
who holds how many open leads), as the leads area registers its own in the application.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import (
    AssignedRecordType,
    AvailabilityUpdate,
    ConditionIn,
    ConditionOperator,
    RuleCreate,
)
from loopcrm.platform.audit.schemas import AuditFilter
from loopcrm.platform.audit.service import list_entries
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import UserUpdate
from loopcrm.platform.db import new_id
from loopcrm.platform.errors import PermissionDenied, ValidationFailed
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
ZONE = "Asia/Shanghai"
# A Wednesday, 10:00 in Shanghai.
WEDNESDAY_MORNING = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)


class OpenLeads:
    """The test's open-record counter: how many open leads each user holds."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.calls = 0

    def __call__(self, uow: UnitOfWork, user_ids: Sequence[str]) -> Mapping[str, int]:
        self.calls += 1
        return {user_id: self.counts[user_id] for user_id in user_ids}


@pytest.fixture
def open_leads() -> Iterator[OpenLeads]:
    previous = assignment.registered_open_load("lead")
    counter = OpenLeads()
    assignment.register_open_load("lead", counter)
    yield counter
    assignment.register_open_load("lead", previous)


def assign(
    uow_factory: UowFactory,
    attributes: Mapping[str, Any] | None = None,
    *,
    open_leads: OpenLeads | None = None,
    now: datetime = WEDNESDAY_MORNING,
    record_type: str = "lead",
) -> str | None:
    """Assign a new record in a caller's transaction, as the leads service does, and commit."""
    uow = uow_factory()
    with uow:
        owner = assignment.assign_owner_in(
            uow,
            system_actor("web form"),
            record_type=record_type,
            record_id=new_id(),
            attributes=attributes or {},
            now=now,
        )
        uow.commit()
    if owner is not None and open_leads is not None:
        open_leads.counts[owner] += 1
    return owner


def make_rule(uow_factory: UowFactory, user_ids: list[str], **fields: Any) -> str:
    data = RuleCreate(
        record_type=fields.pop("record_type", "lead"),
        name=fields.pop("name", "All leads"),
        user_ids=user_ids,
        **fields,
    )
    return assignment.create_rule(uow_factory(), system_actor(), data).id


def set_availability(uow_factory: UowFactory, user_id: str, **fields: Any) -> None:
    assignment.update_availability(
        uow_factory(), system_actor(), user_id, AvailabilityUpdate(**fields), company_time_zone=ZONE
    )


@pytest.fixture
def reps(make_person: Callable[..., Any]) -> list[Any]:
    return [make_person("sales_rep", name=name) for name in ("Rep A", "Rep B", "Rep C")]


def test_round_robin_distributes_100_leads_34_33_33_in_turn(
    uow_factory: UowFactory, reps: list[Any], open_leads: OpenLeads
) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids)

    owners = [assign(uow_factory, {"source": "web"}, open_leads=open_leads) for _ in range(100)]

    assert owners[:6] == [ids[0], ids[1], ids[2], ids[0], ids[1], ids[2]]
    assert Counter(owners) == {ids[0]: 34, ids[1]: 33, ids[2]: 33}


def test_a_rep_at_capacity_is_skipped(
    uow_factory: UowFactory, reps: list[Any], open_leads: OpenLeads
) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids)
    set_availability(uow_factory, ids[1], capacity=2)
    open_leads.counts[ids[1]] = 1  # one more lead and Rep B is full

    owners = [assign(uow_factory, open_leads=open_leads) for _ in range(9)]

    assert owners == [ids[0], ids[1], ids[2], ids[0], ids[2], ids[0], ids[2], ids[0], ids[2]]
    assert open_leads.counts[ids[1]] == 2


def test_inactive_and_away_reps_are_skipped(uow_factory: UowFactory, reps: list[Any]) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids)
    auth.update_user(uow_factory(), system_actor(), ids[0], UserUpdate(is_active=False))
    set_availability(
        uow_factory,
        ids[1],
        away_from=WEDNESDAY_MORNING - timedelta(days=1),
        away_until=WEDNESDAY_MORNING + timedelta(days=1),
    )

    during = [assign(uow_factory) for _ in range(3)]
    back = [assign(uow_factory, now=WEDNESDAY_MORNING + timedelta(days=2)) for _ in range(2)]

    assert during == [ids[2], ids[2], ids[2]]
    assert back == [ids[1], ids[2]]


def test_load_balanced_picks_the_rep_with_fewest_open_leads(
    uow_factory: UowFactory, reps: list[Any], open_leads: OpenLeads
) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids, method="load_balanced")
    open_leads.counts.update({ids[0]: 5, ids[1]: 2, ids[2]: 3})

    owners = [assign(uow_factory, open_leads=open_leads) for _ in range(4)]

    # B (2) first; then B and C tie at 3 and the tie goes to the next in turn after B: C; then B; then C.
    assert owners == [ids[1], ids[2], ids[1], ids[2]]
    assert open_leads.counts == {ids[0]: 5, ids[1]: 4, ids[2]: 5}


def test_weighted_by_capacity_fills_reps_in_proportion(
    uow_factory: UowFactory, reps: list[Any], open_leads: OpenLeads
) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids[:2], method="weighted")
    set_availability(uow_factory, ids[0], capacity=30)
    set_availability(uow_factory, ids[1], capacity=10)

    owners = [assign(uow_factory, open_leads=open_leads) for _ in range(20)]

    assert Counter(owners) == {ids[0]: 15, ids[1]: 5}


def test_reps_outside_their_working_days_or_hours_are_skipped(
    uow_factory: UowFactory, reps: list[Any]
) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids[:2])
    weekdays_nine_to_six = {"working_days": [0, 1, 2, 3, 4], "work_start": time(9), "work_end": time(18)}
    set_availability(uow_factory, ids[0], **weekdays_nine_to_six)
    set_availability(uow_factory, ids[1], working_days=[5, 6])  # weekends only, all day

    wednesday = [assign(uow_factory, now=WEDNESDAY_MORNING) for _ in range(2)]
    wednesday_evening = assign(uow_factory, now=WEDNESDAY_MORNING + timedelta(hours=10))  # 20:00
    saturday = assign(uow_factory, now=WEDNESDAY_MORNING + timedelta(days=3))

    assert wednesday == [ids[0], ids[0]]
    assert wednesday_evening is None  # nobody at work and no fallback
    assert saturday == ids[1]


def test_a_rule_that_assigns_around_the_clock_ignores_working_hours(
    uow_factory: UowFactory, reps: list[Any]
) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(uow_factory, ids[:1], off_hours="assign")
    set_availability(uow_factory, ids[0], working_days=[0], work_start=time(9), work_end=time(10))

    assert assign(uow_factory, now=WEDNESDAY_MORNING + timedelta(hours=10)) == ids[0]


def test_rules_are_tried_in_order_and_the_first_matching_one_decides(
    uow_factory: UowFactory, reps: list[Any]
) -> None:
    ids = [rep.user.id for rep in reps]
    south = make_rule(
        uow_factory,
        [ids[0]],
        name="South China",
        conditions=[ConditionIn(field="province", operator=ConditionOperator.IN, value=["广东", "福建"])],
    )
    big = make_rule(
        uow_factory,
        [ids[1]],
        name="Big deals from ads",
        conditions=[
            ConditionIn(field="amount", operator=ConditionOperator.AT_LEAST, value="100000"),
            ConditionIn(field="utm_source", operator=ConditionOperator.CONTAINS, value="baidu"),
        ],
    )
    make_rule(uow_factory, [ids[2]], name="Everything else")

    assert assign(uow_factory, {"province": "广东", "amount": "500000", "utm_source": "baidu_sem"}) == ids[0]
    assert (
        assign(uow_factory, {"province": "浙江", "amount": "100000.00", "utm_source": "Baidu_SEM"}) == ids[1]
    )
    assert assign(uow_factory, {"province": "浙江", "amount": "99999.99", "utm_source": "baidu"}) == ids[2]
    assert assign(uow_factory, {"amount": "not a number", "utm_source": "baidu"}) == ids[2]

    assignment.reorder_rules(
        uow_factory(),
        system_actor(),
        "lead",
        [big, south]
        + [
            rule.id
            for rule in assignment.list_rules(uow_factory(), system_actor(), record_type="lead")
            if rule.id not in (big, south)
        ],
    )
    assert assign(uow_factory, {"province": "广东", "amount": "500000", "utm_source": "baidu"}) == ids[1]


def test_operators_not_in_equals_and_at_most(uow_factory: UowFactory, reps: list[Any]) -> None:
    ids = [rep.user.id for rep in reps]
    make_rule(
        uow_factory,
        [ids[0]],
        conditions=[
            ConditionIn(field="city", operator=ConditionOperator.NOT_IN, value="北京, 上海"),
            ConditionIn(field="industry", operator=ConditionOperator.EQUALS, value="Retail"),
            ConditionIn(field="amount", operator=ConditionOperator.AT_MOST, value=5000),
        ],
    )

    assert assign(uow_factory, {"city": "杭州", "industry": "retail", "amount": 5000}) == ids[0]
    assert assign(uow_factory, {"industry": "retail", "amount": "10"}) == ids[0]  # no city: not in the list
    assert assign(uow_factory, {"city": "上海", "industry": "retail", "amount": 10}) is None
    assert assign(uow_factory, {"city": "杭州", "industry": "retail", "amount": "5000.01"}) is None


def test_no_rule_for_opportunities_keeps_the_callers_owner(uow_factory: UowFactory, reps: list[Any]) -> None:
    make_rule(uow_factory, [reps[0].user.id])

    assert assign(uow_factory, record_type="opportunity") is None


def test_nobody_available_falls_back_then_to_the_next_matching_rule(
    uow_factory: UowFactory, reps: list[Any], make_person: Callable[..., Any]
) -> None:
    ids = [rep.user.id for rep in reps]
    manager = make_person("sales_manager", name="Manager")
    first = make_rule(uow_factory, [ids[0]], name="With fallback", fallback_user_id=manager.user.id)
    make_rule(uow_factory, [ids[1]], name="Next")
    set_availability(uow_factory, ids[0], away_from=WEDNESDAY_MORNING - timedelta(hours=1))

    assert assign(uow_factory) == manager.user.id
    assignment.delete_rule(uow_factory(), system_actor(), first)
    auth.update_user(uow_factory(), system_actor(), ids[1], UserUpdate(is_active=False))
    assert assign(uow_factory) is None

    history = assignment.list_assignments(uow_factory(), system_actor(), limit=10).items
    assert [(row.owner_id, row.method.value, row.rule_name) for row in history] == [
        (manager.user.id, "fallback", "With fallback")
    ]


def test_team_members_are_candidates_after_named_users(
    uow_factory: UowFactory, make_person: Callable[..., Any]
) -> None:
    from loopcrm.platform.auth.schemas import TeamCreate

    team = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="East"))
    zhao = make_person("sales_rep", name="Zhao", team_ids=(team.id,))
    li = make_person("sales_rep", name="Li", team_ids=(team.id,))
    named = make_person("sales_rep", name="Wang")
    make_rule(uow_factory, [named.user.id], team_ids=[team.id])

    assert [assign(uow_factory) for _ in range(4)] == [named.user.id, li.user.id, zhao.user.id, named.user.id]


def test_automatic_assignment_is_recorded_audited_and_notified(
    uow_factory: UowFactory, reps: list[Any]
) -> None:
    rule_id = make_rule(uow_factory, [reps[0].user.id], name="Web leads")
    record_id = new_id()
    uow = uow_factory()
    with uow:
        owner = assignment.assign_owner_in(
            uow, system_actor("web form"), record_type="lead", record_id=record_id, attributes={}
        )
        uow.commit()

    history = assignment.list_assignments(uow_factory(), reps[0].actor, record_id=record_id, limit=10).items
    assert [(h.previous_owner_id, h.owner_id, h.rule_id, h.method.value, h.actor_label) for h in history] == [
        (None, owner, rule_id, "round_robin", "web form")
    ]
    audit = list_entries(
        uow_factory(),
        system_actor(),
        AuditFilter(object_type="lead", object_id=record_id),
        limit=10,
        cursor=None,
    ).items
    assert [(entry.action, entry.changes["owner_id"]) for entry in audit] == [("update", [None, owner])]
    inbox = notifications.list_notifications(uow_factory(), reps[0].actor, limit=10, cursor=None).items
    assert [(n.kind.value, n.path, n.params) for n in inbox] == [
        ("assigned_to_you", f"/sales/leads/{record_id}", {"rule": "Web leads"})
    ]


def test_a_refused_caller_transaction_leaves_no_assignment(uow_factory: UowFactory, reps: list[Any]) -> None:
    make_rule(uow_factory, [reps[0].user.id])
    uow = uow_factory()
    with uow:
        assignment.assign_owner_in(uow, system_actor(), record_type="lead", record_id=new_id(), attributes={})
        # the caller fails and never commits

    assert assignment.list_assignments(uow_factory(), system_actor(), limit=10).items == []
    assert notifications.list_notifications(uow_factory(), reps[0].actor, limit=10, cursor=None).items == []
    assert assign(uow_factory) == reps[0].user.id  # the turn did not move either


def test_manual_reassignment_is_recorded_audited_and_notified(
    uow_factory: UowFactory, reps: list[Any], make_person: Callable[..., Any]
) -> None:
    manager = make_person("sales_manager", name="Manager Zhou")
    record_id = new_id()
    uow = uow_factory()
    with uow:
        assignment.record_manual_assignment_in(
            uow,
            manager.actor,
            record_type="opportunity",
            record_id=record_id,
            previous_owner_id=reps[0].user.id,
            owner_id=reps[1].user.id,
        )
        uow.commit()

    history = assignment.list_assignments(uow_factory(), reps[0].actor, limit=10).items
    assert [
        (h.record_type.value, h.previous_owner_id, h.owner_id, h.method.value, h.actor_id) for h in history
    ] == [("opportunity", reps[0].user.id, reps[1].user.id, "manual", manager.user.id)]
    audit = list_entries(
        uow_factory(),
        system_actor(),
        AuditFilter(object_type="opportunity", object_id=record_id),
        limit=10,
        cursor=None,
    ).items
    assert [(entry.actor_id, entry.changes["owner_id"]) for entry in audit] == [
        (manager.user.id, [reps[0].user.id, reps[1].user.id])
    ]
    inbox = notifications.list_notifications(uow_factory(), reps[1].actor, limit=10, cursor=None).items
    assert [(n.path, n.text) for n in inbox] == [(f"/sales/opportunities/{record_id}", n.text) for n in inbox]
    assert [n.params for n in inbox] == [{"actor": "Manager Zhou"}]
    assert notifications.list_notifications(uow_factory(), reps[0].actor, limit=10, cursor=None).items == []


def test_a_rep_sees_only_their_own_assignments(uow_factory: UowFactory, reps: list[Any]) -> None:
    make_rule(uow_factory, [reps[0].user.id, reps[1].user.id])
    assign(uow_factory)
    assign(uow_factory)

    mine = assignment.list_assignments(uow_factory(), reps[0].actor, limit=10).items

    assert [row.owner_id for row in mine] == [reps[0].user.id]


def test_a_rep_may_set_only_their_own_time_away(uow_factory: UowFactory, reps: list[Any]) -> None:
    rep = reps[0]
    back = datetime(2027, 1, 5, tzinfo=UTC)

    own = assignment.update_availability(
        uow_factory(), rep.actor, rep.user.id, AvailabilityUpdate(away_until=back), company_time_zone=ZONE
    )
    assert (own.away_until, own.is_away) == (back, True)
    with pytest.raises(ValidationFailed) as refused:
        assignment.update_availability(
            uow_factory(), rep.actor, rep.user.id, AvailabilityUpdate(capacity=99), company_time_zone=ZONE
        )
    assert [error.field for error in refused.value.errors] == ["capacity"]
    with pytest.raises(PermissionDenied):
        assignment.update_availability(
            uow_factory(),
            rep.actor,
            reps[1].user.id,
            AvailabilityUpdate(away_until=back),
            company_time_zone=ZONE,
        )


def test_rules_need_a_manager(uow_factory: UowFactory, reps: list[Any]) -> None:
    with pytest.raises(PermissionDenied):
        assignment.create_rule(
            uow_factory(),
            reps[0].actor,
            RuleCreate(record_type=AssignedRecordType.LEAD, name="Mine", user_ids=[reps[0].user.id]),
        )


def test_bad_conditions_are_refused_field_by_field(uow_factory: UowFactory, reps: list[Any]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        make_rule(
            uow_factory,
            [reps[0].user.id, "no-such-user"],
            conditions=[
                ConditionIn(field="amount", operator=ConditionOperator.AT_LEAST, value="lots"),
                ConditionIn(field="city", operator=ConditionOperator.IN, value=" , "),
            ],
        )

    assert sorted(error.field for error in refused.value.errors) == [
        "conditions.0.value",
        "conditions.1.value",
        "user_ids.1",
    ]
    assert assignment.list_rules(uow_factory(), system_actor()) == []
