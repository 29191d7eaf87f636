"""The sales demo's settings, made through the areas' own use cases (they are few, and each is
an admin's click): the standard pipeline in Chinese and the South China team's hardware pipeline,
lost reasons, currencies, products and price lists, assignment rules and reps' availability,
monthly targets, a web form and lead scoring rules.

Each step first looks for what it would make (by name, code or SKU) and makes only what is
missing, so a load that stopped half-way is finished by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import AvailabilityUpdate, ConditionIn, RuleCreate
from loopcrm.modules.sales.demo import vocabulary as words
from loopcrm.modules.sales.demo.world import PipelineRef, PriceListRef, ProductRef, Rep, StageRef
from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.schemas import TargetSet
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import LeadFormIn, ScoringRuleIn
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    CurrencyCreate,
    LostReasonCreate,
    PipelineCreate,
    PipelineOut,
    StageIn,
)
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import PriceEntryIn, PriceListCreate, ProductCreate
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork

NewUow = Callable[[], UnitOfWork]
STANDARD_PIPELINE = "标准销售流程"
KEY_ACCOUNT_TAG = "重点客户"  # the customers demo's tag of key accounts
KEY_ACCOUNT_LIST = "重点客户价"
COMPANY_TIME_ZONE = "Asia/Shanghai"
FORM_NAME = "官网试用申请"
TARGET_MONTHS_BACK = 12
TARGET_MONTHS_AHEAD = 2
# Monthly targets in yuan: managers carry a smaller personal quota than their reps.
MONTHLY_TARGETS = {"sales_rep": Decimal(600_000), "sales_manager": Decimal(300_000)}


@dataclass(frozen=True)
class SalesSetup:
    pipelines: tuple[PipelineRef, ...]
    lost_reasons: tuple[tuple[str, str], ...]
    products: tuple[ProductRef, ...]
    price_lists: dict[str, PriceListRef]
    key_account_list: PriceListRef | None
    rates: dict[str, Decimal]
    approval_threshold: Decimal
    validity_days: int
    form_id: str
    lead_rules: dict[str, tuple[str, str]]


def _pipeline_ref(pipeline: PipelineOut, line: str) -> PipelineRef:
    return PipelineRef(
        id=pipeline.id,
        team_id=pipeline.team_id,
        line=line,
        stages=tuple(
            StageRef(
                id=stage.id,
                position=stage.position,
                kind=stage.kind.value,
                probability=stage.probability,
                forecast_category=stage.forecast_category.value,
                is_orderable=stage.is_orderable,
            )
            for stage in pipeline.stages
            if stage.is_active
        ),
    )


def ensure_pipelines(new_uow: NewUow, actor: Actor, south_team_id: str | None) -> tuple[PipelineRef, ...]:
    existing = {pipeline.name: pipeline for pipeline in opportunities.list_pipelines(new_uow(), actor)}
    standard = existing.get(STANDARD_PIPELINE)
    if standard is None:
        standard = opportunities.create_standard_pipeline(new_uow(), actor, "zh-CN")
    hardware = existing.get(words.HARDWARE_PIPELINE)
    if hardware is None:
        hardware = opportunities.create_pipeline(
            new_uow(),
            actor,
            PipelineCreate.model_validate(
                {
                    "name": words.HARDWARE_PIPELINE,
                    "team_id": south_team_id,
                    "stages": [
                        StageIn.model_validate(
                            {
                                "name": name,
                                "kind": kind,
                                "probability": probability,
                                "forecast_category": category,
                                "is_orderable": orderable,
                            }
                        )
                        for name, kind, probability, category, orderable in words.HARDWARE_STAGES
                    ],
                }
            ),
        )
    return (_pipeline_ref(standard, "software"), _pipeline_ref(hardware, "hardware"))


def ensure_lost_reasons(new_uow: NewUow, actor: Actor) -> tuple[tuple[str, str], ...]:
    names = {reason.name for reason in opportunities.list_lost_reasons(new_uow(), actor)}
    for name in words.EXTRA_LOST_REASONS:
        if name not in names:
            opportunities.create_lost_reason(new_uow(), actor, LostReasonCreate(name=name))
    return tuple(
        (reason.id, reason.name)
        for reason in opportunities.list_lost_reasons(new_uow(), actor)
        if reason.is_active
    )


def ensure_currencies(new_uow: NewUow, actor: Actor) -> dict[str, Decimal]:
    codes = {currency.code for currency in opportunities.list_currencies(new_uow(), actor)}
    for code, name, rate in words.CURRENCIES:
        if code not in codes:
            opportunities.create_currency(new_uow(), actor, CurrencyCreate(code=code, name=name, rate=rate))
    return {
        currency.code: Decimal(currency.rate)
        for currency in opportunities.list_currencies(new_uow(), actor)
        if currency.is_active
    }


def ensure_products(new_uow: NewUow, actor: Actor) -> tuple[ProductRef, ...]:
    found = {}
    for sku, *_ in words.PRODUCTS:
        page = quotes.list_products(new_uow(), actor, search=sku, limit=10)
        match = next((product for product in page.items if product.sku == sku), None)
        if match is not None:
            found[sku] = match
    products = []
    for sku, name, unit, category, tax_rate, _price, kind in words.PRODUCTS:
        product = found.get(sku) or quotes.create_product(
            new_uow(),
            actor,
            ProductCreate(
                sku=sku, name=name, unit=unit, category=category, default_tax_rate=Decimal(tax_rate)
            ),
        )
        products.append(
            ProductRef(product.id, product.sku, product.name, product.unit, product.default_tax_rate, kind)
        )
    return tuple(products)


def _list_prices(currency: str, key_account: bool) -> dict[str, Decimal]:
    """Unit prices by SKU: the list price in yuan, converted and rounded for another currency."""
    prices = {}
    for sku, *_, price, _kind in words.PRODUCTS:
        value = Decimal(price)
        if currency != "CNY":
            value = (value * words.FOREIGN_PRICE_FACTORS[currency]).quantize(Decimal(1))
        if key_account:
            value = (value * words.KEY_ACCOUNT_DISCOUNT).quantize(Decimal(1))
        prices[sku] = value
    return prices


def ensure_price_lists(
    new_uow: NewUow, actor: Actor, products: Sequence[ProductRef], currencies: Sequence[str]
) -> tuple[dict[str, PriceListRef], PriceListRef | None]:
    ids = {product.sku: product.id for product in products}
    existing = {price_list.name: price_list for price_list in quotes.list_price_lists(new_uow(), actor)}
    key_tag = next(
        (tag.id for tag in customers.list_tags(new_uow(), actor) if tag.name == KEY_ACCOUNT_TAG), None
    )
    wanted: list[tuple[str, str, str | None]] = [
        (f"{currency} 标准价", currency, None) for currency in ("CNY", "USD", "EUR", "HKD")
    ]
    if key_tag is not None:
        wanted.append((KEY_ACCOUNT_LIST, "CNY", key_tag))
    lists: dict[str, PriceListRef] = {}
    key_list: PriceListRef | None = None
    for name, currency, tag_id in wanted:
        if currency not in currencies:
            continue
        price_list = existing.get(name)
        if price_list is None:
            prices = _list_prices(currency, key_account=tag_id is not None)
            price_list = quotes.create_price_list(
                new_uow(),
                actor,
                PriceListCreate(
                    name=name,
                    currency=currency,
                    customer_tag_id=tag_id,
                    is_default=tag_id is None,
                    entries=[
                        PriceEntryIn(product_id=ids[sku], unit_price=price) for sku, price in prices.items()
                    ],
                ),
            )
        reference = PriceListRef(
            price_list.id, {entry.product_id: entry.unit_price for entry in price_list.entries}
        )
        if tag_id is None:
            lists[currency] = reference
        else:
            key_list = reference
    return lists, key_list


def ensure_assignment(new_uow: NewUow, actor: Actor, reps: Sequence[Rep]) -> dict[str, tuple[str, str]]:
    """Lead rules by region (South China in turn, East China by load, the rest weighted by
    capacity, the sales director as the fallback), a rule for large deals, and the reps' capacity,
    working week and a week away."""
    existing = {(rule.record_type.value, rule.name): rule for rule in assignment.list_rules(new_uow(), actor)}
    sellers = [rep for rep in reps if rep.region]
    director = next((rep for rep in reps if not rep.region), None)
    fallback = director.user_id if director else None

    def ids(region: str) -> list[str]:
        return [rep.user_id for rep in sellers if rep.region == region]

    rules: list[tuple[str, str, str | None, str, list[tuple[str, str, Any]]]] = [
        ("lead", "华南区域线索", "south", "round_robin", [("province", "in", list(words.SOUTH_PROVINCES))]),
        ("lead", "华东区域线索", "east", "load_balanced", [("province", "in", list(words.EAST_PROVINCES))]),
        ("lead", "其他地区线索", "", "weighted", []),
        ("opportunity", "百万以上大单", None, "round_robin", [("amount", "at_least", "1000000")]),
    ]
    by_region: dict[str, tuple[str, str]] = {}
    for record_type, name, region, method, conditions in rules:
        rule = existing.get((record_type, name))
        if rule is None:
            if region is None:  # large deals go to the managers
                candidates = [rep.user_id for rep in reps if rep.region and rep.manager_id == rep.user_id]
            else:
                candidates = ids(region) if region else [rep.user_id for rep in sellers]
            rule = assignment.create_rule(
                new_uow(),
                actor,
                RuleCreate.model_validate(
                    {
                        "record_type": record_type,
                        "name": name,
                        "method": method,
                        "conditions": [
                            ConditionIn.model_validate({"field": field, "operator": operator, "value": value})
                            for field, operator, value in conditions
                        ],
                        "user_ids": candidates,
                        "fallback_user_id": fallback,
                    }
                ),
            )
        if region is not None:
            by_region[region] = (rule.id, rule.name)
    return by_region


def ensure_availability(new_uow: NewUow, actor: Actor, reps: Sequence[Rep], now: datetime) -> None:
    """Capacity and weight for every seller, office hours for the South China reps, and the next
    week away for one of them (so the assignment page shows someone away)."""
    sellers = [rep for rep in reps if rep.region and rep.manager_id != rep.user_id]
    for number, rep in enumerate(sellers):
        values: dict[str, object] = {
            "capacity": 150 - 30 * (number % 2),
            "weight": 2 if number % 2 == 0 else 1,
        }
        if rep.region == "south":
            values.update(working_days=[0, 1, 2, 3, 4], work_start=time(9), work_end=time(18))
        if number == len(sellers) - 1:
            values.update(away_from=now + timedelta(days=7), away_until=now + timedelta(days=12))
        assignment.update_availability(
            new_uow(),
            actor,
            rep.user_id,
            AvailabilityUpdate.model_validate(values),
            company_time_zone=COMPANY_TIME_ZONE,
        )


def _month(day: date, offset: int) -> date:
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def ensure_targets(new_uow: NewUow, actor: Actor, reps: Sequence[tuple[str, str]], today: date) -> int:
    """A monthly target for every rep and manager for the past year and the next two months
    (setting one again replaces it: nothing changes on a second run)."""
    count = 0
    for user_id, role in reps:
        base = MONTHLY_TARGETS.get(role)
        if base is None:
            continue
        for offset in range(-TARGET_MONTHS_BACK, TARGET_MONTHS_AHEAD + 1):
            month = _month(today, offset)
            seasonal = Decimal("1.2") if month.month in (6, 11, 12) else Decimal(1)
            amount = (base * seasonal).quantize(Decimal(1000))
            forecasting.set_target(new_uow(), actor, TargetSet(user_id=user_id, month=month, amount=amount))
            count += 1
    return count


def ensure_form(new_uow: NewUow, actor: Actor, owner_id: str | None) -> str:
    existing = next((form for form in leads.list_forms(new_uow(), actor) if form.name == FORM_NAME), None)
    if existing is not None:
        return existing.id
    form = leads.create_form(
        new_uow(),
        actor,
        LeadFormIn.model_validate(
            {
                "name": FORM_NAME,
                "title": "预约产品演示 / Book a demo",
                "fields": ["family_name", "given_name", "company_name", "title", "email", "phone", "city"],
                "required_fields": ["family_name", "company_name", "phone"],
                "thank_you_message": "感谢您的关注，我们的顾问将在一个工作日内联系您。",
                "allowed_origins": ["https://www.example.com"],
                "source": "website",
                "utm_campaign": "2026-official-site",
                "owner_id": owner_id,
            }
        ),
    )
    return form.id


SCORING_RULES = (
    ("presence", "email", None, 10),
    ("presence", "phone", None, 10),
    ("presence", "company_name", None, 5),
    ("attribute", "industry", "information_technology", 15),
    ("attribute", "industry", "wholesale_retail", 10),
    ("attribute", "source", "referral", 20),
    ("attribute", "source", "event", 10),
    ("attribute", "city", "上海", 5),
    ("activity", "activity", "meeting", 15),
    ("activity", "activity", "call", 5),
)


def ensure_scoring_rules(new_uow: NewUow, actor: Actor) -> None:
    existing = {(rule.kind.value, rule.field, rule.value) for rule in leads.list_rules(new_uow(), actor)}
    for position, (kind, field, value, points) in enumerate(SCORING_RULES):
        if (kind, field, value) not in existing:
            leads.create_rule(
                new_uow(),
                actor,
                ScoringRuleIn.model_validate(
                    {
                        "kind": kind,
                        "field": field,
                        "value": value,
                        "points": points,
                        "position": position * 10,
                    }
                ),
            )


def ensure_settings(
    new_uow: NewUow,
    actor: Actor,
    reps: Sequence[Rep],
    roles: Sequence[tuple[str, str]],
    now: datetime,
) -> SalesSetup:
    south_team = next((rep.team_id for rep in reps if rep.region == "south"), None)
    pipelines = ensure_pipelines(new_uow, actor, south_team)
    lost_reasons = ensure_lost_reasons(new_uow, actor)
    rates = ensure_currencies(new_uow, actor)
    products = ensure_products(new_uow, actor)
    price_lists, key_list = ensure_price_lists(new_uow, actor, products, list(rates))
    lead_rules = ensure_assignment(new_uow, actor, reps)
    ensure_availability(new_uow, actor, reps, now)
    ensure_targets(new_uow, actor, roles, now.date())
    director = next((rep.user_id for rep in reps if not rep.region), None)
    form_id = ensure_form(new_uow, actor, director)
    ensure_scoring_rules(new_uow, actor)
    quote_settings = quotes.get_quote_settings(new_uow(), actor)
    return SalesSetup(
        pipelines=pipelines,
        lost_reasons=lost_reasons,
        products=products,
        price_lists=price_lists,
        key_account_list=key_list,
        rates=rates,
        approval_threshold=quote_settings.approval_threshold_percent,
        validity_days=quote_settings.default_validity_days,
        form_id=form_id,
        lead_rules=lead_rules,
    )
