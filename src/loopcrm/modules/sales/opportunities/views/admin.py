"""The sales settings pages: pipelines with their ordered stages, lost reasons and currencies.

Everyone in sales reads them; admins change them. The stage editor needs no script: each stage
is a row of the same form (with its position), blank rows add stages, and a stage is removed by
ticking "remove", which the service refuses for a stage that holds deals (deactivate it instead).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    CurrencyCreate,
    CurrencyUpdate,
    LostReasonCreate,
    LostReasonUpdate,
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    StageKind,
)
from loopcrm.modules.sales.opportunities.views.form_choices import FORECAST_CATEGORY_NAMES, STAGE_KIND_NAMES
from loopcrm.platform.errors import DomainError
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.navigation import AdminPage, register_admin_page
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

ADMIN = "/sales/opportunities/admin"
PIPELINES = f"{ADMIN}/pipelines"
LOST_REASONS = f"{ADMIN}/lost-reasons"
CURRENCIES = f"{ADMIN}/currencies"
SETTINGS = opportunities.SALES_SETTINGS.key

register_admin_page(AdminPage(N_("Sales pipelines"), PIPELINES, SETTINGS, "list", action=Action.UPDATE))
register_admin_page(AdminPage(N_("Lost reasons"), LOST_REASONS, SETTINGS, "list", action=Action.UPDATE))
register_admin_page(AdminPage(N_("Currencies"), CURRENCIES, SETTINGS, "list", action=Action.UPDATE))

PIPELINE_FIELDS = ("name", "is_default", "is_active", "version")
STAGE_PARTS = (
    "id",
    "name",
    "kind",
    "probability",
    "forecast_category",
    "is_orderable",
    "is_active",
    "remove",
)
BLANK_STAGE_ROWS = 2
MAX_STAGE_ROWS = 40


def _may_change(page: WebPage) -> bool:
    return page.actor.can(SETTINGS, Action.UPDATE)


# ---------------------------------------------------------------- pipelines


def _stage_fields(rows: int) -> list[str]:
    return [*PIPELINE_FIELDS, "stages"] + [
        f"stages.{index}.{part}" for index in range(rows) for part in STAGE_PARTS
    ]


def _stage_rows(state: FormState) -> int:
    filled = 0
    for index in range(MAX_STAGE_ROWS):
        if state.value(f"stages.{index}.name") or state.value(f"stages.{index}.id"):
            filled = index + 1
    return min(MAX_STAGE_ROWS, filled + BLANK_STAGE_ROWS)


def _pipeline_state(pipeline: PipelineOut | None, page: WebPage) -> FormState:
    values: dict[str, Any] = {"is_active": True}
    stages: list[dict[str, Any]] = []
    if pipeline is not None:
        values.update(name=pipeline.name, is_default=pipeline.is_default, is_active=pipeline.is_active)
        values["version"] = pipeline.version
        stages = [stage.model_dump(mode="json") for stage in pipeline.stages]
    else:
        chinese = page.locale.startswith("zh")
        stages = [
            {
                "name": zh if chinese else page.gettext(en),
                "kind": kind.value,
                "probability": probability,
                "forecast_category": category.value,
                "is_orderable": orderable,
                "is_active": True,
            }
            for en, zh, kind, probability, category, orderable in opportunities.STANDARD_STAGES
        ]
    for index, stage in enumerate(stages):
        for part in STAGE_PARTS[:-1]:
            values[f"stages.{index}.{part}"] = stage.get(part)
    return FormState.initial(values, _stage_fields(len(stages) + BLANK_STAGE_ROWS))


def _stages_input(state: FormState) -> list[dict[str, Any]]:
    stages = []
    for index in range(MAX_STAGE_ROWS):
        name = state.text(f"stages.{index}.name")
        stage_id = state.text(f"stages.{index}.id")
        if state.checked(f"stages.{index}.remove") or not (name or stage_id):
            continue
        stages.append(
            {
                "id": stage_id or None,
                "name": name,
                "kind": state.text(f"stages.{index}.kind") or StageKind.OPEN.value,
                "probability": state.text(f"stages.{index}.probability") or "0",
                "forecast_category": state.text(f"stages.{index}.forecast_category") or "pipeline",
                "is_orderable": state.checked(f"stages.{index}.is_orderable"),
                "is_active": state.checked(f"stages.{index}.is_active"),
            }
        )
    return stages


def _pipeline_form(
    request: Request, page: WebPage, state: FormState, pipeline: PipelineOut | None, *, status_code: int = 200
) -> Response:
    context = {
        "pipeline": pipeline,
        "form": state,
        "rows": _stage_rows(state),
        "kinds": page.translator.choices(STAGE_KIND_NAMES),
        "categories": page.translator.choices(FORECAST_CATEGORY_NAMES),
        "may_change": _may_change(page),
    }
    return render(request, "sales/opportunities/admin/pipeline_form.html", context, status_code=status_code)


def _submitted_pipeline(form: FormData) -> FormState:
    probe = FormState.submitted(form, ())
    return FormState.submitted(form, _stage_fields(_stage_rows(probe)))


@router.get(PIPELINES)
def pipelines_page(request: Request, page: Viewer) -> Response:
    pipelines = opportunities.list_pipelines(page.uow(), page.actor, include_inactive=True)
    context = {"pipelines": pipelines, "may_change": _may_change(page), "kind_names": STAGE_KIND_NAMES}
    return render(request, "sales/opportunities/admin/pipelines.html", context)


@router.post(f"{PIPELINES}/standard")
def create_standard(request: Request, page: Viewer) -> Response:
    pipeline = opportunities.create_standard_pipeline(page.uow(), page.actor, page.locale)
    page.flash(N_("The pipeline {name} was created."), name=pipeline.name)
    return redirect(request, f"/sales/opportunities/kanban?pipeline={pipeline.id}")


@router.get(f"{PIPELINES}/new")
def new_pipeline(request: Request, page: Viewer) -> Response:
    return _pipeline_form(request, page, _pipeline_state(None, page), None)


@router.post(f"{PIPELINES}/new")
def create_pipeline(request: Request, page: Viewer, form: Form) -> Response:
    state = _submitted_pipeline(form)
    try:
        data = PipelineCreate.model_validate(
            {
                "name": state.text("name"),
                "is_default": state.checked("is_default"),
                "is_active": state.checked("is_active"),
                "stages": _stages_input(state),
            }
        )
        pipeline = opportunities.create_pipeline(page.uow(), page.actor, data)
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _pipeline_form(request, page, state, None, status_code=422)
    page.flash(N_("The pipeline {name} was created."), name=pipeline.name)
    return redirect(request, PIPELINES)


@router.get(PIPELINES + "/{pipeline_id}")
def pipeline_page(request: Request, page: Viewer, pipeline_id: str) -> Response:
    pipeline = opportunities.get_pipeline(page.uow(), page.actor, pipeline_id)
    return _pipeline_form(request, page, _pipeline_state(pipeline, page), pipeline)


@router.post(PIPELINES + "/{pipeline_id}")
def update_pipeline(request: Request, page: Viewer, form: Form, pipeline_id: str) -> Response:
    pipeline = opportunities.get_pipeline(page.uow(), page.actor, pipeline_id)
    state = _submitted_pipeline(form)
    version = state.text("version")
    try:
        data = PipelineUpdate.model_validate(
            {
                "name": state.text("name"),
                "is_default": state.checked("is_default"),
                "is_active": state.checked("is_active"),
                "stages": _stages_input(state),
            }
        )
        changed = opportunities.update_pipeline(
            page.uow(),
            page.actor,
            pipeline.id,
            data,
            expected_version=int(version) if version.isdigit() else None,
        )
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _pipeline_form(request, page, state, pipeline, status_code=422)
    page.flash(N_("The pipeline {name} was saved."), name=changed.name)
    return redirect(request, PIPELINES)


# ---------------------------------------------------------------- lost reasons


def _reasons_page(
    request: Request, page: WebPage, form: FormState | None = None, *, status_code: int = 200
) -> Response:
    reasons = opportunities.list_lost_reasons(page.uow(), page.actor, include_inactive=True)
    context = {
        "reasons": reasons,
        "form": form or FormState.initial({"is_active": True}, ("name", "position", "is_active")),
        "may_change": _may_change(page),
    }
    return render(request, "sales/opportunities/admin/lost_reasons.html", context, status_code=status_code)


@router.get(LOST_REASONS)
def lost_reasons_page(request: Request, page: Viewer) -> Response:
    return _reasons_page(request, page)


@router.post(LOST_REASONS)
def create_lost_reason(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, ("name", "position", "is_active"))
    try:
        data = LostReasonCreate.model_validate(
            {"name": state.text("name"), "position": state.optional("position"), "is_active": True}
        )
        reason = opportunities.create_lost_reason(page.uow(), page.actor, data)
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _reasons_page(request, page, state, status_code=422)
    page.flash(N_("The lost reason {name} was added."), name=reason.name)
    return redirect(request, LOST_REASONS)


@router.post(LOST_REASONS + "/{reason_id}")
def update_lost_reason(request: Request, page: Viewer, form: Form, reason_id: str) -> Response:
    state = FormState.submitted(form, ("name", "position", "is_active", "delete"))
    try:
        if state.text("delete"):
            opportunities.delete_lost_reason(page.uow(), page.actor, reason_id)
            page.flash(N_("The lost reason was deleted."))
            return redirect(request, LOST_REASONS)
        data = LostReasonUpdate.model_validate(
            {
                "name": state.text("name"),
                "position": state.optional("position"),
                "is_active": state.checked("is_active"),
            }
        )
        opportunities.update_lost_reason(page.uow(), page.actor, reason_id, data)
    except (ValidationError, DomainError) as error:
        refused = FormState.initial({"is_active": True}, ("name", "position", "is_active"))
        refused.add_refusal(error, page.translator)
        refused.messages.extend(refused.errors.values())
        refused.errors.clear()
        return _reasons_page(request, page, refused, status_code=422)
    page.flash(N_("The lost reason was saved."))
    return redirect(request, LOST_REASONS)


# ---------------------------------------------------------------- currencies

CURRENCY_FIELDS = ("code", "name", "rate")


def _currencies_page(
    request: Request, page: WebPage, form: FormState | None = None, *, status_code: int = 200
) -> Response:
    context = {
        "currencies": opportunities.list_currencies(page.uow(), page.actor),
        "form": form or FormState.initial({}, CURRENCY_FIELDS),
        "may_change": _may_change(page),
    }
    return render(request, "sales/opportunities/admin/currencies.html", context, status_code=status_code)


@router.get(CURRENCIES)
def currencies_page(request: Request, page: Viewer) -> Response:
    return _currencies_page(request, page)


@router.post(CURRENCIES)
def create_currency(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, CURRENCY_FIELDS)
    try:
        data = CurrencyCreate.model_validate(
            {"code": state.text("code"), "name": state.text("name"), "rate": state.text("rate")}
        )
        currency = opportunities.create_currency(page.uow(), page.actor, data)
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _currencies_page(request, page, state, status_code=422)
    page.flash(N_("The currency {code} was added."), code=currency.code)
    return redirect(request, CURRENCIES)


@router.post(CURRENCIES + "/{code}")
def update_currency(request: Request, page: Viewer, form: Form, code: str) -> Response:
    state = FormState.submitted(form, ("name", "rate", "is_active", "is_company"))
    try:
        values: dict[str, Any] = {"name": state.text("name"), "is_active": state.checked("is_active")}
        if state.text("rate"):
            values["rate"] = state.text("rate")
        if state.checked("is_company"):
            values["is_company"] = True
        opportunities.update_currency(page.uow(), page.actor, code, CurrencyUpdate.model_validate(values))
    except (ValidationError, DomainError) as error:
        refused = FormState.initial({}, CURRENCY_FIELDS)
        refused.add_refusal(error, page.translator)
        refused.messages.extend(refused.errors.values())
        refused.errors.clear()
        return _currencies_page(request, page, refused, status_code=422)
    page.flash(N_("The currency {code} was saved."), code=code.upper())
    return redirect(request, CURRENCIES)
