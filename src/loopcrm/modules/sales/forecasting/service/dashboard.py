"""The sales dashboard: every number is one SQL aggregate over the deals the reader may see.

Definitions (ANALYTICS.md "Sales analytics and forecasting"; the variant used is stated here and
in docs/sales.md). Amounts are ``amount_company`` (the company currency at the rate when written);
the effective probability is the typed one, else the automatic one. The period is a range of
whole days in the reader's time zone (default: the current calendar quarter).

* pipeline by stage: open deals now, by stage: count, Σ amount, Σ amount × probability;
* forecast by close month: open deals whose expected close date is in the period and that are
  not omitted from the forecast, by month:
  Σ amount × probability (weighted), and the cumulative categories in amounts:
  closed = won in the month (by ``closed_at``); commit = closed + open commit; best case =
  commit + open best case; pipeline = best case + open pipeline (omitted deals are left out);
* win rate: deals closed in the period, won / (won + lost), by count and by amount;
* average deal size: mean amount of the deals won in the period;
* sales-cycle length: mean days from a won deal's creation to its winning, won in the period;
* velocity: open deals × win rate (count) × average deal size / cycle length, per day;
* stage conversion: deals created in the period, from stage history: a deal reached a stage when
  it entered it or any later open stage, or was won; conversion = reached(next) / reached(stage);
* time in stage: moves out of a stage in the period, mean seconds spent in it;
* lost reasons: deals lost in the period by reason, count and amount;
* leaderboard: per owner, deals won in the period (count, amount) against the sum of their
  monthly targets over the period's months, and their open deals closing in the period (not
  omitted): count and Σ amount × probability.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from loopcrm.modules.sales.forecasting.models import SalesTarget
from loopcrm.modules.sales.forecasting.schemas import (
    ConversionRow,
    DashboardFilters,
    DashboardOut,
    ForecastMonth,
    LeaderboardRow,
    LostReasonRow,
    StageRow,
    TimeInStageRow,
    WinRate,
)
from loopcrm.modules.sales.forecasting.service.object_types import SALES_TARGET
from loopcrm.modules.sales.forecasting.service.targets import company_currency_code
from loopcrm.modules.sales.opportunities.models import (
    ForecastCategory,
    LostReason,
    Opportunity,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
)
from loopcrm.platform.auth.models import TeamMembership, User
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.permissions import Action, Actor, Scope, scope_condition
from loopcrm.platform.unit_of_work import UnitOfWork

OPPORTUNITY_TYPE = "opportunity"
CENT = Decimal("0.01")
# The longest period one dashboard covers: the forecast has one bucket per month.
MAX_PERIOD_DAYS = 366 * 3
# Won stages rank after every open stage in the conversion funnel (positions are small numbers).
WON_RANK = 1_000_000
SECONDS_PER_DAY = 86_400


def _money(value: Any) -> Decimal:
    """A sum from the database as exact cents (SQLite sums NUMERIC as floating point)."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT)


def current_quarter(today: date) -> tuple[date, date]:
    first_month = (today.month - 1) // 3 * 3 + 1
    start = date(today.year, first_month, 1)
    end = _add_months(start, 3) - timedelta(days=1)
    return start, end


