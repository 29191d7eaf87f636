"""REST routes of this area, under /api/v1 (gathered by loopcrm.modules.sales.api): opportunities,
their stage moves and history, pipelines with their stages, lost reasons and currencies.

Routes only translate HTTP to one service call and back (ADR 0005): scope, validation, the stage
rules and auditing all happen in ``opportunities.service``. A deal outside the reader's scope is
answered 404, never 403, so its existence does not leak.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import StringConstraints

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    CurrencyCreate,
    CurrencyOut,
    CurrencyUpdate,
    KanbanBoard,
    LostReasonCreate,
    LostReasonOut,
    LostReasonUpdate,
    OpportunityCreate,
    OpportunityFilters,
    OpportunityOut,
    OpportunityUpdate,
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    StageChangeOut,
    StageKind,
    StageMove,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter()

OPPORTUNITIES = "/api/v1/opportunities"
PIPELINES = "/api/v1/pipelines"
LOST_REASONS = "/api/v1/lost-reasons"
CURRENCIES = "/api/v1/currencies"
TAG = "opportunities"
SETTINGS_TAG = "sales settings"

FilterText = Annotated[str, StringConstraints(max_length=500)]
IdText = Annotated[str | None, Query(min_length=1, max_length=36)]


# ---------------------------------------------------------------- opportunities


@router.get("/opportunities", response_model=Page[OpportunityOut], tags=[TAG])
def list_opportunities(
    actor: CurrentActor,
    uow: Uow,
    pipeline_id: IdText = None,
    stage_id: IdText = None,
    owner_id: IdText = None,
    team_id: IdText = None,
    account_id: IdText = None,
    kind: Annotated[StageKind | None, Query(description="open, won or lost")] = None,
    close_from: Annotated[date | None, Query(description="expected close date on or after")] = None,
    close_to: Annotated[date | None, Query(description="expected close date on or before")] = None,
    overdue: Annotated[bool | None, Query(description="open and past the expected close date")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the deal's name")] = None,
    filters: Annotated[
        list[FilterText] | None,
        Query(
            alias="filter",
            max_length=20,
            description="repeatable `field:operator:value`, e.g. `amount_company:gte:100000`",
        ),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=60,
            description="name, amount_company, expected_close_date, probability, created_at or updated_at; "
            "`-field` for descending",
        ),
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[OpportunityOut]:
    """Deals in your scope, newest first unless sorted."""
    query = OpportunityFilters(
        pipeline_id=pipeline_id,
        stage_id=stage_id,
        owner_id=owner_id,
        team_id=team_id,
        account_id=account_id,
        kind=kind,
        close_from=close_from,
        close_to=close_to,
        overdue=overdue,
        search=q,
    )
    return opportunities.list_opportunities(
        uow, actor, filters=query, conditions=filters or [], sort=sort, limit=limit, cursor=cursor
    )


@router.post("/opportunities", response_model=OpportunityOut, status_code=status.HTTP_201_CREATED, tags=[TAG])
def create_opportunity(
    data: OpportunityCreate, actor: CurrentActor, uow: Uow, response: Response
) -> OpportunityOut:
    """Create a deal in the default pipeline's first open stage unless ``pipeline_id`` / ``stage_id``
    say otherwise; you own it unless ``owner_id`` names someone you may assign."""
    return with_etag(response, opportunities.create_opportunity(uow, actor, data), created_in=OPPORTUNITIES)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityOut, tags=[TAG])
def read_opportunity(
    opportunity_id: str, actor: CurrentActor, uow: Uow, response: Response
) -> OpportunityOut:
    return with_etag(response, opportunities.get_opportunity(uow, actor, opportunity_id))


@router.patch("/opportunities/{opportunity_id}", response_model=OpportunityOut, tags=[TAG])
def update_opportunity(
    opportunity_id: str,
    data: OpportunityUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> OpportunityOut:
    """Change the fields sent; absent fields stay as they are. ``probability_manual: null`` returns
    to the computed probability; a new ``stage_id`` is a stage move with its rules."""
    deal = opportunities.update_opportunity(
        uow, actor, opportunity_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, deal)


@router.delete("/opportunities/{opportunity_id}", status_code=status.HTTP_204_NO_CONTENT, tags=[TAG])
def delete_opportunity(opportunity_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> None:
    opportunities.delete_opportunity(uow, actor, opportunity_id, expected_version=expected_version(if_match))


@router.post("/opportunities/{opportunity_id}/stage", response_model=OpportunityOut, tags=[TAG])
def move_opportunity(
    opportunity_id: str,
    data: StageMove,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> OpportunityOut:
    """Move the deal to another stage of its pipeline: a lost stage needs ``lost_reason_id``; a won
    stage is reached by hand only from an orderable stage."""
    deal = opportunities.change_stage(
        uow,
        actor,
        opportunity_id,
        data.stage_id,
        lost_reason_id=data.lost_reason_id,
        lost_note=data.lost_note,
        expected_version=expected_version(if_match),
    )
    return with_etag(response, deal)


@router.get("/opportunities/{opportunity_id}/stage-history", response_model=list[StageChangeOut], tags=[TAG])
def opportunity_stage_history(opportunity_id: str, actor: CurrentActor, uow: Uow) -> list[StageChangeOut]:
    """The deal's stage moves, oldest first, with the seconds spent in the stage each one left."""
    return opportunities.stage_history(uow, actor, opportunity_id)


