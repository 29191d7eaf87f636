"""Reading many deals: the filtered, sorted, paginated list and the kanban board.

The kanban's column totals are SQL aggregates over every matching deal of a stage; only the
cards are limited (the first ones by expected close date), so a column of 10,000 deals shows its
true count and amounts and stays fast to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.opportunities.models import Opportunity, Pipeline, Stage, StageKind
from loopcrm.modules.sales.opportunities.schemas import (
    KanbanBoard,
    KanbanCard,
    KanbanColumn,
    OpportunityFilters,
    OpportunityOut,
)
from loopcrm.modules.sales.opportunities.service.deals import bare_out, today_of, user_names
from loopcrm.modules.sales.opportunities.service.object_types import OPPORTUNITY
from loopcrm.modules.sales.opportunities.service.settings import (
    company_currency_in_session,
    default_pipeline_in_session,
    pipeline_out,
)
from loopcrm.platform.errors import NotFound, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.listing import (
    FieldType,
    ListField,
    apply_conditions,
    parse_condition,
    parse_sort,
    sorted_page,
)
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page
from loopcrm.platform.permissions import Action, Actor, require, scope_condition
from loopcrm.platform.unit_of_work import UnitOfWork

KANBAN_CARDS_PER_COLUMN = 50
EFFECTIVE_PROBABILITY = func.coalesce(Opportunity.probability_manual, Opportunity.probability_auto)

# The fields the list (and the API's ``filter`` and ``sort`` parameters) may use.
FIELDS: dict[str, ListField] = {
    field.key: field
    for field in (
        ListField("name", Opportunity.name, FieldType.TEXT),
        ListField("amount", Opportunity.amount, FieldType.NUMBER),
        ListField("amount_company", Opportunity.amount_company, FieldType.NUMBER),
        ListField("currency", Opportunity.currency, FieldType.CHOICE),
        ListField("expected_close_date", Opportunity.expected_close_date, FieldType.DATE),
        ListField("probability", EFFECTIVE_PROBABILITY, FieldType.NUMBER),
        ListField("forecast_category", Opportunity.forecast_category, FieldType.CHOICE),
        ListField("pipeline_id", Opportunity.pipeline_id, FieldType.CHOICE),
        ListField("stage_id", Opportunity.stage_id, FieldType.CHOICE),
        ListField("owner_id", Opportunity.owner_id, FieldType.CHOICE),
        ListField("team_id", Opportunity.team_id, FieldType.CHOICE),
        ListField("account_id", Opportunity.account_id, FieldType.CHOICE),
        ListField("source", Opportunity.source, FieldType.CHOICE),
        ListField("lead_id", Opportunity.lead_id, FieldType.CHOICE),
        ListField("created_at", Opportunity.created_at, FieldType.DATETIME),
        ListField("updated_at", Opportunity.updated_at, FieldType.DATETIME),
        ListField("closed_at", Opportunity.closed_at, FieldType.DATETIME),
    )
}
SORTABLE = ("name", "amount_company", "expected_close_date", "probability", "created_at", "updated_at")


def _conditions(actor: Actor, filters: OpportunityFilters) -> list[ColumnElement[bool]]:
    """The WHERE terms of the reader's scope and of ``filters``."""
    terms: list[ColumnElement[bool]] = [
        Opportunity.deleted_at.is_(None),
        scope_condition(
            actor,
            OPPORTUNITY.key,
            Action.READ,
            owner_column=Opportunity.owner_id,
            team_column=Opportunity.team_id,
        ),
    ]
    if filters.pipeline_id:
        terms.append(Opportunity.pipeline_id == filters.pipeline_id)
    if filters.stage_id:
        terms.append(Opportunity.stage_id == filters.stage_id)
    if filters.owner_id:
        terms.append(Opportunity.owner_id == filters.owner_id)
    if filters.team_id:
        terms.append(Opportunity.team_id == filters.team_id)
    if filters.account_id:
        terms.append(Opportunity.account_id == filters.account_id)
    if filters.close_from:
        terms.append(Opportunity.expected_close_date >= filters.close_from)
    if filters.close_to:
        terms.append(Opportunity.expected_close_date <= filters.close_to)
    if filters.kind is not None or filters.overdue is not None:
        kind_stages = select(Stage.id).where(Stage.kind == (filters.kind or StageKind.OPEN).value)
        terms.append(Opportunity.stage_id.in_(kind_stages))
    if filters.overdue is not None:
        overdue = and_(
            Opportunity.expected_close_date.is_not(None), Opportunity.expected_close_date < today_of(actor)
        )
        terms.append(overdue if filters.overdue else or_(Opportunity.expected_close_date.is_(None), ~overdue))
    if filters.search:
        pattern = (
            "%" + filters.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        terms.append(Opportunity.name.ilike(pattern, escape="\\"))
    return terms


def readable(actor: Actor, filters: OpportunityFilters | None = None) -> Select[Any]:
    """The deals the actor may read that match ``filters`` (other areas' reports start here)."""
    return select(Opportunity).where(*_conditions(actor, filters or OpportunityFilters()))


def list_opportunities(
    uow: UnitOfWork,
    actor: Actor,
    *,
    filters: OpportunityFilters | None = None,
    conditions: Sequence[str] = (),
    sort: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[OpportunityOut]:
    """Deals the reader may read matching ``filters`` and the ``field:operator:value``
    ``conditions``, newest first unless ``sort`` (``field`` or ``-field``) says otherwise."""
    require(actor, OPPORTUNITY.key, Action.READ)
    order = parse_sort(sort)
    if order is not None and order.field not in SORTABLE:
        raise ValidationFailed.single(
            "sort", N_("The list cannot be sorted by {field}"), "not_sortable", field=sort
        )
    with uow:
        session = uow.session
        statement = apply_conditions(
            readable(actor, filters), FIELDS, [parse_condition(text) for text in conditions], actor
        )
        page = sorted_page(
            session,
            statement,
            FIELDS,
            order,
            Opportunity.id,
            actor,
            limit=limit,
            cursor=cursor,
            convert=lambda r: r,
        )
        rows: list[Opportunity] = list(page.items)
        stages = {
            stage.id: stage
            for stage in session.scalars(select(Stage).where(Stage.id.in_({row.stage_id for row in rows})))
        }
        pipelines = dict(
            session.execute(
                select(Pipeline.id, Pipeline.name).where(Pipeline.id.in_({row.pipeline_id for row in rows}))
            ).all()
        )
        owners = user_names(session, [row.owner_id for row in rows])
        accounts = customers.account_names_in(uow, actor, [row.account_id for row in rows])
        today = today_of(actor)
        items = []
        for row in rows:
            item = bare_out(row, stages[row.stage_id], today)
            item.pipeline_name = pipelines.get(row.pipeline_id, "")
            item.owner_name = owners.get(row.owner_id or "")
            item.account_name = accounts.get(row.account_id or "")
            items.append(item)
        uow.commit()
        return Page[OpportunityOut](items=items, next_cursor=page.next_cursor)


def kanban(
    uow: UnitOfWork,
    actor: Actor,
    pipeline_id: str | None,
    filters: OpportunityFilters | None = None,
    *,
    cards_per_column: int = KANBAN_CARDS_PER_COLUMN,
) -> KanbanBoard:
    """The board of a pipeline (the default one when ``pipeline_id`` is None): one column per
    active stage (and per inactive stage still holding matching deals), with the count, amount and
    weighted amount of every matching deal, and its first ``cards_per_column`` cards by close date."""
    require(actor, OPPORTUNITY.key, Action.READ)
    filters = (filters or OpportunityFilters()).model_copy(update={"pipeline_id": None, "stage_id": None})
    with uow:
        session = uow.session
        pipeline = session.get(Pipeline, pipeline_id) if pipeline_id else default_pipeline_in_session(session)
        if pipeline is None:
            raise NotFound(N_("Pipeline not found"))
        board_pipeline = pipeline_out(session, pipeline)
        terms = [Opportunity.pipeline_id == pipeline.id, *_conditions(actor, filters)]
        totals = {
            stage_id: (count, amount or Decimal(0), weighted or Decimal(0))
            for stage_id, count, amount, weighted in session.execute(
                select(
                    Opportunity.stage_id,
                    func.count(),
                    func.sum(Opportunity.amount_company),
                    func.sum(Opportunity.amount_company * EFFECTIVE_PROBABILITY),
                )
                .where(*terms)
                .group_by(Opportunity.stage_id)
            )
        }
        # Each column's first cards by close date (dated ones first, then undated), one indexed
        # range read per column: a window over the whole pipeline sorted every deal (175 ms).
        card_columns = (
            Opportunity.id,
            Opportunity.name,
            Opportunity.stage_id,
            Opportunity.owner_id,
            Opportunity.account_id,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.amount_company,
            EFFECTIVE_PROBABILITY.label("probability"),
            Opportunity.expected_close_date,
            Opportunity.version,
        )
        card_terms = _conditions(actor, filters)
        card_rows: list[Any] = []
        for stage in board_pipeline.stages if cards_per_column > 0 else []:
            if not totals.get(stage.id):
                continue
            dated = session.execute(
                select(*card_columns)
                .where(
                    Opportunity.stage_id == stage.id,
                    Opportunity.expected_close_date.is_not(None),
                    *card_terms,
                )
                .order_by(Opportunity.expected_close_date, Opportunity.id)
                .limit(cards_per_column)
            ).all()
            card_rows += dated
            if len(dated) < cards_per_column:
                card_rows += session.execute(
                    select(*card_columns)
                    .where(
                        Opportunity.stage_id == stage.id,
                        Opportunity.expected_close_date.is_(None),
                        *card_terms,
                    )
                    .order_by(Opportunity.id)
                    .limit(cards_per_column - len(dated))
                ).all()
        owners = user_names(session, [row.owner_id for row in card_rows])
        accounts = customers.account_names_in(uow, actor, [row.account_id for row in card_rows])
        today = today_of(actor)
        kinds = {stage.id: stage.kind.value for stage in board_pipeline.stages}
        cards: dict[str, list[KanbanCard]] = {}
        for row in card_rows:
            cards.setdefault(row.stage_id, []).append(
                KanbanCard(
                    id=row.id,
                    name=row.name,
                    account_name=accounts.get(row.account_id or ""),
                    owner_name=owners.get(row.owner_id or ""),
                    amount=row.amount,
                    currency=row.currency,
                    amount_company=row.amount_company,
                    probability=row.probability,
                    expected_close_date=row.expected_close_date,
                    is_overdue=(
                        kinds.get(row.stage_id) == StageKind.OPEN.value
                        and row.expected_close_date is not None
                        and row.expected_close_date < today
                    ),
                    version=row.version,
                )
            )
        columns = []
        for stage in board_pipeline.stages:
            count, amount, weighted = totals.get(stage.id, (0, Decimal(0), Decimal(0)))
            if not stage.is_active and not count:
                continue
            columns.append(
                KanbanColumn(
                    stage=stage,
                    count=count,
                    amount=Decimal(amount).quantize(Decimal("0.01")),
                    weighted_amount=(Decimal(weighted) / 100).quantize(Decimal("0.01")),
                    cards=cards.get(stage.id, []),
                )
            )
        return KanbanBoard(
            pipeline=board_pipeline, currency=company_currency_in_session(session), columns=columns
        )
