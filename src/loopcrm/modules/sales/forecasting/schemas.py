"""Input and output contracts of the win-probability model, targets and the sales dashboard."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from loopcrm.modules.sales.forecasting.models import Outcome
from loopcrm.platform.auth.schemas import Input

__all__ = ["Outcome"]

RecordId = Annotated[str, Field(min_length=1, max_length=36)]
TargetAmount = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
MAX_ATTRIBUTE_FEATURES = 20


def _feature_names(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = value.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _first_of_month(value: date) -> date:
    return value.replace(day=1)


FeatureNames = Annotated[
    list[Annotated[str, Field(max_length=50, pattern=r"^\s*[\w.\-]*\s*$")]],
    Field(max_length=MAX_ATTRIBUTE_FEATURES),
    AfterValidator(_feature_names),
]
Month = Annotated[date, AfterValidator(_first_of_month), Field(description="any day; the month counts")]


# ---------------------------------------------------------------- win probability


class ModelScope(StrEnum):
    """Which counts scored a deal."""

    TEAM = "team"  # the deal's team has enough closed deals for a model of its own
    GLOBAL = "global"  # every team's closed deals together (the team has too few)
    STAGE_DEFAULT = "stage_default"  # no model has enough data (or the deal is closed): the stage's default


class WinModelSettingsUpdate(Input):
    attribute_names: FeatureNames = Field(
        default_factory=list,
        description="built-ins (source, amount_band, has_competitors, from_lead) or keys of attributes",
    )
    min_team_closed: int = Field(default=30, ge=1, le=100_000)
    min_global_closed: int = Field(default=10, ge=1, le=100_000)


class WinModelSettingsOut(BaseModel):
    attribute_names: list[str]
    min_team_closed: int
    min_global_closed: int
    alpha: float
    rebuilt_at: datetime | None
    version: int


class ScopeSummary(BaseModel):
    scope: str  # a team id, or "" for the global model
    team_name: str | None = None
    won: int
    lost: int
    is_used: bool  # enough closed deals for the model of this scope to score deals


class ModelSummary(BaseModel):
    settings: WinModelSettingsOut
    scopes: list[ScopeSummary]
    observations: int


class FactorOut(BaseModel):
    """One feature's evidence; a likelihood ratio above 1 raises the odds of winning."""

    feature: str
    value: str
    value_label: str  # the stage's name for the stage feature, else the value
    won: int
    lost: int
    likelihood_ratio: float | None  # None: the model never saw this value, so it was left out


class ProbabilityOut(BaseModel):
    opportunity_id: str
    probability: int  # what the model gives now (or the stage's default)
    probability_auto: int  # what the deal stores as its automatic probability
    probability_manual: int | None
    stage_default: int
    scope: ModelScope
    team_id: str | None
    won: int  # closed deals of the scope the model learned from
    lost: int
    prior_won: float | None
    alpha: float
    factors: list[FactorOut]


# ---------------------------------------------------------------- targets


class TargetSet(Input):
    """A rep's target for a month; setting it again replaces the amount."""

    user_id: RecordId
    month: Month
    amount: TargetAmount


class TargetUpdate(Input):
    amount: TargetAmount


class TargetOut(BaseModel):
    id: str
    user_id: str
    user_name: str | None = None
    month: date
    amount: Decimal
    currency: str
    version: int


class TargetFilters(BaseModel):
    month_from: date | None = None
    month_to: date | None = None
    user_id: str | None = None


# ---------------------------------------------------------------- dashboard


class DashboardFilters(BaseModel):
    """What the dashboard covers. Periods are inclusive dates; the default is the current quarter
    in the reader's time zone."""

    pipeline_id: str | None = None  # None: every pipeline
    period_start: date | None = None
    period_end: date | None = None
    team_id: str | None = None
    owner_id: str | None = None


class StageRow(BaseModel):
    """Open deals in one stage now (not limited to the period)."""

    pipeline_id: str
    pipeline_name: str
    stage_id: str
    stage_name: str
    position: int
    count: int
    amount: Decimal
    weighted_amount: Decimal


class ForecastMonth(BaseModel):
    """One close month: Σ amount × probability of open deals closing in it, and the cumulative
    forecast categories (closed ⊂ commit ⊂ best case ⊂ pipeline) in amounts."""

    month: date
    weighted_amount: Decimal
    open_count: int
    closed: Decimal  # won in the month (closed_at)
    commit: Decimal  # closed + open deals in commit
    best_case: Decimal  # commit + open deals in best case
    pipeline: Decimal  # best case + open deals in pipeline


class WinRate(BaseModel):
    won_count: int
    lost_count: int
    won_amount: Decimal
    lost_amount: Decimal
    by_count: float | None  # won / (won + lost) deals closed in the period
    by_amount: float | None  # won amount / (won + lost) amount


class ConversionRow(BaseModel):
    """Deals created in the period that reached a stage or a later one (won counts as later than
    every open stage); ``to_next`` is reached(next) / reached(this)."""

    pipeline_id: str
    stage_id: str
    stage_name: str
    position: int
    reached: int
    to_next: float | None


class TimeInStageRow(BaseModel):
    stage_id: str
    stage_name: str
    moves: int  # moves out of the stage in the period
    average_days: float | None


class LostReasonRow(BaseModel):
    lost_reason_id: str | None
    name: str
    count: int
    amount: Decimal


class LeaderboardRow(BaseModel):
    owner_id: str | None
    owner_name: str
    won_count: int
    won_amount: Decimal
    target: Decimal  # Σ the owner's monthly targets of the period's months
    attainment: float | None  # won_amount / target
    open_count: int
    weighted_amount: Decimal


class DashboardOut(BaseModel):
    currency: str
    pipeline_id: str | None
    period_start: date
    period_end: date
    team_id: str | None
    owner_id: str | None
    stages: list[StageRow]
    forecast: list[ForecastMonth]
    open_without_close_date: int
    win_rate: WinRate
    average_deal_size: Decimal | None  # mean amount of deals won in the period
    average_cycle_days: float | None  # mean days from creation to winning, deals won in the period
    velocity_per_day: Decimal | None  # open deals × win rate (count) × average deal size / cycle days
    conversion: list[ConversionRow]
    time_in_stage: list[TimeInStageRow]
    lost_reasons: list[LostReasonRow]
    leaderboard: list[LeaderboardRow]
