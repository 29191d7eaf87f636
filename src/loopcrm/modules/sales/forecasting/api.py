"""REST routes of forecasting, under /api/v1 (gathered by loopcrm.modules.sales.api): a deal's win
probability with its factors, the model's settings and rebuild, monthly targets, the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.schemas import (
    DashboardFilters,
    DashboardOut,
    ModelSummary,
    ProbabilityOut,
    TargetFilters,
    TargetOut,
    TargetSet,
    TargetUpdate,
    WinModelSettingsOut,
    WinModelSettingsUpdate,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter(tags=["sales forecasting"])
OptionalId = Annotated[str | None, Query(max_length=36)]


@router.get("/opportunities/{opportunity_id}/win-probability", response_model=ProbabilityOut)
def get_win_probability(opportunity_id: str, actor: CurrentActor, uow: Uow) -> ProbabilityOut:
    """The model's probability for the deal now, and the likelihood ratio of each factor."""
    return forecasting.win_probability(uow, actor, opportunity_id)


@router.get("/sales/win-model", response_model=ModelSummary)
def get_win_model(actor: CurrentActor, uow: Uow) -> ModelSummary:
    """The model's settings and how many won and lost deals each scope (team, global) learned from."""
    return forecasting.model_summary(uow, actor)


@router.put("/sales/win-model/settings", response_model=WinModelSettingsOut)
def put_win_model_settings(
    data: WinModelSettingsUpdate, actor: CurrentActor, uow: Uow, response: Response, if_match: IfMatch = None
) -> WinModelSettingsOut:
    """Choose the attributes the model learns from; the counts are rebuilt at once."""
    settings = forecasting.update_model_settings(
        uow, actor, data, expected_version=expected_version(if_match)
    )
    response.headers["ETag"] = f'"{settings.version}"'
    return settings


@router.post("/sales/win-model/rebuild", response_model=ModelSummary)
def rebuild_win_model(actor: CurrentActor, uow: Uow) -> ModelSummary:
    """Recompute the counts from every closed deal now (a job does it daily)."""
    return forecasting.rebuild_model(uow, actor)


@router.get("/sales/targets", response_model=Page[TargetOut])
def list_targets(
    actor: CurrentActor,
    uow: Uow,
    month_from: date | None = None,
    month_to: date | None = None,
    user_id: OptionalId = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TargetOut]:
    """Monthly targets the reader may see (their own, their teams', or all)."""
    filters = TargetFilters(month_from=month_from, month_to=month_to, user_id=user_id)
    return forecasting.list_targets(uow, actor, filters, limit=limit, cursor=cursor)


@router.post("/sales/targets", response_model=TargetOut, status_code=status.HTTP_201_CREATED)
def set_target(data: TargetSet, actor: CurrentActor, uow: Uow, response: Response) -> TargetOut:
    """Set a rep's target for a month (any day of the month names it); setting it again replaces it."""
    return with_etag(response, forecasting.set_target(uow, actor, data), created_in="/api/v1/sales/targets")


@router.get("/sales/targets/{target_id}", response_model=TargetOut)
def get_target(target_id: str, actor: CurrentActor, uow: Uow, response: Response) -> TargetOut:
    return with_etag(response, forecasting.get_target(uow, actor, target_id))


@router.patch("/sales/targets/{target_id}", response_model=TargetOut)
def update_target(
    target_id: str,
    data: TargetUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> TargetOut:
    target = forecasting.update_target(
        uow, actor, target_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, target)


@router.delete("/sales/targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_target(target_id: str, actor: CurrentActor, uow: Uow) -> None:
    forecasting.delete_target(uow, actor, target_id)


@router.get("/sales/dashboard", response_model=DashboardOut)
def get_dashboard(
    actor: CurrentActor,
    uow: Uow,
    pipeline_id: OptionalId = None,
    period_start: date | None = None,
    period_end: date | None = None,
    team_id: OptionalId = None,
    owner_id: OptionalId = None,
) -> DashboardOut:
    """The dashboard's numbers for the deals the reader may see (the same as /sales/dashboard)."""
    filters = DashboardFilters(
        pipeline_id=pipeline_id,
        period_start=period_start,
        period_end=period_end,
        team_id=team_id,
        owner_id=owner_id,
    )
    return forecasting.dashboard(uow, actor, filters)