# ---------------------------------------------------------------- pipelines


@router.get("/pipelines", response_model=list[PipelineOut], tags=[SETTINGS_TAG])
def list_pipelines(
    actor: CurrentActor,
    uow: Uow,
    include_inactive: Annotated[bool, Query(description="list deactivated pipelines too")] = False,
) -> list[PipelineOut]:
    """Pipelines with their ordered stages, the default one first."""
    return opportunities.list_pipelines(uow, actor, include_inactive=include_inactive)


@router.post(
    "/pipelines", response_model=PipelineOut, status_code=status.HTTP_201_CREATED, tags=[SETTINGS_TAG]
)
def create_pipeline(data: PipelineCreate, actor: CurrentActor, uow: Uow, response: Response) -> PipelineOut:
    """Create a pipeline with its stages in order (at least one active open, won and lost stage)."""
    return with_etag(response, opportunities.create_pipeline(uow, actor, data), created_in=PIPELINES)


@router.post(
    "/pipelines/standard",
    response_model=PipelineOut,
    status_code=status.HTTP_201_CREATED,
    tags=[SETTINGS_TAG],
)
def create_standard_pipeline(
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    locale: Annotated[str | None, Query(max_length=16, description="zh_CN or en; defaults to yours")] = None,
) -> PipelineOut:
    """Create the standard six-stage pipeline (and the standard lost reasons when there are none)."""
    result = opportunities.create_standard_pipeline(uow, actor, locale or actor.locale)
    return with_etag(response, result, created_in=PIPELINES)


@router.get("/pipelines/{pipeline_id}", response_model=PipelineOut, tags=[SETTINGS_TAG])
def read_pipeline(pipeline_id: str, actor: CurrentActor, uow: Uow, response: Response) -> PipelineOut:
    """A pipeline with its stages and the number of deals in each."""
    return with_etag(response, opportunities.get_pipeline(uow, actor, pipeline_id))


@router.get("/pipelines/{pipeline_id}/stages", response_model=PipelineOut, tags=[SETTINGS_TAG])
def read_pipeline_stages(pipeline_id: str, actor: CurrentActor, uow: Uow, response: Response) -> PipelineOut:
    """The same as the pipeline: its ``stages`` in order."""
    return with_etag(response, opportunities.get_pipeline(uow, actor, pipeline_id))


