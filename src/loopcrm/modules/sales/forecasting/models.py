"""Tables of the win-probability model and of sales targets (ADR 0014).

The naive Bayes model is stored as counts, not as fitted numbers: a deal that is won, lost or
reopened adds or takes back its own counts in the transaction that moved it, so the model is live,
and a rebuild recomputes every count from the closed deals. Each closed deal's observation (its
outcome and the feature values it was learned with) is kept, so that reopening it takes back
exactly what closing it added, even if its attributes changed in between.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, new_id, utc_now

# The scope key of the global model (every team's closed deals together).
GLOBAL_SCOPE = ""
# The feature key of the class totals (a row with ``value`` ""): how many deals were won and lost.
CLASS_TOTALS = ""
# The feature of the stages a deal passed through (its values are stage ids).
STAGE_FEATURE = "stage"


class Outcome(StrEnum):
    """How a closed deal ended, as the model learns it."""

    WON = "won"  # the customer bought
    LOST = "lost"  # the customer did not buy


class WinModelSettings(Record, Base):
    """The model's configuration (one row): which attributes it learns from, and how many closed
    deals a team needs before its own model replaces the global one."""

    __tablename__ = "sales_win_model_settings"

    # Feature names in order: built-ins ("source", "amount_band", "has_competitors", "from_lead")
    # or keys of the opportunity's ``attributes`` (industry, province, …).
    attribute_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_team_closed: Mapped[int] = mapped_column(Integer, default=30)
    min_global_closed: Mapped[int] = mapped_column(Integer, default=10)
    rebuilt_at: Mapped[datetime | None] = mapped_column(default=None)


class WinObservation(Base):
    """What one closed deal taught the model: its outcome and feature values when it closed."""

    __tablename__ = "sales_win_observations"

    opportunity_id: Mapped[str] = mapped_column(
        ForeignKey("sales_opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(10))
    # {"stage": [stage ids reached], "<attribute>": "<value>", …}
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    observed_at: Mapped[datetime] = mapped_column(default=utc_now)


class WinCount(Base):
    """How many won and lost deals of a scope had one feature value.

    ``scope`` is a team id, or "" for the global model. The row with feature "" and value "" holds
    the class totals of the scope.
    """

    __tablename__ = "sales_win_counts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(36))
    feature: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(200))
    won: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("scope", "feature", "value", name="uq_sales_win_counts_key"),)


class SalesTarget(Record, Base):
    """A rep's sales target for one calendar month, in the company currency."""

    __tablename__ = "sales_targets"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))

    __table_args__ = (
        UniqueConstraint("user_id", "month", name="uq_sales_targets_user_month"),
        Index("ix_sales_targets_month", "month"),
    )
