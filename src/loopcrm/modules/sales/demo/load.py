"""Writing the sales demo: settings through the services, then the records in bulk in one unit of
work, then the win-probability model rebuilt from them.

Creating 3,000 leads, 1,500 deals with 5,000 stage moves, hundreds of quotes and orders one
service call at a time would cost a transaction each (and minutes), and a year of history needs
times in the past that the services do not take: they stamp every record, move, quote and payment
"now". So the loader writes rows in bulk, with the rules the services apply:

* every lead is read through ``LeadCreate`` (names, emails, phones in E.164, sources), scored by
  the leads area's own ``scoring.compute`` under the demo's rules, and assigned as the demo's
  assignment rules would (each assignment is in the assignment history with its rule);
* every deal is read through ``OpportunityCreate``; its stage belongs to its pipeline, it is lost
  only with a lost reason and won only from an orderable stage (by an order, or by hand without
  a quote), ``amount_company`` is converted with the core's ``convert`` at the currency's rate,
  its attributes are what the core copies from the account (industry, province, city, source)
  plus the lead's UTM values, and each move is a stage-history row with the seconds spent in the
  stage it left, as ``change_stage`` writes them;
* quote lines are read through ``QuoteLineIn`` and priced from the price list the quotes area
  would pick, with its arithmetic (``line_amounts``: exact per-line rounding); a discount above
  the approval threshold is approved by the owner's manager; numbers run per year after the
  counter's last number, which is moved on, as the services count;
* orders copy their accepted quote's lines and figures (an order's lines are the quote's), web
  shop orders are priced by the same arithmetic; payment statuses follow from the payments;
* every record gets the "created" audit entry its service writes, by the demo admin (the rows
  ``record_change`` would add, inserted together).

What the loader does differently, on purpose: times are in the past (created, moved, sent,
paid …) while the audit entries are dated when the demo was loaded; no notifications are sent
(a rep's bell would show hundreds); lead conversion links existing demo contacts and accounts
instead of creating them; the outcome listener does not run per deal: the win-probability model
is rebuilt once from every closed deal afterwards (``forecasting.rebuild_model``) and the open
deals' automatic probabilities are then estimated by the forecasting area's estimator.
``tests/sales/test_demo.py`` compares a loaded deal and quote with ones the services make.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from loopcrm.modules.customers.service import contacts as customer_contacts
from loopcrm.modules.customers.service import records as customer_records
from loopcrm.modules.sales.assignment.models import AssignmentHistory
from loopcrm.modules.sales.demo.plan import DEMO_SALES_SEED, SalesPlan, plan_demo_sales
from loopcrm.modules.sales.demo.setup import KEY_ACCOUNT_TAG, SalesSetup, ensure_settings
from loopcrm.modules.sales.demo.world import Company, Person, Rep, SalesWorld
from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.leads.models import Lead
from loopcrm.modules.sales.leads.schemas import LeadCreate
from loopcrm.modules.sales.leads.service import records as lead_records
from loopcrm.modules.sales.leads.service import scoring
from loopcrm.modules.sales.opportunities.models import (
    Opportunity,
    OpportunityContact,
    StageChange,
)
from loopcrm.modules.sales.opportunities.schemas import OpportunityCreate
from loopcrm.modules.sales.opportunities.service.settings import convert
from loopcrm.modules.sales.orders.models import (
    Order,
    OrderLine,
    OrderNumberCounter,
    OrderPayment,
    payment_status_of,
)
from loopcrm.modules.sales.quotes.models import Quote, QuoteLine, QuoteNumber
from loopcrm.modules.sales.quotes.schemas import QuoteLineIn
from loopcrm.platform.audit.models import AuditAction, AuditEntry
from loopcrm.platform.audit.service import json_value
from loopcrm.platform.auth.demo import DEMO_ADMIN_EMAIL
from loopcrm.platform.auth.models import Role, Team, TeamMembership, User
from loopcrm.platform.auth.service import actor_for_user
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

NewUow = Callable[[], UnitOfWork]
# Regions the demo teams cover (platform/auth/demo.py's team names).
TEAM_REGIONS = {"华东销售组": "east", "华南销售组": "south", "销售部": ""}
SELLING_ROLES = ("sales_rep", "sales_manager")
_CHUNK = 1000


@dataclass(frozen=True)
class DemoSales:
    """What the loader did (all zero when the demo's deals were already there)."""

    created: bool
    leads: int = 0
    opportunities: int = 0
    quotes: int = 0
    orders: int = 0
    seconds: float = 0.0


def load_demo_sales(
    new_uow: NewUow,
    *,
    seed: int = DEMO_SALES_SEED,
    now: datetime | None = None,
    leads: int | None = None,
    opportunities: int | None = None,
    webshop_orders: int | None = None,
) -> DemoSales:
    """Create the sales demo once, as the demo admin, over the demo customers; running it again
    changes nothing. Sizes default to the customers demo's (3 leads and 1.5 deals an account).

    Needs the demo people and customers. The demo admin having created any deal is the marker:
    the records are written in one transaction, so they are either all there or none are (the
    settings before them are made only where missing)."""
    started = clock.perf_counter()
    with new_uow() as uow:
        admin_id = uow.session.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL))
        if admin_id is None:
            raise RuntimeError("the demo people must be created before the demo sales")
        if uow.session.scalar(select(Opportunity.id).where(Opportunity.created_by == admin_id).limit(1)):
            return DemoSales(created=False)
        reps, roles = _reps(uow.session)
    now = now or utc_now()
    actor = actor_for_user(new_uow(), admin_id)
    setup = ensure_settings(new_uow, actor, reps, roles, now)
    world = read_world(new_uow, setup, reps, admin_id)
    plan = plan_demo_sales(
        world, seed=seed, now=now, leads=leads, deals=opportunities, webshop_orders=webshop_orders
    )
    with new_uow() as uow:
        _write(uow, actor, world, plan)
        uow.commit()
    forecasting.rebuild_model(new_uow(), actor)  # and open deals get its estimate
    return DemoSales(
        True,
        len(plan.leads),
        len(plan.deals),
        len(plan.quotes),
        len(plan.orders),
        clock.perf_counter() - started,
    )