def _add_months(month: date, number: int) -> date:
    index = month.year * 12 + month.month - 1 + number
    return date(index // 12, index % 12 + 1, 1)


def _months(start: date, end: date) -> list[date]:
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = _add_months(month, 1)
    return months


def _period(actor: Actor, filters: DashboardFilters) -> tuple[date, date]:
    today = datetime.now(ZoneInfo(actor.timezone)).date()
    default_start, default_end = current_quarter(today)
    start = filters.period_start or default_start
    end = filters.period_end or (
        default_end if filters.period_start is None else _add_months(start, 3) - timedelta(days=1)
    )
    if end < start:
        raise ValidationFailed.single(
            "period_end", "The period must not end before it starts", "before_start"
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationFailed.single("period_end", "The period may cover at most three years", "too_long")
    return start, end


def _start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


class _Query:
    """The reader's filters as SQL conditions, and the period's month buckets, shared by every
    section. Stages are few, so their kinds are mapped here instead of joined in every query."""

    def __init__(
        self, session: Session, actor: Actor, filters: DashboardFilters, start: date, end: date
    ) -> None:
        zone = ZoneInfo(actor.timezone)
        self.start, self.end = start, end
        self.start_at = _start_of_day(start, zone)
        self.end_at = _start_of_day(end + timedelta(days=1), zone)
        self.months = _months(start, end)
        # Month i of the period runs from boundaries[i] to boundaries[i + 1] (clipped to the period).
        self.day_boundaries = [max(month, start) for month in self.months] + [end + timedelta(days=1)]
        self.time_boundaries = [max(_start_of_day(month, zone), self.start_at) for month in self.months]
        self.time_boundaries.append(self.end_at)
        self.kinds: dict[str, str] = dict(session.execute(select(Stage.id, Stage.kind)).all())
        self.open_ids = sorted(key for key, kind in self.kinds.items() if kind == StageKind.OPEN.value)
        self.won_ids = sorted(key for key, kind in self.kinds.items() if kind == StageKind.WON.value)
        self.lost_ids = sorted(key for key, kind in self.kinds.items() if kind == StageKind.LOST.value)
        self.pipeline_ids = list(session.scalars(select(Pipeline.id)))
        self.pipeline_id = filters.pipeline_id
        scope = actor.scope(OPPORTUNITY_TYPE, Action.READ)
        conditions: list[ColumnElement[bool]] = [
            Opportunity.deleted_at.is_(None),
            scope_condition(
                actor,
                OPPORTUNITY_TYPE,
                Action.READ,
                owner_column=Opportunity.owner_id,
                team_column=Opportunity.team_id,
            ),
        ]
        if filters.pipeline_id:
            conditions.append(Opportunity.pipeline_id == filters.pipeline_id)
        if filters.team_id:
            conditions.append(Opportunity.team_id == filters.team_id)
        if filters.owner_id:
            conditions.append(Opportunity.owner_id == filters.owner_id)
        self.deals = and_(*conditions)
        self.closed_in_period = and_(
            Opportunity.closed_at >= self.start_at, Opportunity.closed_at < self.end_at
        )
        # Every deal of the pipelines asked for: history rows need no look-up of their deal.
        self.is_unrestricted = scope is Scope.ALL and not filters.team_id and not filters.owner_id

    def close_bucket(self) -> ColumnElement[Any]:
        """An open deal's month of the period by expected close date: -1 outside the period, -2 no
        date, -3 for closed deals (their month is the closing one)."""
        close_date = Opportunity.expected_close_date
        whens: list[tuple[Any, Any]] = [(close_date.is_(None), -2), (close_date < self.start, -1)]
        whens += [(close_date < boundary, index) for index, boundary in enumerate(self.day_boundaries[1:])]
        bucket = case(*whens, else_=literal(-1))
        return case((Opportunity.stage_id.in_(self.open_ids), bucket), else_=literal(-3))

    def closed_bucket(self) -> ColumnElement[Any]:
        """A closed deal's month of the period by ``closed_at`` in the reader's zone; -1 outside it."""
        closed_at = Opportunity.closed_at
        whens: list[tuple[Any, Any]] = [(closed_at.is_(None), -2), (closed_at < self.start_at, -1)]
        whens += [(closed_at < boundary, index) for index, boundary in enumerate(self.time_boundaries[1:])]
        return case(*whens, else_=literal(-1))


def _probability() -> ColumnElement[Any]:
    return func.coalesce(Opportunity.probability_manual, Opportunity.probability_auto)


def _days_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / SECONDS_PER_DAY
    return func.julianday(later) - func.julianday(earlier)


def _stages(session: Session, pipeline_id: str | None) -> list[Any]:
    statement = (
        select(
            Stage.id,
            Stage.pipeline_id,
            Stage.name,
            Stage.position,
            Stage.kind,
            Pipeline.name.label("pipeline"),
        )
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .order_by(Pipeline.position, Pipeline.name, Stage.position)
    )
    if pipeline_id:
        statement = statement.where(Stage.pipeline_id == pipeline_id)
    else:
        statement = statement.where(Pipeline.is_active.is_(True))
    return list(session.execute(statement))


@dataclass
class _Group:
    """One row of the grouped scan: deals sharing stage, owner, category, buckets and reason."""

    stage_id: str
    kind: str
    owner_id: str | None
    category: str
    close_bucket: int
    closed_bucket: int
    lost_reason_id: str | None
    deals: int
    amount: Decimal
    weighted: Decimal  # Σ amount × probability (percent, not yet divided by 100)
    days: float  # Σ days from creation to closing


FORECAST_KIND = "forecast"  # a group of open deals closing in the period (the forecast's rows)


def _groups(session: Session, query: _Query) -> list[_Group]:
    """The deals table's numbers in three grouped queries, each reading only what it needs, so
    that each section is a sum of groups (profiled: one query grouping every key at once spent
    its time evaluating CASE expressions on every row):

    * open deals by stage (and whether they lack a close date): pipeline by stage, open count;
    * open deals closing in the period, not omitted (the close-date index finds them), by owner,
      category and month: the forecast and the leaderboard's open column (kind "forecast");
    * deals closed in the period, by stage, owner, reason and closing month: win rate, deal
      size, cycle, lost reasons, the leaderboard's won column.
    """
    groups: list[_Group] = []
    weighted = func.sum(Opportunity.amount_company * _probability())
    without_date = case((Opportunity.expected_close_date.is_(None), literal(-2)), else_=literal(-5))
    for row in session.execute(
        select(
            Opportunity.stage_id,
            without_date.label("bucket"),
            func.count().label("deals"),
            func.sum(Opportunity.amount_company).label("amount"),
            weighted.label("weighted"),
        )
        .where(query.deals, Opportunity.stage_id.in_(query.open_ids))
        .group_by(Opportunity.stage_id, without_date)
    ):
        groups.append(
            _Group(
                row.stage_id,
                StageKind.OPEN.value,
                None,
                "",
                row.bucket,
                -1,
                None,
                row.deals,
                Decimal(str(row.amount or 0)),
                Decimal(str(row.weighted or 0)),
                0.0,
            )
        )
    close_bucket = query.close_bucket()
    for row in session.execute(
        select(
            Opportunity.owner_id,
            Opportunity.forecast_category,
            close_bucket.label("bucket"),
            func.count().label("deals"),
            func.sum(Opportunity.amount_company).label("amount"),
            weighted.label("weighted"),
        )
        .where(
            query.deals,
            Opportunity.expected_close_date >= query.start,
            Opportunity.expected_close_date <= query.end,
            Opportunity.stage_id.in_(query.open_ids),
            Opportunity.forecast_category != ForecastCategory.OMITTED.value,
        )
        .group_by(Opportunity.owner_id, Opportunity.forecast_category, close_bucket)
    ):
        groups.append(
            _Group(
                "",
                FORECAST_KIND,
                row.owner_id,
                row.forecast_category,
                row.bucket,
                -1,
                None,
                row.deals,
                Decimal(str(row.amount or 0)),
                Decimal(str(row.weighted or 0)),
                0.0,
            )
        )
    closed_bucket = query.closed_bucket()
    days = func.sum(_days_between(session, Opportunity.closed_at, Opportunity.created_at))
    for row in session.execute(
        select(
            Opportunity.stage_id,
            Opportunity.owner_id,
            Opportunity.lost_reason_id,
            closed_bucket.label("bucket"),
            func.count().label("deals"),
            func.sum(Opportunity.amount_company).label("amount"),
            days.label("days"),
        )
        .where(query.deals, query.closed_in_period, Opportunity.stage_id.in_(query.won_ids + query.lost_ids))
        .group_by(Opportunity.stage_id, Opportunity.owner_id, Opportunity.lost_reason_id, closed_bucket)
    ):
        groups.append(
            _Group(
                row.stage_id,
                query.kinds[row.stage_id],
                row.owner_id,
                "",
                -3,
                row.bucket,
                row.lost_reason_id,
                row.deals,
                Decimal(str(row.amount or 0)),
                Decimal(0),
                float(row.days or 0),
            )
        )
    return groups


def _is_forecast(group: _Group) -> bool:
    """Open deals closing in the period and not omitted from the forecast."""
    return group.kind == FORECAST_KIND


def _is_closed_in_period(group: _Group, kind: StageKind) -> bool:
    return group.kind == kind.value and group.closed_bucket >= 0


def _pipeline_by_stage(groups: Sequence[_Group], stages: Sequence[Any]) -> list[StageRow]:
    totals: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for group in groups:
        if group.kind == StageKind.OPEN.value:
            total = totals[group.stage_id]
            total[0] += group.deals
            total[1] += group.amount
            total[2] += group.weighted
    return [
        StageRow(
            pipeline_id=stage.pipeline_id,
            pipeline_name=stage.pipeline,
            stage_id=stage.id,
            stage_name=stage.name,
            position=stage.position,
            count=totals[stage.id][0],
            amount=_money(totals[stage.id][1]),
            weighted_amount=_money(totals[stage.id][2] / 100),
        )
        for stage in stages
        if stage.kind == StageKind.OPEN.value
    ]


def _forecast(groups: Sequence[_Group], query: _Query) -> tuple[list[ForecastMonth], int]:
    weighted: dict[int, Decimal] = defaultdict(Decimal)
    counts: dict[int, int] = defaultdict(int)
    by_category: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    won: dict[int, Decimal] = defaultdict(Decimal)
    without_date = 0
    for group in groups:
        if group.kind == StageKind.OPEN.value and group.close_bucket == -2:
            without_date += group.deals
        if _is_forecast(group):
            index = group.close_bucket
            weighted[index] += group.weighted
            counts[index] += group.deals
            category = group.category
            if category == ForecastCategory.CLOSED.value:  # an open deal typed as closed counts as commit
                category = ForecastCategory.COMMIT.value
            by_category[(index, category)] += group.amount
        elif _is_closed_in_period(group, StageKind.WON):
            won[group.closed_bucket] += group.amount
    forecast = []
    for index, month in enumerate(query.months):
        closed = won[index]
        commit = closed + by_category[(index, ForecastCategory.COMMIT.value)]
        best_case = commit + by_category[(index, ForecastCategory.BEST_CASE.value)]
        pipeline = best_case + by_category[(index, ForecastCategory.PIPELINE.value)]
        forecast.append(
            ForecastMonth(
                month=month,
                weighted_amount=_money(weighted[index] / 100),
                open_count=counts[index],
                closed=_money(closed),
                commit=_money(commit),
                best_case=_money(best_case),
                pipeline=_money(pipeline),
            )
        )
    return forecast, without_date


def _closed_in_period(groups: Sequence[_Group]) -> tuple[WinRate, Decimal | None, float | None]:
    won = [group for group in groups if _is_closed_in_period(group, StageKind.WON)]
    lost = [group for group in groups if _is_closed_in_period(group, StageKind.LOST)]
    won_count, lost_count = sum(group.deals for group in won), sum(group.deals for group in lost)
    won_amount = _money(sum((group.amount for group in won), Decimal(0)))
    lost_amount = _money(sum((group.amount for group in lost), Decimal(0)))
    win_rate = WinRate(
        won_count=won_count,
        lost_count=lost_count,
        won_amount=won_amount,
        lost_amount=lost_amount,
        by_count=won_count / (won_count + lost_count) if won_count + lost_count else None,
        by_amount=float(won_amount / (won_amount + lost_amount)) if won_amount + lost_amount else None,
    )
    average_size = _money(won_amount / won_count) if won_count else None
    cycle_days = sum(group.days for group in won) / won_count if won_count else None
    return win_rate, average_size, cycle_days


def _conversion(session: Session, query: _Query, stages: Sequence[Any]) -> list[ConversionRow]:
    ranks = {
        stage.id: (WON_RANK if stage.kind == StageKind.WON.value else stage.position)
        for stage in stages
        if stage.kind != StageKind.LOST.value
    }
    rank = case(ranks, value=StageChange.to_stage_id, else_=literal(-1)) if ranks else literal(-1)
    cohort = select(Opportunity.id).where(
        query.deals, Opportunity.created_at >= query.start_at, Opportunity.created_at < query.end_at
    )
    furthest = (
        select(StageChange.pipeline_id.label("pipeline_id"), func.max(rank).label("rank"))
        .where(StageChange.opportunity_id.in_(cohort))
        .group_by(StageChange.opportunity_id, StageChange.pipeline_id)
        .subquery()
    )
    reached_by_rank: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in session.execute(
        select(furthest.c.pipeline_id, furthest.c.rank, func.count()).group_by(
            furthest.c.pipeline_id, furthest.c.rank
        )
    ):
        reached_by_rank[row[0]].append((row[1], row[2]))
    rows: list[ConversionRow] = []
    by_pipeline: dict[str, list[Any]] = defaultdict(list)
    for stage in stages:
        by_pipeline[stage.pipeline_id].append(stage)
    for pipeline_id, pipeline_stages in by_pipeline.items():
        open_stages = [stage for stage in pipeline_stages if stage.kind == StageKind.OPEN.value]
        won_stage = next((stage for stage in pipeline_stages if stage.kind == StageKind.WON.value), None)
        ranks_reached = reached_by_rank.get(pipeline_id, [])
        funnel = [(stage, stage.position) for stage in open_stages]
        if won_stage is not None:
            funnel.append((won_stage, WON_RANK))
        reached = [
            sum(number for rank_value, number in ranks_reached if rank_value >= position)
            for _stage, position in funnel
        ]
        for index, (stage, _position) in enumerate(funnel):
            following = reached[index + 1] if index + 1 < len(funnel) else None
            rows.append(
                ConversionRow(
                    pipeline_id=pipeline_id,
                    stage_id=stage.id,
                    stage_name=stage.name,
                    position=stage.position,
                    reached=reached[index],
                    to_next=following / reached[index] if following is not None and reached[index] else None,
                )
            )
    return rows


def _time_in_stage(session: Session, query: _Query, stages: Sequence[Any]) -> list[TimeInStageRow]:
    pipelines = [query.pipeline_id] if query.pipeline_id else query.pipeline_ids
    statement = select(
        StageChange.from_stage_id,
        func.count().label("moves"),
        func.avg(StageChange.seconds_in_previous_stage).label("seconds"),
    ).where(
        StageChange.pipeline_id.in_(pipelines),  # the (pipeline, time) index finds the period's moves
        StageChange.changed_at >= query.start_at,
        StageChange.changed_at < query.end_at,
        StageChange.from_stage_id.is_not(None),
    )
    if query.is_unrestricted:
        deleted = select(Opportunity.id).where(Opportunity.deleted_at.is_not(None))
        statement = statement.where(StageChange.opportunity_id.not_in(deleted))
    else:
        statement = statement.where(StageChange.opportunity_id.in_(select(Opportunity.id).where(query.deals)))
    rows = {row.from_stage_id: row for row in session.execute(statement.group_by(StageChange.from_stage_id))}
    result = []
    for stage in stages:
        if stage.kind != StageKind.OPEN.value:
            continue
        row = rows.get(stage.id)
        result.append(
            TimeInStageRow(
                stage_id=stage.id,
                stage_name=stage.name,
                moves=row.moves if row else 0,
                average_days=float(row.seconds) / SECONDS_PER_DAY
                if row and row.seconds is not None
                else None,
            )
        )
    return result


def _lost_reasons(session: Session, groups: Sequence[_Group]) -> list[LostReasonRow]:
    totals: dict[str | None, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for group in groups:
        if _is_closed_in_period(group, StageKind.LOST):
            totals[group.lost_reason_id][0] += group.deals
            totals[group.lost_reason_id][1] += group.amount
    names = dict(
        session.execute(
            select(LostReason.id, LostReason.name).where(LostReason.id.in_([k for k in totals if k]))
        ).all()
    )
    result = [
        LostReasonRow(
            lost_reason_id=reason_id,
            name=names.get(reason_id, "") if reason_id else "",
            count=count,
            amount=_money(amount),
        )
        for reason_id, (count, amount) in totals.items()
    ]
    return sorted(result, key=lambda row: (-row.count, row.name))


def _leaderboard(
    session: Session, actor: Actor, filters: DashboardFilters, query: _Query, groups: Sequence[_Group]
) -> list[LeaderboardRow]:
    board: dict[str | None, dict[str, Any]] = {}

    def entry(owner_id: str | None) -> dict[str, Any]:
        return board.setdefault(
            owner_id,
            {
                "won_count": 0,
                "won_amount": Decimal(0),
                "open_count": 0,
                "weighted": Decimal(0),
                "target": Decimal(0),
            },
        )

    for group in groups:
        if _is_closed_in_period(group, StageKind.WON):
            values = entry(group.owner_id)
            values["won_count"] += group.deals
            values["won_amount"] += group.amount
        elif _is_forecast(group):
            values = entry(group.owner_id)
            values["open_count"] += group.deals
            values["weighted"] += group.weighted / 100
    if actor.can(SALES_TARGET.key, Action.READ):
        target_query = (
            select(SalesTarget.user_id, func.sum(SalesTarget.amount).label("amount"))
            .where(
                scope_condition(actor, SALES_TARGET.key, Action.READ, owner_column=SalesTarget.user_id),
                SalesTarget.month >= query.months[0],
                SalesTarget.month <= query.months[-1],
            )
            .group_by(SalesTarget.user_id)
        )
        if filters.owner_id:
            target_query = target_query.where(SalesTarget.user_id == filters.owner_id)
        if filters.team_id:
            target_query = target_query.where(
                SalesTarget.user_id.in_(
                    select(TeamMembership.user_id).where(TeamMembership.team_id == filters.team_id)
                )
            )
        for target_row in session.execute(target_query):
            entry(target_row.user_id)["target"] = Decimal(str(target_row.amount or 0))
    names = dict(
        session.execute(select(User.id, User.name).where(User.id.in_([key for key in board if key]))).all()
    )
    rows = [
        LeaderboardRow(
            owner_id=owner_id,
            owner_name=names.get(owner_id, "") if owner_id else "",
            won_count=values["won_count"],
            won_amount=_money(values["won_amount"]),
            target=_money(values["target"]),
            attainment=float(values["won_amount"] / values["target"]) if values["target"] else None,
            open_count=values["open_count"],
            weighted_amount=_money(values["weighted"]),
        )
        for owner_id, values in board.items()
    ]
    return sorted(rows, key=lambda row: (-row.won_amount, -row.weighted_amount, row.owner_name))


def dashboard(uow: UnitOfWork, actor: Actor, filters: DashboardFilters) -> DashboardOut:
    """The dashboard's numbers for the deals the actor may read (scope of ``opportunity``)."""
    start, end = _period(actor, filters)
    with uow:
        session = uow.session
        query = _Query(session, actor, filters, start, end)
        stages = _stages(session, filters.pipeline_id)
        groups = _groups(session, query)
        forecast, without_date = _forecast(groups, query)
        win_rate, average_size, cycle_days = _closed_in_period(groups)
        open_count = sum(group.deals for group in groups if group.kind == StageKind.OPEN.value)
        velocity = None
        if average_size is not None and cycle_days and win_rate.by_count is not None:
            velocity = _money(
                Decimal(open_count)
                * Decimal(str(win_rate.by_count))
                * average_size
                / Decimal(str(cycle_days))
            )
        return DashboardOut(
            currency=company_currency_code(session),
            pipeline_id=filters.pipeline_id,
            period_start=start,
            period_end=end,
            team_id=filters.team_id,
            owner_id=filters.owner_id,
            stages=_pipeline_by_stage(groups, stages),
            forecast=forecast,
            open_without_close_date=without_date,
            win_rate=win_rate,
            average_deal_size=average_size,
            average_cycle_days=cycle_days,
            velocity_per_day=velocity,
            conversion=_conversion(session, query, stages),
            time_in_stage=_time_in_stage(session, query, stages),
            lost_reasons=_lost_reasons(session, groups),
            leaderboard=_leaderboard(session, actor, filters, query, groups),
        )
