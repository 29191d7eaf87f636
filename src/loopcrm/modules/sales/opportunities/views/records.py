"""The deal pages: the list (filters, sort, pages), the detail page (fields, contacts and their
buying roles, the stage bar and "move to stage" form, the stage history with the time spent in
each stage, the interaction timeline) and the create and edit forms, which come back with the
reader's input kept and the refused fields marked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.activities import service as activities
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    OpportunityCreate,
    OpportunityFilters,
    OpportunityOut,
    OpportunityUpdate,
    StageKind,
)
from loopcrm.modules.sales.opportunities.views.form_choices import (
    BUYING_ROLE_NAMES,
    FORECAST_CATEGORY_NAMES,
    STAGE_KIND_NAMES,
    form_choices,
    settings_choices,
)
from loopcrm.platform.errors import DomainError
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, can_reach_record
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

BASE = "/sales/opportunities"
PAGE_SIZE = 50
MAX_CONTACT_ROWS = 20
BLANK_CONTACT_ROWS = 2
FIELDS = (
    "name",
    "account_id",
    "pipeline_id",
    "stage_id",
    "amount",
    "currency",
    "expected_close_date",
    "probability_manual",
    "forecast_category",
    "owner_id",
    "team_id",
    "source",
    "next_step",
    "competitors",
    "description",
    "lost_reason_id",
    "lost_note",
    "version",
    "contacts",
    "primary_contact",
)
LIST_FILTERS = (
    "pipeline",
    "stage",
    "owner",
    "team",
    "kind",
    "close_from",
    "close_to",
    "overdue",
    "q",
    "sort",
)
SORTS = (
    ("-created_at", N_("Newest first")),
    ("expected_close_date", N_("Closing soonest")),
    ("-amount_company", N_("Largest amount")),
    ("-probability", N_("Most likely")),
    ("name", N_("Name")),
)


def duration_text(page: WebPage, seconds: int | None) -> str:
    """Time in a stage, in days and hours (minutes under an hour)."""
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return page.message(N_("{days} d {hours} h"), {"days": days, "hours": hours})
    if hours:
        return page.message(N_("{hours} h"), {"hours": hours})
    return page.message(N_("{minutes} min"), {"minutes": rest // 60})


# ---------------------------------------------------------------- the list


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get(BASE)
def list_page(request: Request, page: Viewer) -> Response:
    params = request.query_params
    kind = params.get("kind") or None
    filters = OpportunityFilters(
        pipeline_id=params.get("pipeline") or None,
        stage_id=params.get("stage") or None,
        owner_id=params.get("owner") or None,
        team_id=params.get("team") or None,
        kind=StageKind(kind) if kind in STAGE_KIND_NAMES else None,
        close_from=_date(params.get("close_from")),
        close_to=_date(params.get("close_to")),
        overdue=True if params.get("overdue") == "on" else None,
        search=(params.get("q") or "").strip()[:200] or None,
    )
    sort = params.get("sort") or "-created_at"
    if sort not in dict(SORTS):
        sort = "-created_at"
    cursor = params.get("cursor") or None
    form = FormState.initial({name: params.get(name) for name in LIST_FILTERS}, LIST_FILTERS)
    found = None
    try:
        found = opportunities.list_opportunities(
            page.uow(), page.actor, filters=filters, sort=sort, limit=PAGE_SIZE, cursor=cursor
        )
    except DomainError as error:
        form.add_domain_error(error, page.translator)
    choices = settings_choices(page)
    query = {name: params[name] for name in LIST_FILTERS if params.get(name)}
    context = {
        "deals": found.items if found else [],
        "next_cursor": found.next_cursor if found else None,
        "is_first_page": cursor is None,
        "query": query,
        "form": form,
        "choices": choices,
        "sorts": [(value, page.gettext(label)) for value, label in SORTS],
        "kind_names": STAGE_KIND_NAMES,
        "may_create": page.actor.can(opportunities.OPPORTUNITY.key, Action.CREATE),
    }
    return render(request, "sales/opportunities/list.html", context)


# ---------------------------------------------------------------- the detail page


def detail_response(
    request: Request,
    page: WebPage,
    opportunity_id: str,
    *,
    move_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    deal = opportunities.get_opportunity(page.uow(), page.actor, opportunity_id)
    history = opportunities.stage_history(page.uow(), page.actor, opportunity_id)
    pipeline = opportunities.get_pipeline(page.uow(), page.actor, deal.pipeline_id)
    choices = settings_choices(page)
    subjects = opportunities.timeline_subjects(page.uow(), page.actor, opportunity_id)
    params = request.query_params
    timeline = activities.timeline_section(
        page.uow(),
        page.actor,
        subjects,
        kinds=params.getlist("kind") or None,
        cursor=params.get("cursor") or None,
    )
    may_update = can_reach_record(
        page.actor, opportunities.OPPORTUNITY.key, Action.UPDATE, owner_id=deal.owner_id, team_id=deal.team_id
    )
    context: dict[str, Any] = {
        "deal": deal,
        "history": [(row, duration_text(page, row.seconds_in_previous_stage)) for row in history],
        "in_stage_now": duration_text(page, int((datetime.now(UTC) - deal.stage_entered_at).total_seconds())),
        "pipeline": pipeline,
        "stage_choices": [(stage.id, stage.name) for stage in pipeline.stages if stage.is_active],
        "choices": choices,
        "move_form": move_form
        or FormState.initial(
            {"stage_id": deal.stage_id, "lost_reason_id": deal.lost_reason_id, "version": deal.version},
            ("stage_id", "lost_reason_id", "lost_note", "version"),
        ),
        "may_update": may_update,
        "kind_names": STAGE_KIND_NAMES,
        "category_names": FORECAST_CATEGORY_NAMES,
        "role_names": BUYING_ROLE_NAMES,
        "timeline": timeline,
    }
    if page.actor.can("activity", Action.CREATE):
        context["activity_panel"] = activities.log_panel(
            page.uow(), page.actor, subjects, next_path=f"{BASE}/{deal.id}"
        )
    return render(request, "sales/opportunities/detail.html", context, status_code=status_code)


@router.get(BASE + "/{opportunity_id:uuid}")
def detail_page(request: Request, page: Viewer, opportunity_id: UUID) -> Response:
    return detail_response(request, page, str(opportunity_id))


# ---------------------------------------------------------------- the forms


def _contact_rows(state: FormState) -> int:
    """How many contact rows the form shows: the filled ones plus a few blank ones."""
    filled = 0
    for index in range(MAX_CONTACT_ROWS):
        if state.value(f"contacts.{index}.contact_id"):
            filled = index + 1
    return min(MAX_CONTACT_ROWS, filled + BLANK_CONTACT_ROWS)


def _field_names(rows: int) -> list[str]:
    names = list(FIELDS)
    for index in range(rows):
        names += [f"contacts.{index}.contact_id", f"contacts.{index}.buying_role", f"contacts.{index}"]
    return names


def _input_of(state: FormState, *, for_update: bool) -> dict[str, Any]:
    """The form's values as the service's input (blank optional fields are ``null``)."""
    values: dict[str, Any] = {"name": state.text("name")}
    for name in (
        "account_id",
        "stage_id",
        "expected_close_date",
        "owner_id",
        "team_id",
        "source",
        "next_step",
    ):
        values[name] = state.optional(name)
    values["description"] = state.optional("description")
    values["amount"] = state.text("amount") or "0"
    values["currency"] = state.optional("currency")
    values["pipeline_id"] = state.optional("pipeline_id")
    values["probability_manual"] = state.optional("probability_manual")
    values["forecast_category"] = state.optional("forecast_category")
    values["competitors"] = [
        part.strip() for part in state.text("competitors").replace("，", ",").split(",") if part.strip()
    ]
    primary = state.text("primary_contact")
    contacts = []
    for index in range(MAX_CONTACT_ROWS):
        contact_id = state.text(f"contacts.{index}.contact_id")
        if contact_id:
            contacts.append(
                {
                    "contact_id": contact_id,
                    "buying_role": state.text(f"contacts.{index}.buying_role") or "influencer",
                    "is_primary": primary == str(index),
                }
            )
    values["contacts"] = contacts
    values["lost_reason_id"] = state.optional("lost_reason_id")
    values["lost_note"] = state.optional("lost_note")
    if for_update and values["stage_id"] is None:
        del values["stage_id"]
    if values["owner_id"] is None:
        del values["owner_id"]  # no owner chosen: the creator, or the one the deal has
    return values


def _form_page(
    request: Request,
    page: WebPage,
    state: FormState,
    deal: OpportunityOut | None,
    *,
    status_code: int = 200,
) -> Response:
    include = [(deal.account_id, deal.account_name or deal.account_id)] if deal and deal.account_id else []
    choices = form_choices(page, include_accounts=include)
    if deal:
        known = {contact_id for contact_id, _ in choices.contacts}
        choices.contacts += [
            (c.contact_id, c.contact_name) for c in deal.contacts if c.contact_id not in known
        ]
    context = {
        "deal": deal,
        "form": state,
        "choices": choices,
        "contact_rows": _contact_rows(state),
        "category_names": FORECAST_CATEGORY_NAMES,
    }
    return render(request, "sales/opportunities/form.html", context, status_code=status_code)


def _initial_of(deal: OpportunityOut) -> FormState:
    values: dict[str, Any] = {
        "name": deal.name,
        "account_id": deal.account_id,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "amount": str(deal.amount),
        "currency": deal.currency,
        "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else None,
        "probability_manual": deal.probability_manual,
        "forecast_category": deal.forecast_category.value if deal.forecast_category_is_manual else None,
        "owner_id": deal.owner_id,
        "team_id": deal.team_id,
        "source": deal.source,
        "next_step": deal.next_step,
        "competitors": ", ".join(deal.competitors),
        "description": deal.description,
        "lost_reason_id": deal.lost_reason_id,
        "lost_note": deal.lost_note,
        "version": deal.version,
    }
    for index, contact in enumerate(deal.contacts):
        values[f"contacts.{index}.contact_id"] = contact.contact_id
        values[f"contacts.{index}.buying_role"] = contact.buying_role.value
        if contact.is_primary:
            values["primary_contact"] = str(index)
    return FormState.initial(values, _field_names(len(deal.contacts) + BLANK_CONTACT_ROWS))


@router.get(f"{BASE}/new")
def new_page(request: Request, page: Viewer) -> Response:
    params = request.query_params
    state = FormState.initial(
        {
            "pipeline_id": params.get("pipeline_id"),
            "account_id": params.get("account_id"),
            "owner_id": page.actor.user_id,
            "amount": "0",
        },
        _field_names(BLANK_CONTACT_ROWS),
    )
    return _form_page(request, page, state, None)


@router.post(f"{BASE}/new")
def create(request: Request, page: Viewer, form: Form) -> Response:
    state = _submitted(form)
    try:
        data = OpportunityCreate.model_validate(_input_of(state, for_update=False))
        deal = opportunities.create_opportunity(page.uow(), page.actor, data)
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _form_page(request, page, state, None, status_code=422)
    page.flash(N_("The opportunity {name} was created."), name=deal.name)
    return redirect(request, f"{BASE}/{deal.id}")


def _submitted(form: FormData) -> FormState:
    probe = FormState.submitted(form, FIELDS)
    return FormState.submitted(form, _field_names(_contact_rows(probe)))


@router.get(BASE + "/{opportunity_id:uuid}/edit")
def edit_page(request: Request, page: Viewer, opportunity_id: UUID) -> Response:
    deal = opportunities.get_opportunity(page.uow(), page.actor, str(opportunity_id))
    return _form_page(request, page, _initial_of(deal), deal)


@router.post(BASE + "/{opportunity_id:uuid}/edit")
def update(request: Request, page: Viewer, form: Form, opportunity_id: UUID) -> Response:
    deal = opportunities.get_opportunity(page.uow(), page.actor, str(opportunity_id))
    state = _submitted(form)
    version = state.text("version")
    try:
        data = OpportunityUpdate.model_validate(_input_of(state, for_update=True))
        changed = opportunities.update_opportunity(
            page.uow(),
            page.actor,
            deal.id,
            data,
            expected_version=int(version) if version.isdigit() else None,
        )
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _form_page(request, page, state, deal, status_code=422)
    page.flash(N_("The opportunity {name} was saved."), name=changed.name)
    return redirect(request, f"{BASE}/{deal.id}")