# ---------------------------------------------------------------- the world


def _reps(session: Session) -> tuple[tuple[Rep, ...], list[tuple[str, str]]]:
    """The demo's sellers with their team, its manager and region; and every seller's role."""
    teams = {team.id: team for team in session.scalars(select(Team))}
    rows = session.execute(
        select(User.id, User.email, Role.key, TeamMembership.team_id)
        .join(Role, Role.id == User.role_id)
        .outerjoin(TeamMembership, TeamMembership.user_id == User.id)
        .where(Role.key.in_(SELLING_ROLES), User.is_active.is_(True))
        .order_by(User.email)
    ).all()
    reps = []
    for user_id, email, _role, team_id in rows:
        team = teams.get(team_id or "")
        if team is None or team.name not in TEAM_REGIONS:
            continue
        manager_id = team.manager_id
        if manager_id == user_id and team.parent_id:  # a team's manager answers to the parent's
            manager_id = teams[team.parent_id].manager_id
        reps.append(Rep(user_id, email, team.id, manager_id or user_id, TEAM_REGIONS[team.name]))
    roles = [(user_id, role) for user_id, _email, role, _team in rows]
    return tuple(reps), list(dict.fromkeys(roles))


def _person(contact: Any, points: dict[str, list[Any]]) -> Person:
    emails = [point.value for point in points["emails"]]
    phones = [point.value for point in points["phones"] if point.value.startswith("+")]
    return Person(
        id=contact.id,
        family_name=contact.family_name,
        given_name=contact.given_name,
        full_name=contact.full_name,
        email=emails[0] if emails else None,
        phone=phones[0] if phones else None,
        title=contact.title,
        owner_id=contact.owner_id,
        team_id=contact.team_id,
    )


def _person_key(person: Person, emails: dict[str, str]) -> tuple[str, ...]:
    return (
        person.full_name,
        person.email or "",
        person.phone or "",
        person.title or "",
        emails.get(person.owner_id or "", ""),
    )


