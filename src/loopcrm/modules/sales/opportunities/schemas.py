"""Input and output contracts of pipelines, stages, lost reasons, currencies and opportunities.

Other sales areas, the API and the pages use these; updates say what they change by the fields
they set (``model_fields_set``): an absent field stays as it is, a field set to ``null`` is cleared.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator

from loopcrm.modules.customers.schemas import BuyingRole
from loopcrm.modules.sales.opportunities.models import ForecastCategory, StageKind
from loopcrm.platform.auth.schemas import Input

__all__ = [
    "BuyingRole",
    "ForecastCategory",
    "StageKind",
]


def _trimmed(value: str) -> str:
    return value.strip()


def _trimmed_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _currency_code(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 3 or not value.isalpha() or not value.isascii():
        raise ValueError("a currency code is three letters (ISO 4217), such as CNY")
    return value


RecordId = Annotated[str, Field(min_length=1, max_length=36)]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S"), AfterValidator(_trimmed)]
DealName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_trimmed)]
CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency_code)]
Percent = Annotated[int, Field(ge=0, le=100)]
Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
Rate = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=10)]
NextStep = Annotated[str | None, Field(max_length=300), AfterValidator(_trimmed_or_none)]
LongText = Annotated[str | None, Field(max_length=10_000), AfterValidator(_trimmed_or_none)]
Source = Annotated[str | None, Field(max_length=30), AfterValidator(_trimmed_or_none)]
MAX_STAGES = 30
MAX_CONTACTS = 50
MAX_COMPETITORS = 20
MAX_ATTRIBUTES = 50


# ---------------------------------------------------------------- pipelines and stages


class StageIn(Input):
    """A stage as a pipeline's form or API gives it; ``id`` names an existing stage to keep."""

    id: RecordId | None = None
    name: Label
    kind: StageKind = StageKind.OPEN
    probability: Percent = 0
    forecast_category: ForecastCategory = ForecastCategory.PIPELINE
    is_orderable: bool = False
    is_active: bool = True


class PipelineCreate(Input):
    name: Label
    team_id: RecordId | None = None
    is_default: bool = False
    is_active: bool = True
    stages: list[StageIn] = Field(min_length=1, max_length=MAX_STAGES, description="in order")


class PipelineUpdate(Input):
    """``stages`` replaces the whole ordered list: stages given with an ``id`` are kept and
    changed, stages without one are added, and stages left out are deleted (refused when deals
    use them: deactivate those instead)."""

    name: Label = ""
    team_id: RecordId | None = None
    is_default: bool = False
    is_active: bool = True
    stages: list[StageIn] = Field(default_factory=list, max_length=MAX_STAGES)


class StageOut(BaseModel):
    id: str
    pipeline_id: str
    name: str
    position: int
    kind: StageKind
    probability: int
    forecast_category: ForecastCategory
    is_orderable: bool
    is_active: bool
    deal_count: int = 0  # deals in the stage, open or closed (a stage with deals cannot be deleted)


class PipelineOut(BaseModel):
    id: str
    name: str
    team_id: str | None
    is_default: bool
    is_active: bool
    position: int
    version: int
    stages: list[StageOut]

    def stage(self, stage_id: str) -> StageOut | None:
        return next((stage for stage in self.stages if stage.id == stage_id), None)

    @property
    def open_stages(self) -> list[StageOut]:
        return [stage for stage in self.stages if stage.kind is StageKind.OPEN]


# ---------------------------------------------------------------- lost reasons and currencies


class LostReasonCreate(Input):
    name: Label
    position: int | None = Field(default=None, ge=0, description="defaults to the end of the list")
    is_active: bool = True


class LostReasonUpdate(Input):
    name: Label = ""
    position: int | None = Field(default=None, ge=0)
    is_active: bool = True


class LostReasonOut(BaseModel):
    id: str
    name: str
    position: int
    is_active: bool
    version: int


class CurrencyCreate(Input):
    code: CurrencyCode
    name: Label
    rate: Rate = Field(description="units of the company currency one unit of this one is worth")
    is_company: bool = False
    is_active: bool = True


class CurrencyUpdate(Input):
    name: Label = ""
    rate: Rate = Decimal(1)
    is_company: bool = False
    is_active: bool = True


class CurrencyOut(BaseModel):
    id: str
    code: str
    name: str
    rate: Decimal
    is_company: bool
    is_active: bool
    version: int


class ActiveSettings(BaseModel):
    """The active pipelines (with stages), lost reasons and currencies, read together."""

    pipelines: list[PipelineOut]
    lost_reasons: list[LostReasonOut]
    currencies: list[CurrencyOut]


# ---------------------------------------------------------------- opportunities


class OpportunityContactIn(Input):
    contact_id: RecordId
    buying_role: BuyingRole
    is_primary: bool = False


