"""Pages of forecasting, under /sales (gathered by loopcrm.modules.sales.views): the sales
dashboard, monthly targets, the win-probability model's settings, and the factors fragment an
opportunity's page includes (``hx-get="/sales/opportunities/{id}/win-probability"``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.schemas import DashboardFilters, TargetSet, WinModelSettingsUpdate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.platform.auth import service as auth
from loopcrm.platform.errors import DomainError, FieldError, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()
FILTER_FIELDS = ("pipeline_id", "period_start", "period_end", "team_id", "owner_id")
MODEL_FIELDS = ("attribute_names", "min_team_closed", "min_global_closed")
# Names of the model's built-in features, as the pages show them (English msgids).
FEATURE_NAMES = {
    "stage": N_("Stage"),
    "source": N_("Source"),
    "amount_band": N_("Amount band"),
    "has_competitors": N_("Has competitors"),
    "from_lead": N_("Converted from a lead"),
}
SCOPE_NAMES = {
    "team": N_("The team's own model"),
    "global": N_("The global model (all teams)"),
    "stage_default": N_("The stage's default probability (not enough closed deals yet)"),
}


def _date_or_none(state: FormState, name: str) -> date | None:
    text = state.text(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single(name, "Enter a date such as 2027-01-31", "invalid_date") from None


def _team_choices(page: WebPage) -> list[tuple[str, str]]:
    if not page.actor.can("team", Action.READ):
        return []
    teams = auth.list_teams(page.uow(), page.actor, limit=500, cursor=None)
    return sorted(((team.id, team.name) for team in teams.items), key=lambda choice: choice[1])


@router.get("/sales/dashboard")
def dashboard_page(request: Request, page: Viewer) -> Response:
    """The sales dashboard: the API's numbers as ECharts charts, each with its table."""
    state = FormState.submitted(request.query_params, FILTER_FIELDS)  # type: ignore[arg-type]
    status_code = 200
    try:
        filters = DashboardFilters(
            pipeline_id=state.optional("pipeline_id"),
            period_start=_date_or_none(state, "period_start"),
            period_end=_date_or_none(state, "period_end"),
            team_id=state.optional("team_id"),
            owner_id=state.optional("owner_id"),
        )
        board = forecasting.dashboard(page.uow(), page.actor, filters)
    except ValidationFailed as error:
        state.add_refusal(error, page.translator)
        board = forecasting.dashboard(page.uow(), page.actor, DashboardFilters())
        status_code = 422
    if not state.value("period_start"):
        state.values["period_start"] = [board.period_start.isoformat()]
        state.values["period_end"] = [board.period_end.isoformat()]
    pipelines = opportunities.list_pipelines(page.uow(), page.actor)
    chart_data = {
        "labels": {
            "count": page.gettext("Deals"),
            "amount": page.gettext("Amount"),
            "weighted": page.gettext("Weighted forecast"),
            "closed": page.gettext("Closed"),
            "commit": page.gettext("Commit"),
            "best_case": page.gettext("Best case"),
            "pipeline": page.gettext("Pipeline total"),
            "won": page.gettext("Won amount"),
            "target": page.gettext("Target"),
        },
        "stages": [
            {"name": row.stage_name, "count": row.count, "amount": str(row.amount)} for row in board.stages
        ],
        "forecast": [
            {
                "month": row.month.strftime("%Y-%m"),
                "weighted": str(row.weighted_amount),
                "closed": str(row.closed),
                "commit": str(row.commit),
                "best_case": str(row.best_case),
                "pipeline": str(row.pipeline),
            }
            for row in board.forecast
        ],
        "conversion": [{"name": row.stage_name, "reached": row.reached} for row in board.conversion],
        "lost_reasons": [
            {"name": row.name or page.gettext("No reason"), "count": row.count} for row in board.lost_reasons
        ],
        "leaderboard": [
            {
                "name": row.owner_name or page.gettext("No owner"),
                "won": str(row.won_amount),
                "target": str(row.target),
            }
            for row in board.leaderboard
        ],
    }
    context: dict[str, Any] = {
        "board": board,
        "form": state,
        "chart_data": chart_data,
        "pipeline_choices": [(pipeline.id, pipeline.name) for pipeline in pipelines],
        "team_choices": _team_choices(page),
        "owner_choices": auth.user_choices(page.uow(), page.actor),
        "may_set_targets": page.actor.can(forecasting.SALES_TARGET.key, Action.CREATE),
        "may_read_model": page.actor.can("sales_settings", Action.READ),
    }
    return render(request, "sales/forecasting/dashboard.html", context, status_code=status_code)


def _month(state: FormState) -> date:
    text = state.text("month")
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else date.today().replace(day=1)
    except ValueError:
        return date.today().replace(day=1)