def read_world(new_uow: NewUow, setup: SalesSetup, reps: tuple[Rep, ...], admin_id: str) -> SalesWorld:
    """The demo customers and the settings, as the planner's snapshot, in a stable order.

    Customers are read with the customers service's own readers (``records.readable``, the
    contact points, tags and jobs of a page of records), as the system actor: the lists' page
    presentation (masking, audit of what a person saw) is for people, and reading 5,000 contacts
    through it takes seconds."""
    reader = system_actor("demo")
    working_at: dict[str, list[Person]] = defaultdict(list)
    consumers = []
    with new_uow() as uow:
        session = uow.session
        emails = dict(session.execute(select(User.id, User.email)).all())
        accounts = list(session.scalars(customer_records.readable(reader, "account")))
        account_count = len(accounts)
        tags: dict[str, list[Any]] = {}
        for start in range(0, len(accounts), _CHUNK):
            tags |= customer_records.tags_of(
                session, "account", [row.id for row in accounts[start : start + _CHUNK]]
            )
        contacts = list(session.scalars(customer_records.readable(reader, "contact")))
        for start in range(0, len(contacts), _CHUNK):
            chunk = contacts[start : start + _CHUNK]
            ids = [row.id for row in chunk]
            points = customer_records.contact_points_of(session, "contact", ids)
            jobs = customer_contacts.employments_of(session, ids)
            for contact in chunk:
                current = [job.account_id for job in jobs[contact.id] if job.ended_on is None]
                if current:
                    working_at[current[0]].append(_person(contact, points[contact.id]))
                elif not jobs[contact.id]:
                    consumers.append(_person(contact, points[contact.id]))
        companies = [
            Company(
                id=account.id,
                name=account.name,
                name_en=account.name_en,
                industry=account.industry,
                province=account.province,
                city=account.city,
                source=account.source,
                owner_id=account.owner_id,
                employees=account.employee_count or 20,
                is_key_account=any(tag.name == KEY_ACCOUNT_TAG for tag in tags.get(account.id, [])),
                people=tuple(sorted(working_at[account.id], key=lambda person: _person_key(person, emails))),
            )
            for account in accounts
            if account.operating_status == "active"
        ]
    # Ids differ from one database to the next; names, places and owners' emails do not (the
    # customers demo plants duplicates, which differ in their owner at most).
    companies.sort(
        key=lambda company: (
            company.name,
            company.city or "",
            company.employees,
            emails.get(company.owner_id or "", ""),
            tuple(_person_key(person, emails) for person in company.people),
        )
    )
    consumers.sort(key=lambda person: _person_key(person, emails))
    return SalesWorld(
        companies=tuple(companies),
        consumers=tuple(consumers),
        reps=reps,
        admin_id=admin_id,
        form_id=setup.form_id,
        pipelines=setup.pipelines,
        lost_reasons=setup.lost_reasons,
        products=setup.products,
        price_lists=setup.price_lists,
        key_account_list=setup.key_account_list,
        rates=setup.rates,
        approval_threshold=setup.approval_threshold,
        validity_days=setup.validity_days,
        lead_rules=setup.lead_rules,
        account_count=account_count,
    )


# ---------------------------------------------------------------- writing


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(table), rows[start : start + _CHUNK])


def _stamps(actor: Actor, at: datetime, updated_at: datetime | None = None) -> dict[str, Any]:
    return {
        "created_at": at,
        "updated_at": updated_at or at,
        "created_by": actor.user_id,
        "updated_by": actor.user_id,
        "version": 1,
    }


_AUDIT = "sales_demo_audit"  # the session's list of audit rows still to write


def _created(
    uow: UnitOfWork, actor: Actor, object_type: str, object_id: str, changes: dict[str, Any]
) -> None:
    """The "created" entry ``record_change`` would add, kept as a row to insert with the others:
    thousands of ORM objects flushed one by one cost more than the records themselves."""
    uow.session.info.setdefault(_AUDIT, []).append(
        {
            "id": new_id(),
            "at": utc_now(),
            "actor_id": actor.user_id,
            "actor_label": actor.label,
            "action": AuditAction.CREATE.value,
            "object_type": object_type,
            "object_id": object_id,
            "changes": json_value(changes),
            "request_id": actor.request_id,
            "ip": actor.ip,
        }
    )