class OpportunityContactOut(BaseModel):
    contact_id: str
    contact_name: str
    buying_role: BuyingRole
    is_primary: bool


def _distinct_texts(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = value.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


Competitors = Annotated[
    list[Annotated[str, Field(max_length=100)]],
    Field(max_length=MAX_COMPETITORS),
    AfterValidator(_distinct_texts),
]
Attributes = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=50)], Annotated[str, Field(max_length=200)]],
    Field(max_length=MAX_ATTRIBUTES),
]


class OpportunityCreate(Input):
    name: DealName
    account_id: RecordId | None = None
    pipeline_id: RecordId | None = Field(default=None, description="defaults to the default pipeline")
    stage_id: RecordId | None = Field(default=None, description="defaults to the first open stage")
    amount: Money = Decimal(0)
    currency: CurrencyCode | None = Field(default=None, description="defaults to the company currency")
    expected_close_date: date | None = None
    probability_manual: Percent | None = Field(default=None, description="typed; sticks until cleared")
    forecast_category: ForecastCategory | None = Field(default=None, description="typed; else the stage's")
    owner_id: RecordId | None = Field(default=None, description="defaults to the creator")
    team_id: RecordId | None = None
    source: Source = None
    lead_id: RecordId | None = None
    competitors: Competitors = Field(default_factory=list)
    next_step: NextStep = None
    description: LongText = None
    attributes: Attributes = Field(
        default_factory=dict, description="what the win-probability model learns from"
    )
    contacts: list[OpportunityContactIn] = Field(default_factory=list, max_length=MAX_CONTACTS)
    lost_reason_id: RecordId | None = Field(default=None, description="when created in a lost stage")
    lost_note: LongText = None


class OpportunityUpdate(OpportunityCreate):
    """Fields to change; absent fields stay as they are. Setting ``probability_manual`` or
    ``forecast_category`` to ``null`` returns it to the computed value. ``contacts`` replaces the
    whole list. A new ``stage_id`` is a stage move with the same rules as :func:`change_stage`."""

    name: DealName = ""

    @field_validator("name")
    @classmethod
    def _name_not_cleared(cls, value: str) -> str:
        if not value:
            raise ValueError("name must not be empty")
        return value


class StageMove(Input):
    stage_id: RecordId
    lost_reason_id: RecordId | None = None
    lost_note: LongText = None


class OpportunityOut(BaseModel):
    id: str
    name: str
    account_id: str | None
    account_name: str | None = None
    pipeline_id: str
    pipeline_name: str = ""
    stage_id: str
    stage_name: str = ""
    stage_kind: StageKind
    amount: Decimal
    currency: str
    amount_company: Decimal
    expected_close_date: date | None
    probability: int  # the effective one: typed when typed, else computed
    probability_auto: int
    probability_manual: int | None
    forecast_category: ForecastCategory
    forecast_category_is_manual: bool
    owner_id: str | None
    owner_name: str | None = None
    team_id: str | None
    source: str | None
    lead_id: str | None
    competitors: list[str]
    next_step: str | None
    description: str | None
    lost_reason_id: str | None
    lost_reason_name: str | None = None
    lost_note: str | None
    stage_entered_at: datetime
    closed_at: datetime | None
    is_overdue: bool
    attributes: dict[str, Any]
    contacts: list[OpportunityContactOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    version: int

    @property
    def weighted_amount(self) -> Decimal:
        """``amount_company`` times the effective probability, in the company currency."""
        return (self.amount_company * self.probability / 100).quantize(Decimal("0.01"))


class StageChangeOut(BaseModel):
    id: str
    from_stage_id: str | None
    from_stage_name: str | None
    to_stage_id: str
    to_stage_name: str
    changed_at: datetime
    changed_by: str | None
    changed_by_name: str | None
    amount_company: Decimal
    seconds_in_previous_stage: int | None


class OpportunityFilters(BaseModel):
    """What a list or the kanban narrows deals to; every field is optional."""

    pipeline_id: str | None = None
    stage_id: str | None = None
    kind: StageKind | None = None
    owner_id: str | None = None
    team_id: str | None = None
    account_id: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    overdue: bool | None = None
    search: str | None = None


class OpportunitySort(BaseModel):
    """A list's order: a column and a direction."""

    column: str = "created_at"
    descending: bool = True


class KanbanCard(BaseModel):
    id: str
    name: str
    account_name: str | None
    owner_name: str | None
    amount: Decimal
    currency: str
    amount_company: Decimal
    probability: int
    expected_close_date: date | None
    is_overdue: bool
    version: int


class KanbanColumn(BaseModel):
    stage: StageOut
    count: int  # every matching deal in the stage, not only the cards shown
    amount: Decimal  # in the company currency
    weighted_amount: Decimal  # amount times effective probability
    cards: list[KanbanCard]

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


class KanbanBoard(BaseModel):
    pipeline: PipelineOut
    currency: str
    columns: list[KanbanColumn]
