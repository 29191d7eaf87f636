"""The sales dashboard's numbers on a small fixed set of deals, worked out by hand: pipeline by
stage, weighted forecast and cumulative categories by close month, win rate, deal size, cycle
length, stage conversion, time in stage, lost reasons, the leaderboard against targets, and who
sees what (scope of ``opportunity``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.schemas import DashboardFilters, DashboardOut, TargetSet
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.models import Opportunity, StageChange
from loopcrm.modules.sales.opportunities.schemas import LostReasonOut, OpportunityOut, PipelineOut
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from ..conftest import Person
from .conftest import SalesTeam, stage_named

UowFactory = Callable[[], UnitOfWork]
CreateDeal = Callable[..., OpportunityOut]
SYSTEM = system_actor()
Q1 = DashboardFilters(period_start=date(2027, 1, 1), period_end=date(2027, 3, 31))


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Book:
    """The fixed deals: ``a`` and ``b`` are the team's reps, ``c`` the outsider."""

    pipeline: PipelineOut
    deals: dict[str, OpportunityOut]


@pytest.fixture
def book(
    uow_factory: UowFactory,
    engine: Engine,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    create_deal: CreateDeal,
    sales_team: SalesTeam,
) -> Book:
    pipeline = standard_pipeline
    owners = {"a": sales_team.member, "b": sales_team.colleague, "c": sales_team.outsider}

    def deal(owner: str, stage: str, amount: str, **values: Any) -> OpportunityOut:
        return create_deal(
            SYSTEM,
            owner_id=owners[owner].user.id,
            stage_id=stage_named(pipeline, stage).id,
            amount=amount,
            **values,
        )

    deals = {
        "o1": deal(
            "a",
            "Proposal",
            "100000",
            probability_manual=40,
            expected_close_date="2027-01-15",
            forecast_category="commit",
        ),
        "o2": deal(
            "a",
            "Proposal",
            "50000",
            probability_manual=20,
            expected_close_date="2027-01-20",
            forecast_category="pipeline",
        ),
        "o3": deal(
            "b",
            "Negotiation",
            "30000.50",
            probability_manual=75,
            expected_close_date="2027-02-03",
            forecast_category="best_case",
        ),
        "o4": deal(
            "b",
            "Qualification",
            "12345.67",
            probability_manual=10,
            expected_close_date="2027-03-31",
            forecast_category="omitted",
        ),
        "o5": deal("a", "Qualification", "7000", probability_manual=60),
        "o6": deal(
            "c",
            "Needs analysis",
            "99999",
            probability_manual=90,
            expected_close_date="2027-01-10",
            forecast_category="commit",
        ),
        "w1": deal("a", "Proposal", "80000"),
        "w2": deal("b", "Negotiation", "20000"),
        "l1": deal("a", "Qualification", "40000"),
        "l2": deal("b", "Needs analysis", "10000"),
        "l3": deal("c", "Proposal", "5000"),
    }
    won, lost = stage_named(pipeline, "Won").id, stage_named(pipeline, "Lost").id
    for key in ("w1", "w2"):
        opportunities.change_stage(uow_factory(), SYSTEM, deals[key].id, won)
    for key, reason in (("l1", 0), ("l2", 1), ("l3", 0)):
        opportunities.change_stage(
            uow_factory(), SYSTEM, deals[key].id, lost, lost_reason_id=lost_reasons[reason].id
        )
    # History happened in the first quarter of 2027: creation and closing times, two days per stage.
    created = {"w1": "2027-01-05", "w2": "2027-01-01", "l1": "2027-01-10", "l2": "2027-01-20"}
    closed = {
        "w1": "2027-02-14",
        "w2": "2027-01-31",
        "l1": "2027-03-01",
        "l2": "2027-02-01",
        "l3": "2027-02-02",
    }
    with engine.begin() as connection:
        for key, value in deals.items():
            connection.execute(
                update(Opportunity)
                .where(Opportunity.id == value.id)
                .values(
                    created_at=at(created.get(key, "2027-01-12")),
                    closed_at=at(closed[key]) if key in closed else None,
                )
            )
            connection.execute(
                update(StageChange)
                .where(StageChange.opportunity_id == value.id, StageChange.from_stage_id.is_not(None))
                .values(changed_at=at(closed.get(key, "2027-01-20")), seconds_in_previous_stage=2 * 86_400)
            )
    for user, month in (("a", date(2027, 1, 1)), ("a", date(2027, 2, 1)), ("b", date(2027, 3, 5))):
        forecasting.set_target(
            uow_factory(),
            SYSTEM,
            TargetSet(user_id=owners[user].user.id, month=month, amount=Decimal(100_000)),
        )
    return Book(pipeline, deals)