def _write(uow: UnitOfWork, actor: Actor, world: SalesWorld, plan: SalesPlan) -> None:
    session = uow.session
    deal_ids = [new_id() for _ in plan.deals]
    lead_ids = [new_id() for _ in plan.leads]
    quote_ids = [new_id() for _ in plan.quotes]
    _write_leads(uow, actor, world, plan, lead_ids, deal_ids)
    _write_deals(uow, actor, world, plan, deal_ids, lead_ids)
    _write_quotes(uow, actor, plan, quote_ids, deal_ids)
    _write_orders(uow, actor, plan, quote_ids, deal_ids)
    _insert(session, AuditEntry.__table__, session.info.pop(_AUDIT, []))
    session.flush()


def _write_leads(
    uow: UnitOfWork,
    actor: Actor,
    world: SalesWorld,
    plan: SalesPlan,
    lead_ids: list[str],
    deal_ids: list[str],
) -> None:
    session = uow.session
    rules = scoring.active_rules(session)
    rows = []
    history = []
    for lead_id, planned in zip(lead_ids, plan.leads, strict=True):
        data = LeadCreate.model_validate(
            {**planned.values, "owner_id": planned.owner.user_id, "team_id": planned.owner.team_id}
        )
        row: dict[str, Any] = dict(
            **{name: lead_records.plain_value(getattr(data, name)) for name in lead_records.FIELD_COLUMNS},
            id=lead_id,
            full_name=lead_records.full_name_of(data.family_name, data.given_name),
            status=planned.status,
            disqualification_reason=planned.disqualification_reason,
            disqualification_note=planned.disqualification_note,
            owner_id=data.owner_id,
            team_id=data.team_id,
            form_id=world.form_id if planned.form else None,
            activity_counts={},
            converted_at=planned.converted_at,
            converted_by=actor.user_id if planned.converted_at else None,
            converted_account_id=planned.converted_company.id if planned.converted_company else None,
            converted_contact_id=planned.converted_person.id if planned.converted_person else None,
            converted_opportunity_id=deal_ids[planned.converted_deal]
            if planned.converted_deal is not None
            else None,
            **_stamps(actor, planned.created_at, planned.converted_at),
            deleted_at=None,
        )
        # The row as the scoring and audit helpers read a lead (attributes), without the cost of
        # an ORM object per lead.
        lead = cast(Lead, SimpleNamespace(**row, score=0))
        row["score"] = lead.score = scoring.compute(lead, rules, {}).total
        values = lead_records.values_of(lead)
        rows.append(row)
        _created(
            uow,
            actor,
            lead_records.LEAD.key,
            lead_id,
            {
                name: [None, value]
                for name, value in lead_records.audit_snapshot(values).items()
                if value not in (None, "", {})
            },
        )
        history.append(
            {
                "id": new_id(),
                "record_type": "lead",
                "record_id": lead_id,
                "previous_owner_id": None,
                "owner_id": planned.owner.user_id,
                "rule_id": planned.rule[0] if planned.rule else None,
                "rule_name": planned.rule[1] if planned.rule else None,
                "method": planned.method,
                "actor_id": actor.user_id,
                "actor_label": actor.label,
                "assigned_at": planned.created_at,
            }
        )
    _insert(session, Lead.__table__, rows)
    _insert(session, AssignmentHistory.__table__, history)


