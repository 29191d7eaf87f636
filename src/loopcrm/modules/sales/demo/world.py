"""What the sales demo is planned over: the CRM's demo customers and people, and the sales
settings the loader made first (pipelines, lost reasons, products and price lists), as plain data.

The loader reads these through the services; the planner only sees this snapshot, so planning is
pure and the same snapshot and seed give the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Person:
    """A contact of the CRM, as a deal's buying role or a converted lead's person."""

    id: str
    family_name: str
    given_name: str
    full_name: str
    email: str | None
    phone: str | None
    title: str | None
    owner_id: str | None
    team_id: str | None


@dataclass(frozen=True)
class Company:
    """An account of the CRM with the contacts working there now."""

    id: str
    name: str
    name_en: str | None
    industry: str | None
    province: str | None
    city: str | None
    source: str | None
    owner_id: str | None
    employees: int
    is_key_account: bool
    people: tuple[Person, ...] = ()


@dataclass(frozen=True)
class Rep:
    """A demo person who sells: their team, its manager, and the region the team covers."""

    user_id: str
    email: str
    team_id: str | None
    manager_id: str | None
    region: str  # "east", "south" or "" (the head office)


@dataclass(frozen=True)
class StageRef:
    id: str
    position: int
    kind: str
    probability: int
    forecast_category: str
    is_orderable: bool


@dataclass(frozen=True)
class PipelineRef:
    id: str
    team_id: str | None
    line: str  # "software" (the standard pipeline) or "hardware" (the South China team's)
    stages: tuple[StageRef, ...]

    @property
    def open_stages(self) -> tuple[StageRef, ...]:
        return tuple(stage for stage in self.stages if stage.kind == "open")

    def stage_of_kind(self, kind: str) -> StageRef:
        return next(stage for stage in self.stages if stage.kind == kind)


@dataclass(frozen=True)
class ProductRef:
    id: str
    sku: str
    name: str
    unit: str
    tax_rate: Decimal
    kind: str  # software, service, hardware or consumable


@dataclass(frozen=True)
class PriceListRef:
    id: str
    prices: dict[str, Decimal]  # product id → unit price


@dataclass(frozen=True)
class SalesWorld:
    """Everything the plan refers to, by id."""

    companies: tuple[Company, ...]
    consumers: tuple[Person, ...]  # contacts without a company: the web shop's buyers
    reps: tuple[Rep, ...]
    admin_id: str
    form_id: str
    pipelines: tuple[PipelineRef, ...]  # the standard pipeline first
    lost_reasons: tuple[tuple[str, str], ...]  # (id, name), in the list's order
    products: tuple[ProductRef, ...]
    price_lists: dict[str, PriceListRef]  # currency → its default list
    key_account_list: PriceListRef | None  # the CNY list of key accounts
    rates: dict[str, Decimal]  # currency → rate to the company currency
    approval_threshold: Decimal
    validity_days: int
    lead_rules: dict[str, tuple[str, str]] = field(default_factory=dict)  # region → (rule id, name)
    account_count: int = 0  # every account (the demo is sized by it), dormant ones too