def _targets_page(
    request: Request, page: WebPage, month: date, form: FormState, status_code: int = 200
) -> Response:
    targets = forecasting.month_targets(page.uow(), page.actor, month)
    settable = forecasting.settable_users(page.uow(), page.actor)
    for target in targets:
        form.values.setdefault(f"amount.{target.user_id}", [str(target.amount)])
    context = {
        "month": month,
        "month_text": month.strftime("%Y-%m"),
        "targets": targets,
        "settable": settable,
        "form": form,
        "currency": targets[0].currency if targets else opportunities.company_currency(page.uow()),
    }
    return render(request, "sales/forecasting/targets.html", context, status_code=status_code)


@router.get("/sales/targets")
def targets_page(request: Request, page: Viewer) -> Response:
    """Monthly targets: a grid of the reps the reader may set targets for."""
    state = FormState.submitted(request.query_params, ("month",))  # type: ignore[arg-type]
    month = _month(state)
    return _targets_page(request, page, month, FormState(fields=frozenset()))


@router.post("/sales/targets")
def save_targets(request: Request, page: Viewer, form: Form) -> Response:
    """Save the grid: every amount typed is set (a blank one is left as it is)."""
    month_state = FormState.submitted(form, ("month",))
    month = _month(month_state)
    settable = forecasting.settable_users(page.uow(), page.actor)
    fields = [f"amount.{user_id}" for user_id, _name in settable]
    state = FormState.submitted(form, fields)
    amounts: list[TargetSet] = []
    errors: list[FieldError] = []
    for user_id, _name in settable:
        text = state.text(f"amount.{user_id}").replace(",", "")
        if not text:
            continue
        try:
            amounts.append(TargetSet(user_id=user_id, month=month, amount=Decimal(text)))
        except (InvalidOperation, ValidationError):
            errors.append(
                FieldError(f"amount.{user_id}", N_("Enter an amount of at least 0, such as 50000"), "invalid")
            )
    if errors:
        state.add_refusal(ValidationFailed(errors), page.translator)
        return _targets_page(request, page, month, state, status_code=422)
    try:
        for target in amounts:
            forecasting.set_target(page.uow(), page.actor, target)
    except DomainError as error:
        state.add_refusal(error, page.translator)
        return _targets_page(request, page, month, state, status_code=error.status)
    page.flash(N_("The targets were saved."))
    return redirect(request, f"/sales/targets?month={month.strftime('%Y-%m')}")


def _model_page(
    request: Request, page: WebPage, form: FormState | None = None, status_code: int = 200
) -> Response:
    summary = forecasting.model_summary(page.uow(), page.actor)
    if form is None:
        form = FormState.initial(
            {
                "attribute_names": ", ".join(summary.settings.attribute_names),
                "min_team_closed": summary.settings.min_team_closed,
                "min_global_closed": summary.settings.min_global_closed,
            },
            MODEL_FIELDS,
        )
    context = {
        "summary": summary,
        "form": form,
        "feature_names": FEATURE_NAMES,
        "may_change": page.actor.can("sales_settings", Action.UPDATE),
    }
    return render(request, "sales/forecasting/win_model.html", context, status_code=status_code)


@router.get("/sales/win-model")
def win_model_page(request: Request, page: Viewer) -> Response:
    """The win-probability model: what it learns from and how much it has learned."""
    return _model_page(request, page)


@router.post("/sales/win-model")
def save_win_model(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, MODEL_FIELDS)
    try:
        data = WinModelSettingsUpdate(
            attribute_names=[name for name in state.text("attribute_names").split(",") if name.strip()],
            min_team_closed=state.text("min_team_closed") or "0",  # type: ignore[arg-type]
            min_global_closed=state.text("min_global_closed") or "0",  # type: ignore[arg-type]
        )
        forecasting.update_model_settings(page.uow(), page.actor, data)
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _model_page(request, page, state, status_code=422)
    page.flash(N_("The model's settings were saved and the model was rebuilt."))
    return redirect(request, "/sales/win-model")


@router.post("/sales/win-model/rebuild")
def rebuild_win_model(request: Request, page: Viewer) -> Response:
    forecasting.rebuild_model(page.uow(), page.actor)
    page.flash(N_("The model was rebuilt from every closed deal."))
    return redirect(request, "/sales/win-model")


@router.get("/sales/opportunities/{opportunity_id}/win-probability")
def win_probability_fragment(request: Request, page: Viewer, opportunity_id: str) -> Response:
    """The factors behind a deal's automatic probability (an HTML fragment for the deal's page)."""
    explained = forecasting.win_probability(page.uow(), page.actor, opportunity_id)
    context = {"explained": explained, "feature_names": FEATURE_NAMES, "scope_names": SCOPE_NAMES}
    return render(request, "sales/forecasting/_win_probability.html", context)