@router.get("/pipelines/{pipeline_id}/kanban", response_model=KanbanBoard, tags=[SETTINGS_TAG])
def read_kanban(
    pipeline_id: str,
    actor: CurrentActor,
    uow: Uow,
    owner_id: IdText = None,
    team_id: IdText = None,
    close_from: date | None = None,
    close_to: date | None = None,
) -> KanbanBoard:
    """The pipeline's board: per stage the count, amount and weighted amount of your deals in it
    (company currency) and the first cards by expected close date."""
    filters = OpportunityFilters(owner_id=owner_id, team_id=team_id, close_from=close_from, close_to=close_to)
    return opportunities.kanban(uow, actor, pipeline_id, filters)


@router.patch("/pipelines/{pipeline_id}", response_model=PipelineOut, tags=[SETTINGS_TAG])
def update_pipeline(
    pipeline_id: str,
    data: PipelineUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> PipelineOut:
    """Change the fields sent; ``stages`` replaces the ordered list (stages with an ``id`` are kept,
    those left out are deleted, which is refused for stages with deals: deactivate them)."""
    result = opportunities.update_pipeline(
        uow, actor, pipeline_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, result)


# ---------------------------------------------------------------- lost reasons


@router.get("/lost-reasons", response_model=list[LostReasonOut], tags=[SETTINGS_TAG])
def list_lost_reasons(
    actor: CurrentActor,
    uow: Uow,
    include_inactive: Annotated[bool, Query(description="list deactivated reasons too")] = False,
) -> list[LostReasonOut]:
    return opportunities.list_lost_reasons(uow, actor, include_inactive=include_inactive)


@router.post(
    "/lost-reasons", response_model=LostReasonOut, status_code=status.HTTP_201_CREATED, tags=[SETTINGS_TAG]
)
def create_lost_reason(
    data: LostReasonCreate, actor: CurrentActor, uow: Uow, response: Response
) -> LostReasonOut:
    return with_etag(response, opportunities.create_lost_reason(uow, actor, data), created_in=LOST_REASONS)


@router.patch("/lost-reasons/{reason_id}", response_model=LostReasonOut, tags=[SETTINGS_TAG])
def update_lost_reason(
    reason_id: str,
    data: LostReasonUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> LostReasonOut:
    result = opportunities.update_lost_reason(
        uow, actor, reason_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, result)


@router.delete("/lost-reasons/{reason_id}", status_code=status.HTTP_204_NO_CONTENT, tags=[SETTINGS_TAG])
def delete_lost_reason(reason_id: str, actor: CurrentActor, uow: Uow) -> None:
    """Delete a reason no deal names (deactivate one in use instead)."""
    opportunities.delete_lost_reason(uow, actor, reason_id)


# ---------------------------------------------------------------- currencies


@router.get("/currencies", response_model=list[CurrencyOut], tags=[SETTINGS_TAG])
def list_currencies(actor: CurrentActor, uow: Uow) -> list[CurrencyOut]:
    """Currencies with their rates to the company currency (listed first, rate 1)."""
    return opportunities.list_currencies(uow, actor)


@router.post(
    "/currencies", response_model=CurrencyOut, status_code=status.HTTP_201_CREATED, tags=[SETTINGS_TAG]
)
def create_currency(data: CurrencyCreate, actor: CurrentActor, uow: Uow, response: Response) -> CurrencyOut:
    result = opportunities.create_currency(uow, actor, data)
    response.headers["ETag"] = f'"{result.version}"'
    response.headers["Location"] = f"{CURRENCIES}/{result.code}"
    return result


@router.patch("/currencies/{code}", response_model=CurrencyOut, tags=[SETTINGS_TAG])
def update_currency(
    code: Annotated[str, StringConstraints(min_length=3, max_length=3)],
    data: CurrencyUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> CurrencyOut:
    """Change a currency's name, rate or activity, or make it the company currency. A new rate
    converts the open deals in that currency again."""
    result = opportunities.update_currency(
        uow, actor, code, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, result)