def _board(uow_factory: UowFactory, actor: Actor, filters: DashboardFilters = Q1) -> DashboardOut:
    return forecasting.dashboard(uow_factory(), actor, filters)


def test_forecast_by_close_month_matches_the_hand_calculation(uow_factory: UowFactory, book: Book) -> None:
    board = _board(uow_factory, SYSTEM)

    assert [(row.month, row.open_count, row.weighted_amount) for row in board.forecast] == [
        # o1 100000 × 40 % + o2 50000 × 20 % + o6 99999 × 90 %
        (date(2027, 1, 1), 3, Decimal("139999.10")),
        # o3 30000.50 × 75 % = 22500.375
        (date(2027, 2, 1), 1, Decimal("22500.38")),
        # o4 is omitted from the forecast
        (date(2027, 3, 1), 0, Decimal("0.00")),
    ]
    assert [(row.closed, row.commit, row.best_case, row.pipeline) for row in board.forecast] == [
        # won w2 20000; + commit o1, o6; + no best case; + pipeline o2
        (Decimal("20000.00"), Decimal("219999.00"), Decimal("219999.00"), Decimal("269999.00")),
        # won w1 80000; + best case o3
        (Decimal("80000.00"), Decimal("80000.00"), Decimal("110000.50"), Decimal("110000.50")),
        (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
    ]
    assert board.open_without_close_date == 1  # o5
    assert board.currency == "CNY"


def test_pipeline_by_stage_counts_open_deals_now(uow_factory: UowFactory, book: Book) -> None:
    board = _board(uow_factory, SYSTEM)

    assert [(row.stage_name, row.count, row.amount, row.weighted_amount) for row in board.stages] == [
        ("Qualification", 2, Decimal("19345.67"), Decimal("5434.57")),  # 12345.67 × 10 % + 7000 × 60 %
        ("Needs analysis", 1, Decimal("99999.00"), Decimal("89999.10")),
        ("Proposal", 2, Decimal("150000.00"), Decimal("50000.00")),
        ("Negotiation", 1, Decimal("30000.50"), Decimal("22500.38")),
    ]


def test_win_rate_deal_size_and_cycle_length_are_exact(uow_factory: UowFactory, book: Book) -> None:
    board = _board(uow_factory, SYSTEM)

    rate = board.win_rate
    assert (rate.won_count, rate.lost_count, rate.won_amount, rate.lost_amount) == (
        2,
        3,
        Decimal("100000.00"),
        Decimal("55000.00"),
    )
    assert rate.by_count == pytest.approx(2 / 5)
    assert rate.by_amount == pytest.approx(100_000 / 155_000)
    assert board.average_deal_size == Decimal("50000.00")
    assert board.average_cycle_days == pytest.approx((40 + 30) / 2)  # w1 5 Jan → 14 Feb, w2 1 → 31 Jan
    # 6 open deals × 0.4 × 50000 / 35 days
    assert board.velocity_per_day == Decimal("3428.57")


def test_stage_conversion_time_in_stage_and_lost_reasons(
    uow_factory: UowFactory, book: Book, lost_reasons: list[LostReasonOut]
) -> None:
    board = _board(uow_factory, SYSTEM)

    # furthest stage reached: Qualification o4 o5 l1; Needs o6 l2; Proposal o1 o2 l3; Negotiation o3;
    # Won w1 w2
    assert [(row.stage_name, row.reached, row.to_next) for row in board.conversion] == [
        ("Qualification", 11, pytest.approx(8 / 11)),
        ("Needs analysis", 8, pytest.approx(6 / 8)),
        ("Proposal", 6, pytest.approx(3 / 6)),
        ("Negotiation", 3, pytest.approx(2 / 3)),
        ("Won", 2, None),
    ]
    assert [(row.stage_name, row.moves, row.average_days) for row in board.time_in_stage] == [
        ("Qualification", 1, 2.0),
        ("Needs analysis", 1, 2.0),
        ("Proposal", 2, 2.0),
        ("Negotiation", 1, 2.0),
    ]
    assert [(row.name, row.count, row.amount) for row in board.lost_reasons] == [
        (lost_reasons[0].name, 2, Decimal("45000.00")),
        (lost_reasons[1].name, 1, Decimal("10000.00")),
    ]


def test_leaderboard_against_monthly_targets(
    uow_factory: UowFactory, book: Book, sales_team: SalesTeam
) -> None:
    board = _board(uow_factory, SYSTEM)

    rows = {row.owner_id: row for row in board.leaderboard}
    a, b, c = sales_team.member.user.id, sales_team.colleague.user.id, sales_team.outsider.user.id
    assert [row.owner_id for row in board.leaderboard] == [a, b, c]
    assert (rows[a].won_count, rows[a].won_amount, rows[a].target, rows[a].attainment) == (
        1,
        Decimal("80000.00"),
        Decimal("200000.00"),
        pytest.approx(0.4),
    )
    assert (rows[a].open_count, rows[a].weighted_amount) == (2, Decimal("50000.00"))
    assert (rows[b].won_amount, rows[b].target, rows[b].attainment) == (
        Decimal("20000.00"),
        Decimal("100000.00"),
        pytest.approx(0.2),
    )
    assert (rows[c].won_count, rows[c].target, rows[c].attainment, rows[c].weighted_amount) == (
        0,
        Decimal("0.00"),
        None,
        Decimal("89999.10"),
    )


def test_a_rep_sees_only_their_own_deals_and_a_manager_their_team(
    uow_factory: UowFactory, book: Book, sales_team: SalesTeam
) -> None:
    rep_board = _board(uow_factory, sales_team.member.actor)
    manager_board = _board(uow_factory, sales_team.manager.actor)

    assert (rep_board.win_rate.won_count, rep_board.win_rate.lost_count) == (1, 1)
    assert [row.owner_id for row in rep_board.leaderboard] == [sales_team.member.user.id]
    assert sum(row.count for row in rep_board.stages) == 3  # o1 o2 o5
    assert (manager_board.win_rate.won_count, manager_board.win_rate.lost_count) == (2, 2)
    assert {row.owner_id for row in manager_board.leaderboard} == {
        sales_team.member.user.id,
        sales_team.colleague.user.id,
    }
    # filters narrow within the scope: the manager looks at one rep
    one_rep = _board(
        uow_factory,
        sales_team.manager.actor,
        Q1.model_copy(update={"owner_id": sales_team.colleague.user.id}),
    )
    assert (one_rep.win_rate.won_amount, one_rep.win_rate.lost_amount) == (
        Decimal("20000.00"),
        Decimal("10000.00"),
    )


def test_a_period_that_ends_before_it_starts_is_refused(uow_factory: UowFactory, book: Book) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _board(
            uow_factory, SYSTEM, DashboardFilters(period_start=date(2027, 3, 1), period_end=date(2027, 1, 1))
        )
    assert [error.field for error in refused.value.errors] == ["period_end"]


def test_the_api_returns_the_same_numbers(
    client: TestClient, book: Book, sales_team: SalesTeam, admin: Person
) -> None:
    answer = client.get(
        "/api/v1/sales/dashboard",
        params={"period_start": "2027-01-01", "period_end": "2027-03-31"},
        headers=admin.headers,
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["win_rate"]["won_count"] == 2
    assert [month["weighted_amount"] for month in body["forecast"]] == ["139999.10", "22500.38", "0.00"]
    refused = client.get(
        "/api/v1/sales/dashboard",
        params={"period_start": "2027-03-01", "period_end": "2027-01-01"},
        headers=admin.headers,
    )
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["period_end"]
