"""The sales demo: a seeded plan over the demo customers, loaded once in bulk with the areas' rules
(stage history consistent with the stage, lost deals with reasons, won deals from orderable stages
or by an order, exact quote and order totals), the same as the services would store, and enough
for the sales dashboard to show figures."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from loopcrm.modules.customers.demo import load_demo_customers
from loopcrm.modules.sales.assignment.models import AssignmentHistory, AssignmentRule
from loopcrm.modules.sales.demo import DEMO_SALES_SEED, load_demo_sales, plan_demo_sales, read_world
from loopcrm.modules.sales.demo.load import _reps
from loopcrm.modules.sales.demo.setup import ensure_settings
from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.models import SalesTarget, WinObservation
from loopcrm.modules.sales.forecasting.schemas import DashboardFilters
from loopcrm.modules.sales.leads.models import Lead, LeadForm, LeadScoringRule
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.models import (
    Opportunity,
    OpportunityContact,
    Pipeline,
    Stage,
    StageChange,
)
from loopcrm.modules.sales.opportunities.schemas import OpportunityCreate
from loopcrm.modules.sales.orders.models import Order, OrderLine, OrderPayment, payment_status_of
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.models import Quote, QuoteLine
from loopcrm.modules.sales.quotes.schemas import QuoteCreate, QuoteLineIn
from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.auth.demo import DEMO_ADMIN_EMAIL, create_demo_people
from loopcrm.platform.auth.models import User
from loopcrm.platform.auth.service import actor_for_user
from loopcrm.platform.permissions import system_actor

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ACCOUNTS, CONTACTS = 100, 300
DEALS = 300  # twice the default for 100 accounts: enough for every stage of both pipelines
TABLES = (
    Lead,
    Opportunity,
    StageChange,
    OpportunityContact,
    Quote,
    QuoteLine,
    Order,
    OrderLine,
    OrderPayment,
)


def _load(uow_factory):
    create_demo_people(uow_factory, system_actor("demo"))
    load_demo_customers(uow_factory, accounts=ACCOUNTS, contacts=CONTACTS, today=TODAY)
    return load_demo_sales(uow_factory, now=NOW, opportunities=DEALS)


def _counts(uow_factory) -> dict[str, int]:
    with uow_factory() as uow:
        counts = {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
            for model in TABLES
        }
        counts["audit"] = uow.session.scalar(select(func.count()).select_from(AuditEntry))
        return counts


def _admin(uow_factory):
    with uow_factory() as uow:
        admin_id = uow.session.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL))
    return actor_for_user(uow_factory(), admin_id)


def _utc(value: datetime) -> datetime:
    """A time read back (naive UTC on SQLite) comparable with an aware one."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _digest(plan) -> str:
    text = json.dumps(dataclasses.asdict(plan), default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_loading_writes_the_plan_once_sized_with_the_customers_and_the_plan_is_seeded(uow_factory):
    result = _load(uow_factory)
    counts = _counts(uow_factory)

    assert result.created is True
    assert (result.leads, result.opportunities) == (3 * ACCOUNTS, DEALS)
    assert counts["sales_leads"] == 300 and counts["sales_opportunities"] == DEALS
    assert (counts["sales_quotes"], counts["sales_orders"]) == (result.quotes, result.orders)
    with uow_factory() as uow:
        session = uow.session
        pipelines = dict(session.execute(select(Pipeline.name, Pipeline.is_default)).all())
        assert pipelines == {"标准销售流程": True, "华南门店硬件渠道": False}
        assert session.scalar(select(func.count()).select_from(LeadForm)) == 1
        assert session.scalar(select(func.count()).select_from(LeadScoringRule)) >= 5
        # Six sellers (three reps, three managers), a target a month for the past year and two ahead.
        assert session.scalar(select(func.count()).select_from(SalesTarget)) == 6 * 15
        # The model learned from every closed deal.
        closed = session.scalar(
            select(func.count())
            .select_from(Opportunity)
            .join(Stage, Stage.id == Opportunity.stage_id)
            .where(Stage.kind != "open")
        )
        assert session.scalar(select(func.count()).select_from(WinObservation)) == closed
    currencies = {currency.code for currency in opportunities.list_currencies(uow_factory(), system_actor())}
    assert {"CNY", "USD", "EUR", "HKD"} <= currencies

    again = load_demo_sales(uow_factory, now=NOW + timedelta(days=1))
    assert again.created is False
    assert _counts(uow_factory) == counts  # a second run changes nothing, audit included

    # The plan is pure: the same world, seed and time give the same plan; another seed another.
    admin = _admin(uow_factory)
    with uow_factory() as uow:
        reps, roles = _reps(uow.session)
    setup = ensure_settings(uow_factory, admin, reps, roles, NOW)  # finds everything made
    world = read_world(uow_factory, setup, reps, admin.user_id or "")
    first = plan_demo_sales(world, now=NOW, deals=DEALS)
    assert _digest(first) == _digest(plan_demo_sales(world, now=NOW, deals=DEALS))
    assert _digest(plan_demo_sales(world, seed=DEMO_SALES_SEED + 1, now=NOW, deals=DEALS)) != _digest(first)
    assert (len(first.leads), len(first.deals), len(first.quotes), len(first.orders)) == (
        counts["sales_leads"],
        counts["sales_opportunities"],
        counts["sales_quotes"],
        counts["sales_orders"],
    )


def test_deals_obey_the_rules_of_stages_and_their_history_leads_to_their_stage(uow_factory):
    _load(uow_factory)
    with uow_factory() as uow:
        session = uow.session
        stages = {stage.id: stage for stage in session.scalars(select(Stage))}
        deals = list(session.scalars(select(Opportunity)))
        moves = defaultdict(list)
        for move in session.scalars(select(StageChange).order_by(StageChange.changed_at, StageChange.id)):
            moves[move.opportunity_id].append(move)
        ordered = set(session.scalars(select(Order.opportunity_id).where(Order.opportunity_id.is_not(None))))
        primaries = Counter(
            session.scalars(select(OpportunityContact.opportunity_id).where(OpportunityContact.is_primary))
        )
        leads = {lead.id: lead for lead in session.scalars(select(Lead))}
        candidates = {rule.id: set(rule.user_ids) for rule in session.scalars(select(AssignmentRule))}
        assigned = list(
            session.scalars(select(AssignmentHistory).where(AssignmentHistory.record_type == "lead"))
        )
        by_stage = Counter(deal.stage_id for deal in deals)
        assert set(by_stage) == set(stages)  # every stage of both pipelines holds deals
        kinds = Counter(stages[deal.stage_id].kind for deal in deals)
        assert kinds["open"] > 20 and kinds["won"] > 10 and kinds["lost"] > 10
        assert {deal.currency for deal in deals} >= {"CNY", "USD"}
        for deal in deals:
            stage = stages[deal.stage_id]
            history = moves[deal.id]
            assert history[0].from_stage_id is None and _utc(history[0].changed_at) == _utc(deal.created_at)
            for previous, move in pairwise(history):
                assert move.from_stage_id == previous.to_stage_id
                seconds = (_utc(move.changed_at) - _utc(previous.changed_at)).total_seconds()
                assert abs(move.seconds_in_previous_stage - seconds) <= 1
            assert history[-1].to_stage_id == deal.stage_id
            assert _utc(deal.stage_entered_at) == _utc(history[-1].changed_at)
            assert all(stages[move.to_stage_id].pipeline_id == deal.pipeline_id for move in history)
            assert _utc(history[-1].changed_at) <= NOW
            if stage.kind == "lost":
                assert deal.lost_reason_id is not None
            else:
                assert deal.lost_reason_id is None
            if stage.kind == "won":  # by an order, or by hand from a stage where orders are taken
                assert deal.id in ordered or stages[history[-1].from_stage_id].is_orderable
                assert deal.probability_manual is None
            assert (deal.closed_at is None) == (stage.kind == "open")
            assert primaries[deal.id] <= 1
            if deal.lead_id is not None:
                lead = leads[deal.lead_id]
                assert lead.status == "qualified" and lead.converted_opportunity_id == deal.id
                assert _utc(lead.converted_at) == _utc(deal.created_at) and deal.source == lead.source
            if stage.kind == "open" and deal.probability_manual is None:
                assert 0 <= deal.probability_auto <= 100
        assert any(primaries[deal.id] for deal in deals)

        # Every lead's assignment is in the history; a rule's pick is one of the rule's people.
        assert sorted(row.record_id for row in assigned) == sorted(leads)
        assert sum(row.rule_id is not None for row in assigned) > len(leads) / 2
        for row in assigned:
            assert row.owner_id == leads[row.record_id].owner_id
            assert row.rule_id is None or row.owner_id in candidates[row.rule_id]

        statuses = Counter(lead.status for lead in leads.values())
        assert set(statuses) == {"new", "working", "nurturing", "qualified", "disqualified"}
        assert len({lead.source for lead in leads.values()}) >= 6
        assert sum(lead.utm_campaign is not None for lead in leads.values()) > 50
        for lead in leads.values():
            assert (lead.disqualification_reason is not None) == (lead.status == "disqualified")
            assert (lead.converted_at is not None) == (lead.status == "qualified")
            assert lead.email or lead.phone
            if lead.status == "qualified":
                assert lead.converted_contact_id is not None and lead.converted_account_id is not None


def test_quote_and_order_totals_are_exact_and_orders_follow_accepted_quotes(uow_factory):
    _load(uow_factory)
    with uow_factory() as uow:
        session = uow.session
        all_quotes = list(session.scalars(select(Quote)))
        quote_lines = defaultdict(list)
        for line in session.scalars(select(QuoteLine)):
            quote_lines[line.quote_id].append(line)
        orders = list(session.scalars(select(Order)))
        order_lines = defaultdict(list)
        for line in session.scalars(select(OrderLine)):
            order_lines[line.order_id].append(line)
        paid = defaultdict(Decimal)
        for payment in session.scalars(select(OrderPayment)):
            paid[payment.order_id] += payment.amount
        deals = {deal.id: deal for deal in session.scalars(select(Opportunity))}
        kinds = dict(session.execute(select(Stage.id, Stage.kind)).all())
        statuses = Counter(quote.status for quote in all_quotes)
        assert {"accepted", "sent", "superseded", "pending_approval", "rejected"} <= set(statuses)
        quotes_by_id = {quote.id: quote for quote in all_quotes}
        for quote in all_quotes:
            lines = quote_lines[quote.id]
            assert lines
            for line in lines:
                assert line.line_subtotal == (line.quantity * line.unit_price).quantize(Decimal("0.01"))
                assert line.net_amount == line.line_subtotal - line.discount_amount
                assert line.line_total == line.net_amount + line.tax_amount
            assert quote.subtotal == sum(line.line_subtotal for line in lines)
            assert quote.discount_total == sum(line.discount_amount for line in lines)
            assert quote.tax_total == sum(line.tax_amount for line in lines)
            assert quote.total == sum(line.line_total for line in lines)
            assert quote.max_discount_percent == max(line.discount_percent for line in lines)
            if quote.status == "pending_approval":
                assert quote.max_discount_percent > 20 and quote.approval_decided_at is None
            if quote.approval_decided_by is not None:
                assert quote.approval_decided_by != quote.owner_id  # nobody approves their own discount
            deal = deals[quote.opportunity_id]
            if quote.is_latest:
                assert deal.amount == quote.total and deal.currency == quote.currency
            if quote.status in ("sent", "approved") and kinds[deal.stage_id] == "open":
                assert quote.valid_until >= TODAY  # an open deal's quote is still valid
        latest_per_number = Counter(quote.number for quote in all_quotes if quote.is_latest)
        assert set(latest_per_number.values()) == {1}

        origins = Counter(order.origin for order in orders)
        assert origins["quote"] == statuses["accepted"] and origins["import"] + origins["api"] > 0
        assert len({order.number for order in orders}) == len(orders)
        for order in orders:
            lines = order_lines[order.id]
            assert (
                order.total
                == sum(line.total for line in lines)
                == order.subtotal - order.discount_total + (order.tax_total)
            )
            assert order.amount_paid == paid[order.id]
            assert order.payment_status == payment_status_of(order.total, order.amount_paid).value
            if order.quote_id is not None:
                quote = quotes_by_id[order.quote_id]
                assert quote.status == "accepted" and order.total == quote.total
                assert kinds[deals[order.opportunity_id].stage_id] == "won"
                assert _utc(order.ordered_at) == _utc(quote.answered_at)
            else:
                assert order.channel is not None and order.external_id is not None and order.contact_id
        assert {order.payment_status for order in orders} == {"paid", "partial", "unpaid"}


def test_the_dashboard_shows_figures_over_the_demo(uow_factory):
    _load(uow_factory)
    admin = _admin(uow_factory)

    board = forecasting.dashboard(
        uow_factory(), admin, DashboardFilters(period_start=TODAY - timedelta(days=365), period_end=TODAY)
    )

    assert sum(row.count for row in board.stages) > 0
    assert board.win_rate.won_count > 0 and board.win_rate.lost_count > 0
    assert board.average_deal_size and board.average_deal_size > 0
    assert board.average_cycle_days and board.average_cycle_days > 0
    assert board.lost_reasons and board.leaderboard
    assert any(row.moves > 0 and row.average_days for row in board.time_in_stage)
    assert any(row.reached > 0 for row in board.conversion)


def test_a_loaded_deal_and_quote_are_stored_as_the_services_store_the_same_input(uow_factory):
    """The loader writes in bulk with the areas' rules; this catches the two drifting apart."""
    _load(uow_factory)
    admin = _admin(uow_factory)
    learned = {"industry", "province", "city", "account_source"}
    with uow_factory() as uow:
        session = uow.session
        first_stages = set(session.scalars(select(Stage.id).where(Stage.kind == "open", Stage.position == 0)))
        loaded = next(
            deal
            for deal in session.scalars(select(Opportunity).order_by(Opportunity.name))
            if deal.stage_id in first_stages and deal.lead_id is None and deal.probability_manual is None
        )
        loaded = SimpleNamespace(**{c.key: getattr(loaded, c.key) for c in Opportunity.__table__.columns})
        contacts = [
            {"contact_id": row.contact_id, "buying_role": row.buying_role, "is_primary": row.is_primary}
            for row in session.scalars(
                select(OpportunityContact).where(OpportunityContact.opportunity_id == loaded.id)
            )
        ]
    data = OpportunityCreate.model_validate(
        {
            "name": loaded.name,
            "account_id": loaded.account_id,
            "pipeline_id": loaded.pipeline_id,
            "stage_id": loaded.stage_id,
            "amount": loaded.amount,
            "currency": loaded.currency,
            "expected_close_date": loaded.expected_close_date,
            "owner_id": loaded.owner_id,
            "team_id": loaded.team_id,
            "source": loaded.source,
            "competitors": loaded.competitors,
            "next_step": loaded.next_step,
            "attributes": {key: value for key, value in loaded.attributes.items() if key not in learned},
            "contacts": contacts,
        }
    )
    created = opportunities.create_opportunity(uow_factory(), admin, data)
    skip = {"id", "created_at", "updated_at", "stage_entered_at", "version"}
    with uow_factory() as uow:
        session = uow.session

        def row(deal_id):
            deal = session.get(Opportunity, deal_id)
            return {c.key: getattr(deal, c.key) for c in Opportunity.__table__.columns if c.key not in skip}

        def history(deal_id):
            return [
                (move.from_stage_id, move.to_stage_id, move.amount_company, move.seconds_in_previous_stage)
                for move in session.scalars(select(StageChange).where(StageChange.opportunity_id == deal_id))
            ]

        def roles(deal_id):
            return sorted(
                (item.contact_id, item.buying_role, item.is_primary)
                for item in session.scalars(
                    select(OpportunityContact).where(OpportunityContact.opportunity_id == deal_id)
                )
            )

        assert row(created.id) == row(loaded.id)
        assert history(created.id) == history(loaded.id)
        assert roles(created.id) == roles(loaded.id)

        # A quote: the same products, quantities and discounts, priced by the quotes area itself.
        quote = session.scalars(
            select(Quote).where(Quote.status == "accepted").order_by(Quote.number)
        ).first()
        assert quote is not None
        lines = [
            SimpleNamespace(**{c.key: getattr(line, c.key) for c in QuoteLine.__table__.columns})
            for line in session.scalars(
                select(QuoteLine).where(QuoteLine.quote_id == quote.id).order_by(QuoteLine.position)
            )
        ]
        quote = SimpleNamespace(**{c.key: getattr(quote, c.key) for c in Quote.__table__.columns})
    made = quotes.create_quote(
        uow_factory(),
        admin,
        QuoteCreate(
            opportunity_id=quote.opportunity_id,
            lines=[
                QuoteLineIn(
                    product_id=line.product_id, quantity=line.quantity, discount_percent=line.discount_percent
                )
                for line in lines
            ],
        ),
    )
    fields = (
        "product_id", "sku", "description", "unit", "quantity", "unit_price", "discount_percent", "tax_rate",
        "line_subtotal", "discount_amount", "net_amount", "tax_amount", "line_total",
    )  # fmt: skip
    assert [tuple(getattr(line, name) for name in fields) for line in made.lines] == [
        tuple(getattr(line, name) for name in fields) for line in lines
    ]
    assert (made.total, made.currency, made.price_list_id, made.account_name) == (
        quote.total,
        quote.currency,
        quote.price_list_id,
        quote.account_name,
    )
    assert (made.contact_id, made.contact_name, made.contact_email) == (
        quote.contact_id,
        quote.contact_name,
        quote.contact_email,
    )


@pytest.mark.parametrize("missing", ["people"])
def test_the_demo_needs_the_demo_people(uow_factory, missing):
    with pytest.raises(RuntimeError, match=missing):
        load_demo_sales(uow_factory, now=NOW)