def _write_deals(
    uow: UnitOfWork,
    actor: Actor,
    world: SalesWorld,
    plan: SalesPlan,
    deal_ids: list[str],
    lead_ids: list[str],
) -> None:
    session = uow.session
    rows, roles, moves = [], [], []
    for deal_id, deal in zip(deal_ids, plan.deals, strict=True):
        company = deal.company
        learned = {
            "industry": company.industry,
            "province": company.province,
            "city": company.city,
            "account_source": company.source,
        }
        attributes = {key: value for key, value in learned.items() if value} | deal.attributes
        if deal.source:
            attributes.setdefault("source", deal.source)
        data = OpportunityCreate.model_validate(
            {
                "name": deal.name,
                "account_id": company.id,
                "pipeline_id": deal.pipeline.id,
                "stage_id": deal.stage.id,
                "amount": deal.amount,
                "currency": deal.currency,
                "expected_close_date": deal.expected_close_date,
                "probability_manual": deal.probability_manual,
                "owner_id": deal.owner.user_id,
                "team_id": deal.owner.team_id,
                "source": deal.source,
                "lead_id": lead_ids[deal.lead] if deal.lead is not None else None,
                "competitors": deal.competitors,
                "next_step": deal.next_step if deal.stage.kind == "open" else None,
                "attributes": attributes,
                "contacts": [
                    {"contact_id": person.id, "buying_role": role, "is_primary": primary}
                    for person, role, primary in deal.contacts
                ],
                "lost_reason_id": deal.lost_reason_id,
                "lost_note": deal.lost_note,
            }
        )
        amount_company = convert(data.amount, world.rates[deal.currency])
        stage = deal.stage
        last_move = deal.moves[-1].at
        row = {
            "id": deal_id,
            "name": data.name,
            "account_id": data.account_id,
            "pipeline_id": deal.pipeline.id,
            "stage_id": stage.id,
            "amount": data.amount,
            "currency": deal.currency,
            "amount_company": amount_company,
            "expected_close_date": data.expected_close_date,
            "probability_auto": stage.probability,
            "probability_manual": data.probability_manual if stage.kind == "open" else None,
            "forecast_category": stage.forecast_category,
            "forecast_category_is_manual": False,
            "owner_id": data.owner_id,
            "team_id": data.team_id,
            "source": data.source,
            "lead_id": data.lead_id,
            "competitors": data.competitors,
            "next_step": data.next_step,
            "description": None,
            "lost_reason_id": data.lost_reason_id if stage.kind == "lost" else None,
            "lost_note": data.lost_note if stage.kind == "lost" else None,
            "stage_entered_at": last_move,
            "closed_at": deal.closed_at,
            "attributes": dict(data.attributes),
            "deleted_at": None,
            **_stamps(actor, deal.created_at, last_move),
        }
        rows.append(row)
        for item in data.contacts:
            roles.append(
                {
                    "id": new_id(),
                    "opportunity_id": deal_id,
                    "contact_id": item.contact_id,
                    "buying_role": item.buying_role.value,
                    "is_primary": item.is_primary,
                }
            )
        for move in deal.moves:
            moves.append(
                {
                    "id": new_id(),
                    "opportunity_id": deal_id,
                    "pipeline_id": deal.pipeline.id,
                    "from_stage_id": move.from_stage.id if move.from_stage else None,
                    "to_stage_id": move.to_stage.id,
                    "changed_at": move.at,
                    "changed_by": deal.owner.user_id,
                    "amount_company": amount_company,
                    "seconds_in_previous_stage": move.seconds_in_previous,
                }
            )
        audited = {
            name: row[name]
            for name in (
                "name", "account_id", "pipeline_id", "stage_id", "amount", "currency", "amount_company",
                "expected_close_date", "owner_id", "team_id", "source", "lead_id", "competitors",
                "lost_reason_id", "attributes",
            )
        }  # fmt: skip
        _created(
            uow,
            actor,
            "opportunity",
            deal_id,
            {name: [None, value] for name, value in audited.items() if value not in (None, [], {}, "")},
        )
    _insert(session, Opportunity.__table__, rows)
    _insert(session, OpportunityContact.__table__, roles)
    _insert(session, StageChange.__table__, moves)


def _next_numbers(session: Session, table: Any, years: Iterable[int]) -> dict[int, int]:
    """The last number each year's counter handed out (0 for a year without a counter)."""
    wanted = sorted(set(years))
    rows = session.execute(select(table.c.year, table.c.last_number).where(table.c.year.in_(wanted)))
    found: dict[int, int] = {int(year): int(last) for year, last in rows}
    return {year: int(found.get(year, 0)) for year in wanted}


def _save_counters(session: Session, table: Any, before: dict[int, int], after: dict[int, int]) -> None:
    for year, last in after.items():
        if last == before.get(year, 0):
            continue
        if (
            before.get(year, 0) == 0
            and session.execute(select(table.c.year).where(table.c.year == year)).first() is None
        ):
            session.execute(insert(table).values(year=year, last_number=last))
        else:
            session.execute(update(table).where(table.c.year == year).values(last_number=last))


