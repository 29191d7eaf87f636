"""The sales demo as plain data: a seeded plan of leads, deals with a year of stage history,
quotes and orders over the CRM's demo customers (no database; see ``world``).

What the plan holds, for the full demo (1,000 accounts: 3 leads and 1.5 deals an account):

* about 3,000 leads from the website, ads, social media, events, referrals, partners and cold
  calls, tagged with UTM values, in every status: the older a lead, the likelier it was worked,
  nurtured or disqualified (with a reason); about a sixth were converted, most of them into the
  deals that name them;
* about 1,500 deals created over the past year in the standard pipeline, and for the South China
  team partly in its hardware pipeline. Each one walks its stages with a realistic time in each
  (log-normal around a mean per stage) and drops out, is won or stays open where today falls:
  every move is a stage-history row with the seconds spent in the stage it left. Lost deals have
  a lost reason (losing to a competitor when it names one); deals are won from an orderable
  stage: by an order from an accepted quote, or by hand when there was no quote;
* contacts of the account with buying roles (one primary), competitors, next steps, currencies
  (foreign companies often buy in USD, EUR or HKD);
* quotes of most deals that reached a proposal: revised versions superseded, discounts above the
  approval threshold approved by the owner's manager (or still pending), sent, accepted (an order
  follows), rejected or expired; open deals' quotes are still valid today;
* orders of the accepted quotes, fulfilled or not, paid in full, in part or not yet, and orders of
  the web shop's consumers from Tmall, JD, Youzan and Douyin.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate, pairwise
from typing import Any, TypeVar

from loopcrm.modules.sales.demo import vocabulary as words
from loopcrm.modules.sales.demo.world import (
    Company,
    Person,
    PipelineRef,
    PriceListRef,
    ProductRef,
    Rep,
    SalesWorld,
    StageRef,
)
from loopcrm.modules.sales.quotes.service.arithmetic import LineAmounts, line_amounts, quote_amounts

T = TypeVar("T")
DEMO_SALES_SEED = 20261210
LEADS_PER_ACCOUNT = 3
DEALS_PER_ACCOUNT = 1.5
WEBSHOP_ORDERS_PER_ACCOUNT = 0.3
DAY = timedelta(days=1)
CENT = Decimal("0.01")

# Mean days a deal spends in each open stage, by position, and the chance it moves on from it.
MEAN_DAYS = {"software": (14.0, 24.0, 30.0, 21.0), "hardware": (7.0, 14.0, 14.0, 10.0)}
ADVANCE = {"software": (0.78, 0.74, 0.76), "hardware": (0.80, 0.76, 0.78)}
WIN_AT_LAST = 0.66  # the last open stage: won, else lost
WIN_AT_PROPOSAL = 0.10  # the first orderable stage: won straight away (a small, simple deal)
QUOTED = 0.85  # deals reaching a proposal that get a quote (the rest agree a contract by hand)
REVISED = 0.45  # quoted deals reaching the last open stage whose quote is revised there
FROM_LEADS = 0.25  # deals converted from a lead
CONVERTED_WITHOUT_DEAL = 0.04  # leads converted into a contact only
OVERDUE = 0.12  # open deals past their expected close date
MOBILE_PREFIXES = ("135", "136", "138", "139", "150", "158", "159", "177", "186", "187", "188", "199")
ROLES = ("technical_evaluator", "economic_buyer", "influencer", "user", "gatekeeper")


# ---------------------------------------------------------------- what the plan holds


@dataclass
class PlannedMove:
    from_stage: StageRef | None
    to_stage: StageRef
    at: datetime
    seconds_in_previous: int | None


@dataclass
class PlannedLine:
    product: ProductRef
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    amounts: LineAmounts


@dataclass
class PlannedQuote:
    deal: int  # index of the deal
    group: int  # versions of one quote share it (and its number)
    version_number: int
    status: str
    currency: str
    price_list_id: str | None
    lines: list[PlannedLine]
    created_at: datetime
    valid_until: date
    submitted_at: datetime | None = None
    approval_decided_by: str | None = None
    approval_decided_at: datetime | None = None
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    rejection_reason: str | None = None

    @property
    def total(self) -> Decimal:
        return quote_amounts(line.amounts for line in self.lines).total

    @property
    def max_discount(self) -> Decimal:
        return max((line.discount_percent for line in self.lines), default=Decimal(0))


@dataclass
class PlannedPayment:
    amount: Decimal
    paid_at: datetime
    method: str
    reference: str | None


@dataclass
class PlannedOrder:
    origin: str  # quote, api or import
    deal: int | None
    quote: int | None  # index of the accepted quote version
    company: Company | None
    person: Person | None
    currency: str
    lines: list[PlannedLine]
    ordered_at: datetime
    status: str
    owner_id: str | None
    team_id: str | None
    fulfilled_at: datetime | None = None
    cancelled_at: datetime | None = None
    payments: list[PlannedPayment] = field(default_factory=list)
    channel: str | None = None
    external_id: str | None = None

    @property
    def total(self) -> Decimal:
        return quote_amounts(line.amounts for line in self.lines).total


@dataclass
class PlannedDeal:
    name: str
    company: Company
    pipeline: PipelineRef
    owner: Rep
    created_at: datetime
    moves: list[PlannedMove]
    currency: str
    amount: Decimal
    contacts: list[tuple[Person, str, bool]]  # person, buying role, is primary
    competitors: list[str]
    expected_close_date: date | None = None
    closed_at: datetime | None = None
    lost_reason_id: str | None = None
    lost_note: str | None = None
    won_by_order: bool = False
    probability_manual: int | None = None
    next_step: str | None = None
    source: str | None = None
    lead: int | None = None  # index of the lead it was converted from
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def stage(self) -> StageRef:
        return self.moves[-1].to_stage

    def reached(self, position: int) -> datetime | None:
        """When the deal entered the open stage at ``position``, if it did."""
        return next((move.at for move in self.moves if move.to_stage.position == position), None)


@dataclass
class PlannedLead:
    values: dict[str, Any]  # LeadCreate's fields
    created_at: datetime
    status: str
    owner: Rep
    rule: tuple[str, str] | None  # (rule id, name) that assigned it
    method: str
    form: bool = False
    disqualification_reason: str | None = None
    disqualification_note: str | None = None
    converted_at: datetime | None = None
    converted_company: Company | None = None
    converted_person: Person | None = None
    converted_deal: int | None = None


@dataclass
class SalesPlan:
    leads: list[PlannedLead]
    deals: list[PlannedDeal]
    quotes: list[PlannedQuote]
    orders: list[PlannedOrder]


# ---------------------------------------------------------------- drawing


class _Draw:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)  # noqa: S311 -- a seeded generator makes the demo repeatable

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def pick(self, items: Sequence[T]) -> T:
        return items[self.random.randrange(len(items))]

    def weighted(self, pairs: Sequence[tuple[T, float]]) -> T:
        cumulative = list(accumulate(weight for _, weight in pairs))
        return self.random.choices([item for item, _ in pairs], cum_weights=cumulative, k=1)[0]

    def between(self, low: float, high: float) -> float:
        return self.random.uniform(low, high)

    def days(self, mean: float) -> timedelta:
        """A log-normal time around ``mean`` days: most near it, a few much longer."""
        sigma = 0.75
        return timedelta(days=mean * self.random.lognormvariate(-sigma * sigma / 2, sigma))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _settle_before(quote: PlannedQuote, limit: datetime) -> None:
    """Keep the quote's submission, approval and sending before ``limit`` (the next version, the
    customer's answer or the deal's close), in their order."""
    latest = limit - timedelta(minutes=30)
    for name in ("sent_at", "approval_decided_at", "submitted_at"):
        value = getattr(quote, name)
        if value is not None and value > latest:
            setattr(quote, name, max(latest, quote.created_at))
        value = getattr(quote, name)
        if value is not None:
            latest = value


def _is_foreign(company: Company) -> bool:
    """A foreign company's China entity, named after its city: 鹰木食品(上海)有限公司."""
    return "(" in company.name or "（" in company.name


