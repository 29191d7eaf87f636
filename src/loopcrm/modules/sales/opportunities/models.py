"""Tables of pipelines and opportunities, and the vocabularies they use.

An opportunity's probability has two sources kept apart (ADR 0013): ``probability_auto`` is what
LoopCRM computes (the stage's default, or the win-probability model once it has learned), and
``probability_manual`` is what a user typed, which sticks until they clear it. The effective
probability is the typed one when there is one.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, SoftDeletable, new_id, utc_now


class StageKind(StrEnum):
    """Whether a deal in a stage is still being worked or is closed, and how."""

    OPEN = "open"  # still being worked
    WON = "won"  # closed: the customer bought
    LOST = "lost"  # closed: the customer did not buy (a lost reason is required)


class ForecastCategory(StrEnum):
    """How sure a rep is of a deal, for the forecast roll-up (cumulative in this order)."""

    CLOSED = "closed"  # won: counted as booked
    COMMIT = "commit"  # the rep commits to closing it in its period
    BEST_CASE = "best_case"  # could close in its period if things go well
    PIPELINE = "pipeline"  # open, not yet likely in its period
    OMITTED = "omitted"  # left out of the forecast (lost, or deliberately excluded)


class Pipeline(Record, Base):
    """A sales process with its own ordered stages, per team or product line."""

    __tablename__ = "sales_pipelines"

    name: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Stage(Record, Base):
    """One step of a pipeline. ``is_orderable`` marks the open stages where an order may be taken:
    a deal is marked won by hand only from such a stage (an order wins it from any stage)."""

    __tablename__ = "sales_stages"

    pipeline_id: Mapped[str] = mapped_column(ForeignKey("sales_pipelines.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10), default=StageKind.OPEN.value)
    probability: Mapped[int] = mapped_column(Integer, default=0)  # default win probability, 0–100
    forecast_category: Mapped[str] = mapped_column(String(20), default=ForecastCategory.PIPELINE.value)
    is_orderable: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LostReason(Record, Base):
    """Why deals are lost; admins keep the list, a lost deal must name one."""

    __tablename__ = "sales_lost_reasons"

    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Currency(Record, Base):
    """A currency deals and quotes may use, with its rate to the company currency.

    ``rate`` is how many units of the company currency one unit of this currency is worth; the
    company currency itself (exactly one row with ``is_company``) has rate 1.
    """

    __tablename__ = "sales_currencies"

    code: Mapped[str] = mapped_column(String(3), unique=True)  # ISO 4217
    name: Mapped[str] = mapped_column(String(60))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10), default=Decimal(1))
    is_company: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Opportunity(Record, SoftDeletable, Base):
    """A potential deal (商机) in a pipeline stage."""

    __tablename__ = "sales_opportunities"

    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("sales_pipelines.id"))
    stage_id: Mapped[str] = mapped_column(ForeignKey("sales_stages.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    # ``amount`` in the company currency at the currency's rate when last written; sums read it.
    amount_company: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    probability_auto: Mapped[int] = mapped_column(Integer, default=0)  # 0–100, computed
    probability_manual: Mapped[int | None] = mapped_column(Integer)  # 0–100, typed; sticks
    forecast_category: Mapped[str] = mapped_column(String(20), default=ForecastCategory.PIPELINE.value)
    forecast_category_is_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    source: Mapped[str | None] = mapped_column(String(30))  # customers.CustomerSource values
    lead_id: Mapped[str | None] = mapped_column(String(36))  # the lead it was converted from
    competitors: Mapped[list[str]] = mapped_column(JSON, default=list)  # competitor names
    next_step: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    lost_reason_id: Mapped[str | None] = mapped_column(ForeignKey("sales_lost_reasons.id"))
    lost_note: Mapped[str | None] = mapped_column(Text)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Attributes the win-probability model learns from (lead source, industry, region, size band …),
    # copied at creation and conversion so the model never reads other modules' tables.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # The kanban's column totals: every value they read is in the index (no table lookups), so
        # summing a pipeline of 10,000 deals reads the index alone.
        Index(
            "ix_sales_opportunities_pipeline_stage",
            "pipeline_id",
            "stage_id",
            "deleted_at",
            "owner_id",
            "team_id",
            "expected_close_date",
            "amount_company",
            "probability_manual",
            "probability_auto",
        ),
        # The kanban's cards: a column's first deals by close date, read in index order.
        Index("ix_sales_opportunities_stage_close", "stage_id", "expected_close_date", "id"),
        Index("ix_sales_opportunities_owner", "owner_id", "id"),
        Index("ix_sales_opportunities_account", "account_id"),
        Index("ix_sales_opportunities_close_date", "expected_close_date"),
        # The dashboard's conversion cohort: the deals created in the period.
        Index("ix_sales_opportunities_created", "created_at", "deleted_at"),
    )

    @property
    def probability(self) -> int:
        """The effective probability: the typed one when a user typed one, else the computed one."""
        return self.probability_manual if self.probability_manual is not None else self.probability_auto


class OpportunityContact(Base):
    """A contact's buying role (采购角色) in one opportunity; exactly one contact is primary."""

    __tablename__ = "sales_opportunity_contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("sales_opportunities.id"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    buying_role: Mapped[str] = mapped_column(String(30))  # customers.BuyingRole values
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("opportunity_id", "contact_id", name="uq_sales_opportunity_contacts_pair"),
        Index(
            "ix_sales_opportunity_contacts_one_primary",
            "opportunity_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )


class StageChange(Base):
    """One move of an opportunity between stages (or its creation, with no ``from_stage_id``).

    Stage conversion, time in stage and sales-cycle length are computed from these rows; they are
    only ever appended.
    """

    __tablename__ = "sales_stage_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("sales_opportunities.id"))
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("sales_pipelines.id"))
    from_stage_id: Mapped[str | None] = mapped_column(ForeignKey("sales_stages.id"))
    to_stage_id: Mapped[str] = mapped_column(ForeignKey("sales_stages.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    changed_by: Mapped[str | None] = mapped_column(String(36))
    amount_company: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    seconds_in_previous_stage: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # The dashboard's stage conversion reads a cohort's moves (stage, pipeline) and its time in
        # stage a period's moves (stage left, seconds spent, deal): every column they read is in
        # these indexes, so neither visits the table (110k history rows a year at 100k deals).
        Index(
            "ix_sales_stage_changes_opportunity",
            "opportunity_id",
            "changed_at",
            "to_stage_id",
            "pipeline_id",
        ),
        Index(
            "ix_sales_stage_changes_pipeline_time",
            "pipeline_id",
            "changed_at",
            "from_stage_id",
            "seconds_in_previous_stage",
            "opportunity_id",
        ),
    )