def _quote_number_of_groups(session: Session, plan: SalesPlan) -> dict[int, str]:
    first: dict[int, datetime] = {}
    for quote in plan.quotes:
        if quote.group not in first or quote.created_at < first[quote.group]:
            first[quote.group] = quote.created_at
    ordered = sorted(first, key=lambda group: (first[group], group))
    years = {group: first[group].astimezone(UTC).year for group in ordered}
    before = _next_numbers(session, QuoteNumber.__table__, years.values())
    counters = dict(before)
    numbers = {}
    for group in ordered:
        year = years[group]
        counters[year] += 1
        numbers[group] = f"Q-{year}-{counters[year]:06d}"
    _save_counters(session, QuoteNumber.__table__, before, counters)
    return numbers


def _write_quotes(
    uow: UnitOfWork, actor: Actor, plan: SalesPlan, quote_ids: list[str], deal_ids: list[str]
) -> None:
    session = uow.session
    numbers = _quote_number_of_groups(session, plan)
    previous: dict[int, str] = {}
    latest: dict[int, int] = {}
    for index, quote in enumerate(plan.quotes):
        if quote.version_number >= plan.quotes[latest.get(quote.group, index)].version_number:
            latest[quote.group] = index
    rows, lines = [], []
    for index, (quote_id, quote) in enumerate(zip(quote_ids, plan.quotes, strict=True)):
        deal = plan.deals[quote.deal]
        primary = next((person for person, _, is_primary in deal.contacts if is_primary), None)
        figures = []
        for position, line in enumerate(quote.lines):
            checked = QuoteLineIn(
                product_id=line.product.id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.product.tax_rate,
            )
            amounts = line.amounts
            figures.append(amounts)
            lines.append(
                {
                    "id": new_id(),
                    "quote_id": quote_id,
                    "position": position,
                    "product_id": line.product.id,
                    "sku": line.product.sku,
                    "description": line.product.name,
                    "unit": line.product.unit,
                    "quantity": checked.quantity,
                    "unit_price": checked.unit_price,
                    "discount_percent": checked.discount_percent,
                    "tax_rate": checked.tax_rate,
                    "line_subtotal": amounts.line_subtotal,
                    "discount_amount": amounts.discount_amount,
                    "net_amount": amounts.net_amount,
                    "tax_amount": amounts.tax_amount,
                    "line_total": amounts.line_total,
                }
            )
        subtotal = sum((amounts.line_subtotal for amounts in figures), Decimal("0.00"))
        discount = sum((amounts.discount_amount for amounts in figures), Decimal("0.00"))
        tax = sum((amounts.tax_amount for amounts in figures), Decimal("0.00"))
        updated = max(
            [quote.created_at]
            + [
                at
                for at in (quote.submitted_at, quote.approval_decided_at, quote.sent_at, quote.answered_at)
                if at
            ]
        )
        rows.append(
            {
                "id": quote_id,
                "number": numbers[quote.group],
                "version_number": quote.version_number,
                "previous_version_id": previous.get(quote.group),
                "is_latest": latest[quote.group] == index,
                "opportunity_id": deal_ids[quote.deal],
                "account_id": deal.company.id,
                "account_name": deal.company.name,
                "contact_id": primary.id if primary else None,
                "contact_name": primary.full_name if primary else None,
                "contact_email": primary.email if primary else None,
                "owner_id": deal.owner.user_id,
                "team_id": deal.owner.team_id,
                "price_list_id": quote.price_list_id,
                "currency": quote.currency,
                "valid_until": quote.valid_until,
                "status": quote.status,
                "title": deal.name,
                "terms": None,
                "subtotal": subtotal,
                "discount_total": discount,
                "tax_total": tax,
                "total": subtotal - discount + tax,
                "max_discount_percent": quote.max_discount,
                "submitted_by": deal.owner.user_id if quote.submitted_at else None,
                "submitted_at": quote.submitted_at,
                "approval_decided_by": quote.approval_decided_by,
                "approval_decided_at": quote.approval_decided_at,
                "approval_note": None,
                "sent_at": quote.sent_at,
                "answered_at": quote.answered_at,
                "rejection_reason": quote.rejection_reason,
                **_stamps(actor, quote.created_at, updated),
            }
        )
        previous[quote.group] = quote_id
        _created(
            uow,
            actor,
            "quote",
            quote_id,
            {
                "number": [None, numbers[quote.group]],
                "opportunity_id": [None, deal_ids[quote.deal]],
                "total": [None, rows[-1]["total"]],
            },
        )
    _insert(session, Quote.__table__, rows)
    _insert(session, QuoteLine.__table__, lines)