def _short_name(company: Company) -> str:
    name = company.name
    for suffix in ("股份有限公司", "有限责任公司", "有限公司", "集团", "（中国）", "(中国)"):
        name = name.replace(suffix, "")
    return name[:24] or company.name[:24]


class SalesPlanner:
    def __init__(self, world: SalesWorld, seed: int, now: datetime) -> None:
        self.world = world
        self.draw = _Draw(seed)
        self.now = now
        self.today = now.date()
        self.reps_by_id = {rep.user_id: rep for rep in world.reps}
        self.sellers = [rep for rep in world.reps if rep.region]
        self.turns: dict[str, int] = {}
        self.quotes: list[PlannedQuote] = []
        self.orders: list[PlannedOrder] = []
        self.groups = 0

    # ------------------------------------------------------------ people and owners

    def owner_for(self, company: Company) -> Rep:
        rep = self.reps_by_id.get(company.owner_id or "")
        if rep is not None and rep.region:
            return rep
        return self.rep_for_region(company.province)

    def region_of(self, province: str | None) -> str:
        if province in words.SOUTH_PROVINCES:
            return "south"
        if province in words.EAST_PROVINCES:
            return "east"
        return ""

    def rep_for_region(self, province: str | None) -> Rep:
        region = self.region_of(province)
        candidates = [rep for rep in self.sellers if rep.region == region] or self.sellers
        turn = self.turns.get(region, 0)
        self.turns[region] = turn + 1
        return candidates[turn % len(candidates)]

    # ------------------------------------------------------------ deals

    def deal(self, company: Company) -> PlannedDeal:
        draw = self.draw
        owner = self.owner_for(company)
        pipelines = self.world.pipelines
        pipeline = pipelines[0]
        if owner.region == "south" and len(pipelines) > 1 and draw.chance(0.45):
            pipeline = pipelines[1]
        age = 365 * draw.random.random() ** 1.3
        created_at = self.now - timedelta(days=max(age, 0.5), hours=draw.between(0, 8))
        currency = self.currency_for(company)
        deal = PlannedDeal(
            name=self.deal_name(company, pipeline, currency),
            company=company,
            pipeline=pipeline,
            owner=owner,
            created_at=created_at,
            moves=[PlannedMove(None, pipeline.open_stages[0], created_at, None)],
            currency=currency,
            amount=self.amount_without_quote(company, pipeline, currency),
            source=company.source,
            contacts=self.buying_roles(company),
            competitors=self.competitors(),
        )
        self.walk(deal)
        return deal

    def deal_name(self, company: Company, pipeline: PipelineRef, currency: str) -> str:
        draw = self.draw
        if company.name_en and _is_foreign(company) and currency != "CNY":
            return draw.pick(words.ENGLISH_DEAL_NAMES).format(company=company.name_en[:60])
        templates = words.HARDWARE_DEAL_NAMES if pipeline.line == "hardware" else words.SOFTWARE_DEAL_NAMES
        seats = draw.pick((20, 50, 100, 200))
        return draw.pick(templates).format(company=_short_name(company), seats=seats)

    def currency_for(self, company: Company) -> str:
        if company.province == "香港":
            return "HKD"
        if _is_foreign(company):
            return self.draw.weighted([("USD", 40), ("EUR", 20), ("HKD", 5), ("CNY", 35)])
        return "CNY"

    def amount_without_quote(self, company: Company, pipeline: PipelineRef, currency: str) -> Decimal:
        size = max(company.employees, 10)
        base = 40_000 * (size / 50) ** 0.35 * (0.7 if pipeline.line == "hardware" else 1.0)
        value = Decimal(min(base * self.draw.random.lognormvariate(0, 0.6), 3_000_000))
        value = value / self.world.rates.get(currency, Decimal(1))
        step = Decimal(1000) if currency in ("CNY", "HKD") else Decimal(100)
        return max((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step, step)

    def buying_roles(self, company: Company) -> list[tuple[Person, str, bool]]:
        people = list(company.people)
        if not people:
            return []
        draw = self.draw
        chosen = draw.random.sample(people, k=min(len(people), draw.weighted([(1, 4), (2, 4), (3, 2)])))
        primary_role = draw.weighted([("decision_maker", 5), ("champion", 4), ("economic_buyer", 2)])
        roles = [(chosen[0], primary_role, True)]
        roles += [(person, draw.pick(ROLES), False) for person in chosen[1:]]
        return roles

    def competitors(self) -> list[str]:
        draw = self.draw
        if not draw.chance(0.4):
            return []
        return draw.random.sample(words.COMPETITORS, k=draw.weighted([(1, 7), (2, 3)]))

    def walk(self, deal: PlannedDeal) -> None:
        """Move the deal through its stages until it closes or today falls in a stage."""
        draw = self.draw
        line = deal.pipeline.line
        open_stages = deal.pipeline.open_stages
        at = deal.created_at
        position = 0
        while True:
            stage = open_stages[position]
            leaving = at + draw.days(MEAN_DAYS[line][min(position, 3)])
            if leaving >= self.now:
                self.keep_open(deal, position)
                return
            last = position == len(open_stages) - 1
            roll = draw.random.random()
            if last:
                outcome = "won" if roll < WIN_AT_LAST else "lost"
            elif roll < ADVANCE[line][min(position, 2)]:
                outcome = "next"
            elif stage.is_orderable and roll < ADVANCE[line][min(position, 2)] + WIN_AT_PROPOSAL:
                outcome = "won"
            else:
                outcome = "lost"
            if outcome == "next":
                self.move(deal, open_stages[position + 1], leaving)
                position += 1
                at = leaving
                continue
            if outcome == "won" and not stage.is_orderable:  # not reachable with these pipelines
                outcome = "lost"
            self.close(deal, outcome, leaving)
            return

    def move(self, deal: PlannedDeal, stage: StageRef, at: datetime) -> None:
        previous = deal.moves[-1]
        seconds = max(0, int((at - previous.at).total_seconds()))
        deal.moves.append(PlannedMove(previous.to_stage, stage, at, seconds))

    def close(self, deal: PlannedDeal, outcome: str, at: datetime) -> None:
        draw = self.draw
        stage = deal.pipeline.stage_of_kind(outcome)
        self.move(deal, stage, at)
        deal.closed_at = at
        deal.expected_close_date = (at + timedelta(days=draw.between(-20, 10))).date()
        if outcome == "lost":
            deal.lost_reason_id = self.lost_reason(deal)
            deal.lost_note = draw.pick(words.LOST_NOTES)

    def lost_reason(self, deal: PlannedDeal) -> str:
        reasons = self.world.lost_reasons
        by_name = {name: reason_id for reason_id, name in reasons}
        if deal.competitors and "输给竞争对手" in by_name and self.draw.chance(0.6):
            return by_name["输给竞争对手"]
        weights = {"价格过高": 5, "没有预算": 4, "客户未决策": 4, "时机不对": 3, "产品不满足需求": 2}
        return self.draw.weighted([(reason_id, weights.get(name, 1)) for reason_id, name in reasons])

    def keep_open(self, deal: PlannedDeal, position: int) -> None:
        draw = self.draw
        if draw.chance(OVERDUE):
            deal.expected_close_date = self.today - timedelta(days=int(draw.between(1, 40)))
        else:
            remaining = sum(MEAN_DAYS[deal.pipeline.line][position:])
            deal.expected_close_date = self.today + timedelta(
                days=int(remaining * draw.between(0.4, 1.6)) + 1
            )
        if draw.chance(0.06):
            deal.probability_manual = int(draw.pick((20, 40, 60, 80, 90)))
        deal.next_step = draw.pick(words.NEXT_STEPS)

    # ------------------------------------------------------------ quotes

    def quote_deal(self, index: int, deal: PlannedDeal) -> None:
        """Quote a deal that reached its first orderable stage (most of them), and settle what
        the quote's last version became with the deal's outcome."""
        draw = self.draw
        orderable = [stage for stage in deal.pipeline.open_stages if stage.is_orderable]
        proposal_at = deal.reached(orderable[0].position) if orderable else None
        if proposal_at is None or not draw.chance(QUOTED):
            return
        end = deal.closed_at or self.now
        first_at = proposal_at + min(timedelta(days=2), (end - proposal_at) * 0.3)
        lines = self.quote_lines(deal)
        group = self.groups
        self.groups += 1
        versions = [self.version(index, deal, group, 1, lines, first_at)]
        last_stage_at = deal.reached(deal.pipeline.open_stages[-1].position)
        if last_stage_at is not None and last_stage_at > first_at and draw.chance(REVISED):
            lines = self.revised_lines(deal, lines)
            versions.append(
                self.version(index, deal, group, 2, lines, last_stage_at + (end - last_stage_at) * 0.2)
            )
        kind = deal.stage.kind
        latest = versions[-1]
        if kind != "lost" and latest.valid_until < end.date():  # lapsed before the answer: revised
            fresh_at = max(latest.created_at + timedelta(hours=2), end - timedelta(days=draw.between(1, 10)))
            versions.append(self.version(index, deal, group, latest.version_number + 1, lines, fresh_at))
            latest = versions[-1]
        for older, newer in pairwise(versions):
            older.status = "superseded"
            _settle_before(older, newer.created_at)
        if kind == "won":
            latest.status = "accepted"
            latest.answered_at = end
            _settle_before(latest, end)
            deal.won_by_order = True
        elif kind == "lost":
            _settle_before(latest, end)
            if latest.valid_until >= end.date() or draw.chance(0.6):
                latest.status = "rejected"
                latest.answered_at = end
                latest.rejection_reason = draw.pick(words.REJECTION_REASONS)
            else:
                latest.status = "expired"
        else:
            self.open_quote_status(latest)
        deal.amount = latest.total
        self.quotes.extend(versions)

    def version(
        self, index: int, deal: PlannedDeal, group: int, number: int, lines: list[PlannedLine], at: datetime
    ) -> PlannedQuote:
        """A version submitted, approved (by the owner's manager when its discount needs it) and
        sent soon after it was written."""
        draw = self.draw
        price_list = self.price_list_for(deal)
        quote = PlannedQuote(
            deal=index,
            group=group,
            version_number=number,
            status="sent",
            currency=deal.currency,
            price_list_id=price_list.id if price_list else None,
            lines=lines,
            created_at=at,
            valid_until=(at + timedelta(days=self.world.validity_days)).date(),
        )
        quote.submitted_at = at + timedelta(hours=draw.between(1, 6))
        sent_from = quote.submitted_at
        if quote.max_discount > self.world.approval_threshold:
            quote.approval_decided_by = deal.owner.manager_id or self.world.admin_id
            quote.approval_decided_at = quote.submitted_at + timedelta(hours=draw.between(2, 30))
            sent_from = quote.approval_decided_at
        quote.sent_at = sent_from + timedelta(hours=draw.between(1, 24))
        return quote

    def open_quote_status(self, quote: PlannedQuote) -> None:
        """The latest quote of an open deal: being written, waiting for approval, or out."""
        draw = self.draw
        state = draw.weighted([("draft", 12), ("pending_approval", 10), ("approved", 14), ("sent", 64)])
        needs_approval = quote.max_discount > self.world.approval_threshold
        if needs_approval and state != "draft":
            state = draw.weighted([("pending_approval", 1), (state, 1)])
        elif state == "pending_approval":  # a discount the rep asked a manager for
            quote.lines = [
                self.line(line.product, line.quantity, line.unit_price, self.world.approval_threshold + 5)
                for line in quote.lines
            ]
        if state in ("draft", "pending_approval"):
            quote.sent_at = quote.approval_decided_at = quote.approval_decided_by = None
            if state == "draft":
                quote.submitted_at = None
        elif state == "approved":
            quote.sent_at = None
        quote.status = state
        for name in ("submitted_at", "approval_decided_at", "sent_at"):
            value = getattr(quote, name)
            if value is not None and value > self.now:
                setattr(quote, name, self.now - timedelta(minutes=5))

    def price_list_for(self, deal: PlannedDeal) -> PriceListRef | None:
        if deal.currency == "CNY" and deal.company.is_key_account and self.world.key_account_list:
            return self.world.key_account_list
        return self.world.price_lists.get(deal.currency)

    def quote_lines(self, deal: PlannedDeal) -> list[PlannedLine]:
        draw = self.draw
        by_sku = {product.sku: product for product in self.world.products}
        size = max(deal.company.employees, 10)
        items: list[tuple[str, int]] = []
        if deal.pipeline.line == "hardware":
            stores = max(2, int(size**0.5 * draw.between(0.3, 1.2)))
            items.append(("HW-POS-10", stores))
            items.append(("HW-SCAN", stores))
            if draw.chance(0.6):
                items.append(("HW-PRINT", stores))
            if draw.chance(0.3):
                items.append(("HW-KIOSK", max(1, stores // 4)))
            if draw.chance(0.5):
                items.append(("CS-PAPER", stores * 2))
        else:
            seats = max(5, int(min(size, 3000) * draw.between(0.05, 0.3)))
            items.append((draw.pick(("LC-CRM-STD", "LC-CRM-PRO")), seats))
            if draw.chance(0.3):
                items.append((draw.pick(("LC-CDP", "LC-MKT")), 1))
            items.append(("SV-IMPL", int(draw.between(5, 60))))
            if draw.chance(0.4):
                items.append(("SV-TRAIN", int(draw.between(1, 5))))
            if draw.chance(0.3):
                items.append(("SV-SUPPORT", 1))
        discount = Decimal(draw.weighted([(0, 30), (5, 20), (10, 20), (15, 12), (20, 8), (25, 6), (30, 4)]))
        price_list = self.price_list_for(deal)
        lines = []
        for sku, quantity in items:
            product = by_sku.get(sku)
            if product is None or price_list is None or product.id not in price_list.prices:
                continue
            lines.append(self.line(product, Decimal(quantity), price_list.prices[product.id], discount))
        return lines

    def line(
        self, product: ProductRef, quantity: Decimal, unit_price: Decimal, discount: Decimal
    ) -> PlannedLine:
        amounts = line_amounts(quantity, unit_price, discount, product.tax_rate)
        return PlannedLine(product, quantity, unit_price, discount, amounts)

    def revised_lines(self, deal: PlannedDeal, lines: list[PlannedLine]) -> list[PlannedLine]:
        """A revision in negotiation: five points more discount on every line (30 at most)."""
        del deal
        return [
            self.line(
                line.product, line.quantity, line.unit_price, min(line.discount_percent + 5, Decimal(30))
            )
            for line in lines
        ]

    # ------------------------------------------------------------ orders

    def order_of_quote(self, quote_index: int) -> None:
        quote = self.quotes[quote_index]
        deal = self.deals[quote.deal]
        ordered_at = quote.answered_at or self.now
        primary = next((person for person, _, is_primary in deal.contacts if is_primary), None)
        order = PlannedOrder(
            origin="quote",
            deal=quote.deal,
            quote=quote_index,
            company=deal.company,
            person=primary,
            currency=quote.currency,
            lines=quote.lines,
            ordered_at=ordered_at,
            status="confirmed",
            owner_id=deal.owner.user_id,
            team_id=deal.owner.team_id,
        )
        self.deliver_and_pay(order, business=True)
        self.orders.append(order)

    def webshop_order(self, number: int) -> None:
        draw = self.draw
        person = draw.pick(self.world.consumers)
        channel = draw.weighted(words.WEBSHOP_CHANNELS)
        ordered_at = self.now - timedelta(days=365 * draw.random.random(), hours=draw.between(0, 12))
        price_list = self.world.price_lists.get("CNY")
        choices = [product for product in self.world.products if product.sku in words.WEBSHOP_SKUS]
        if price_list is None:
            return
        lines = []
        for product in draw.random.sample(
            choices, k=min(len(choices), draw.weighted([(1, 6), (2, 3), (3, 1)]))
        ):
            if product.id not in price_list.prices:
                continue
            quantity = Decimal(
                int(draw.between(1, 2.5)) if product.kind == "hardware" else int(draw.between(1, 10))
            )
            promotion = Decimal(draw.weighted([(0, 7), (5, 2), (10, 1)]))
            lines.append(self.line(product, quantity, price_list.prices[product.id], promotion))
        if not lines:
            return
        order = PlannedOrder(
            origin="import" if channel in ("tmall", "jd") else "api",
            deal=None,
            quote=None,
            company=None,
            person=person,
            currency="CNY",
            lines=lines,
            ordered_at=ordered_at,
            status="confirmed",
            owner_id=person.owner_id,
            team_id=person.team_id,
            channel=channel,
            external_id=f"{channel.upper()}{ordered_at:%Y%m%d}{number:06d}",
        )
        self.deliver_and_pay(order, business=False)
        self.orders.append(order)

    def deliver_and_pay(self, order: PlannedOrder, *, business: bool) -> None:
        draw = self.draw
        total = order.total
        age = self.now - order.ordered_at
        if not business and draw.chance(0.05):
            order.status = "cancelled"
            order.cancelled_at = min(order.ordered_at + timedelta(hours=draw.between(1, 48)), self.now)
            return
        delivery = timedelta(days=draw.between(5, 25) if business else draw.between(1, 4))
        if age > delivery:
            order.status = "fulfilled"
            order.fulfilled_at = order.ordered_at + delivery
        if not business:  # shops take the money first
            method = "alipay" if order.channel in ("tmall", "douyin") else draw.pick(("wechat_pay", "alipay"))
            reference = f"P{order.external_id}"
            order.payments.append(
                PlannedPayment(total, order.ordered_at + timedelta(minutes=2), method, reference)
            )
            return
        if order.status == "fulfilled":
            paid = draw.weighted([("all", 70), ("half", 20), ("none", 10)])
        else:
            paid = draw.weighted([("deposit", 40), ("none", 60)])
        first_at = order.ordered_at + timedelta(days=draw.between(1, 7))
        if paid == "all" and draw.chance(0.5):
            half = _cents(total / 2)
            order.payments.append(PlannedPayment(half, first_at, "bank_transfer", None))
            second_at = min(order.fulfilled_at or self.now, self.now) + timedelta(days=draw.between(1, 10))
            order.payments.append(
                PlannedPayment(total - half, min(second_at, self.now), "bank_transfer", None)
            )
        elif paid == "all":
            order.payments.append(PlannedPayment(total, min(first_at, self.now), "bank_transfer", None))
        elif paid in ("half", "deposit"):
            share = Decimal("0.5") if paid == "half" else Decimal("0.3")
            order.payments.append(
                PlannedPayment(_cents(total * share), min(first_at, self.now), "bank_transfer", None)
            )
        order.payments = [payment for payment in order.payments if payment.amount > 0]

    # ------------------------------------------------------------ leads

    def lead_of_deal(self, index: int, deal: PlannedDeal) -> PlannedLead | None:
        primary = next((person for person, _, is_primary in deal.contacts if is_primary), None)
        if primary is None or not (primary.email or primary.phone):
            return None
        draw = self.draw
        created_at = deal.created_at - timedelta(days=draw.between(2, 25))
        values = self.lead_values(primary.family_name, primary.given_name, deal.company.name)
        values.update(
            title=primary.title,
            email=primary.email,
            phone=primary.phone,
            industry=deal.company.industry,
            province=deal.company.province,
            city=deal.company.city,
        )
        rule, method = None, "manual"  # given to the account's rep, who converted it into the deal
        lead = PlannedLead(
            values=values,
            created_at=created_at,
            status="qualified",
            owner=deal.owner,
            rule=rule,
            method=method,
            converted_at=deal.created_at,
            converted_company=deal.company,
            converted_person=primary,
            converted_deal=index,
        )
        deal.source = values.get("source")
        deal.attributes.update(
            {
                name: str(values[name])
                for name in ("utm_campaign", "utm_medium", "utm_source")
                if values.get(name)
            }
        )
        return lead

    def lead_values(self, family_name: str, given_name: str, company_name: str | None) -> dict[str, Any]:
        draw = self.draw
        source, _, tags = draw.weighted([(item, item[1]) for item in words.LEAD_SOURCES])
        utm_source, utm_medium, utm_campaign = draw.pick(tags)
        return {
            "family_name": family_name,
            "given_name": given_name,
            "company_name": company_name,
            "source": source,
            "utm_source": utm_source,
            "utm_medium": utm_medium,
            "utm_campaign": utm_campaign,
            "description": draw.pick(words.LEAD_DESCRIPTIONS),
        }

    def lead_rule(self, province: str | None) -> tuple[tuple[str, str] | None, str]:
        region = self.region_of(province)
        rule = self.world.lead_rules.get(region) or self.world.lead_rules.get("")
        method = {"south": "round_robin", "east": "load_balanced"}.get(region, "weighted")
        return rule, method

    def new_lead(self, number: int) -> PlannedLead:
        draw = self.draw
        english = draw.chance(0.08)
        if english:
            family, given = draw.pick(words.ENGLISH_PEOPLE)
            family_py, given_py = family.lower().replace("ü", "ue"), given.lower().replace("-", "")
        else:
            (family, family_py), (given, given_py) = (
                draw.pick(words.FAMILY_NAMES),
                draw.pick(words.GIVEN_NAMES),
            )
        province, city, _ = draw.weighted([(region, region[2]) for region in words.REGIONS])
        (prefix, prefix_py), (trade, industry) = (
            draw.pick(words.COMPANY_PREFIXES),
            draw.pick(words.COMPANY_TRADES),
        )
        company = f"{city}{prefix}{trade}有限公司" if draw.chance(0.9) else None
        values = self.lead_values(family, given, company)
        domain = (
            f"{prefix_py}{number % 97}.com.cn" if company else draw.pick(("qq.com", "163.com", "126.com"))
        )
        if draw.chance(0.8):
            values["email"] = f"{given_py}.{family_py}{number}@{domain}"
        if draw.chance(0.7) or "email" not in values:
            values["phone"] = f"+86{draw.pick(MOBILE_PREFIXES)}{draw.random.randrange(10**8):08d}"
        values.update(
            title=draw.pick(words.ENGLISH_TITLES if english else words.LEAD_TITLES),
            industry=industry if company else None,
            province=province,
            city=city,
            website=f"https://www.{domain}" if company and draw.chance(0.5) else None,
        )
        age = 365 * draw.random.random() ** 1.5
        created_at = self.now - timedelta(days=max(age, 0.05))
        status, reason = self.lead_status(age)
        rule, method = self.lead_rule(province)
        return PlannedLead(
            values=values,
            created_at=created_at,
            status=status,
            owner=self.rep_for_region(province),
            rule=rule,
            method=method,
            form=values["source"] == "website" and values.get("utm_medium") is None and draw.chance(0.6),
            disqualification_reason=reason,
            disqualification_note=words.DISQUALIFICATION_NOTES.get(reason or "") if reason else None,
        )

    def lead_status(self, age_days: float) -> tuple[str, str | None]:
        draw = self.draw
        if age_days < 7:
            status = draw.weighted([("new", 70), ("working", 30)])
        elif age_days < 30:
            status = draw.weighted([("new", 25), ("working", 45), ("nurturing", 15), ("disqualified", 15)])
        elif age_days < 120:
            status = draw.weighted([("new", 5), ("working", 30), ("nurturing", 35), ("disqualified", 30)])
        else:
            status = draw.weighted([("working", 10), ("nurturing", 45), ("disqualified", 45)])
        reason = None
        if status == "disqualified":
            reason = draw.weighted(
                [("no_budget", 5), ("no_need", 4), ("unreachable", 4), ("bad_timing", 3), ("competitor", 1),
                 ("spam", 1), ("duplicate", 1)]
            )  # fmt: skip
        return status, reason

    def converted_contact_lead(self) -> PlannedLead | None:
        companies = [company for company in self.world.companies if company.people]
        if not companies:
            return None
        draw = self.draw
        company = draw.pick(companies)
        person = draw.pick(company.people)
        if not (person.email or person.phone):
            return None
        values = self.lead_values(person.family_name, person.given_name, company.name)
        values.update(
            title=person.title,
            email=person.email,
            phone=person.phone,
            industry=company.industry,
            province=company.province,
            city=company.city,
        )
        created_at = self.now - timedelta(days=draw.between(20, 360))
        rule, method = None, "manual"  # given to the account's rep by hand
        return PlannedLead(
            values=values,
            created_at=created_at,
            status="qualified",
            owner=self.owner_for(company),
            rule=rule,
            method=method,
            converted_at=created_at + timedelta(days=draw.between(1, 15)),
            converted_company=company,
            converted_person=person,
        )

    # ------------------------------------------------------------ the whole plan

    def plan(self, *, leads: int, deals: int, webshop_orders: int) -> SalesPlan:
        draw = self.draw
        companies = [company for company in self.world.companies]
        weights = [math.sqrt(max(company.employees, 10)) for company in companies]
        chosen = draw.random.choices(range(len(companies)), weights=weights, k=deals) if companies else []
        self.deals = [self.deal(companies[index]) for index in chosen]
        self.deals.sort(key=lambda deal: deal.created_at)
        for index, deal in enumerate(self.deals):
            self.quote_deal(index, deal)
        for index, quote in enumerate(self.quotes):
            if quote.status == "accepted":
                self.order_of_quote(index)
        planned_leads: list[PlannedLead] = []
        for index, deal in enumerate(self.deals):
            if len(planned_leads) < leads and draw.chance(FROM_LEADS):
                lead = self.lead_of_deal(index, deal)
                if lead is not None:
                    deal.lead = len(planned_leads)
                    planned_leads.append(lead)
        for _ in range(min(round(leads * CONVERTED_WITHOUT_DEAL), leads - len(planned_leads))):
            converted = self.converted_contact_lead()
            if converted is not None:
                planned_leads.append(converted)
        number = 0
        while len(planned_leads) < leads:
            number += 1
            planned_leads.append(self.new_lead(number))
        if self.world.consumers:
            for number in range(webshop_orders):
                self.webshop_order(number + 1)
        self.orders.sort(key=lambda order: order.ordered_at)
        return SalesPlan(planned_leads, self.deals, self.quotes, self.orders)

    deals: list[PlannedDeal]


def plan_demo_sales(
    world: SalesWorld,
    *,
    seed: int = DEMO_SALES_SEED,
    now: datetime,
    leads: int | None = None,
    deals: int | None = None,
    webshop_orders: int | None = None,
) -> SalesPlan:
    """Plan the sales demo over ``world``; the same world, seed and ``now`` give the same plan.

    Sizes default to the customers demo's: per account, 3 leads, 1.5 deals and 0.3 web-shop orders.
    """
    accounts = world.account_count or len(world.companies)
    return SalesPlanner(world, seed, now).plan(
        leads=leads if leads is not None else accounts * LEADS_PER_ACCOUNT,
        deals=deals if deals is not None else round(accounts * DEALS_PER_ACCOUNT),
        webshop_orders=webshop_orders
        if webshop_orders is not None
        else round(accounts * WEBSHOP_ORDERS_PER_ACCOUNT),
    )