def _write_orders(
    uow: UnitOfWork, actor: Actor, plan: SalesPlan, quote_ids: list[str], deal_ids: list[str]
) -> None:
    session = uow.session
    years = [order.ordered_at.astimezone(UTC).year for order in plan.orders]
    before = _next_numbers(session, OrderNumberCounter.__table__, years)
    counters = dict(before)
    rows, lines, payments = [], [], []
    for order in plan.orders:
        order_id = new_id()
        year = order.ordered_at.astimezone(UTC).year
        counters[year] += 1
        number = f"SO-{year}-{counters[year]:06d}"
        subtotal = sum((line.amounts.line_subtotal for line in order.lines), Decimal("0.00"))
        discount = sum((line.amounts.discount_amount for line in order.lines), Decimal("0.00"))
        tax = sum((line.amounts.tax_amount for line in order.lines), Decimal("0.00"))
        total = subtotal - discount + tax
        paid = sum((payment.amount for payment in order.payments), Decimal("0.00"))
        customer = order.company.name if order.company else (order.person.full_name if order.person else "")
        last_change = max(
            [order.ordered_at]
            + [at for at in (order.fulfilled_at, order.cancelled_at) if at]
            + [payment.paid_at for payment in order.payments]
        )
        row = {
            "id": order_id,
            "number": number,
            "origin": order.origin,
            "account_id": order.company.id if order.company else None,
            "contact_id": order.person.id if order.person else None,
            "customer_name": customer[:200],
            "opportunity_id": deal_ids[order.deal] if order.deal is not None else None,
            "quote_id": quote_ids[order.quote] if order.quote is not None else None,
            "currency": order.currency,
            "subtotal": subtotal,
            "discount_total": discount,
            "tax_total": tax,
            "total": total,
            "amount_paid": paid,
            "status": order.status,
            "payment_status": payment_status_of(total, paid).value,
            "ordered_at": order.ordered_at,
            "fulfilled_at": order.fulfilled_at,
            "cancelled_at": order.cancelled_at,
            "channel": order.channel,
            "external_id": order.external_id,
            "owner_id": order.owner_id,
            "team_id": order.team_id,
            "note": None,
            **_stamps(actor, order.ordered_at, last_change),
        }
        rows.append(row)
        for position, line in enumerate(order.lines, start=1):
            lines.append(
                {
                    "id": new_id(),
                    "order_id": order_id,
                    "position": position,
                    "product_id": line.product.id,
                    "sku": line.product.sku,
                    "description": line.product.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "discount_percent": line.discount_percent,
                    "tax_rate": line.product.tax_rate,
                    "subtotal": line.amounts.line_subtotal,
                    "discount_amount": line.amounts.discount_amount,
                    "tax_amount": line.amounts.tax_amount,
                    "total": line.amounts.line_total,
                }
            )
        for payment in order.payments:
            payments.append(
                {
                    "id": new_id(),
                    "order_id": order_id,
                    "amount": payment.amount,
                    "paid_at": payment.paid_at,
                    "method": payment.method,
                    "reference": payment.reference,
                    "recorded_by": order.owner_id,
                    "recorded_at": payment.paid_at,
                }
            )
        snapshot = {
            name: row[name]
            for name in (
                "number", "origin", "account_id", "contact_id", "opportunity_id", "quote_id", "currency",
                "total", "channel", "external_id", "owner_id", "team_id",
            )
        }  # fmt: skip
        snapshot["line_count"] = len(order.lines)
        _created(
            uow,
            actor,
            "order",
            order_id,
            {name: [None, value] for name, value in snapshot.items() if value is not None},
        )
    _save_counters(session, OrderNumberCounter.__table__, before, counters)
    _insert(session, Order.__table__, rows)
    _insert(session, OrderLine.__table__, lines)
    _insert(session, OrderPayment.__table__, payments)


# ---------------------------------------------------------------- win probability


def demo_counts(session: Session) -> dict[str, int]:
    """How many deals, leads, quotes and orders there are (for the command's summary)."""
    return {
        name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for name, table in (
            ("opportunities", Opportunity),
            ("leads", Lead),
            ("quotes", Quote),
            ("orders", Order),
        )
    }
