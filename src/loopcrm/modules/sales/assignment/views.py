"""Pages of assignment, under /sales/assignment: rules (list with drag-and-drop or up/down order,
form with a conditions editor), reps' availability, and the assignment history."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import (
    AssignedRecordType,
    AssignmentMethod,
    AvailabilityOut,
    AvailabilityUpdate,
    ConditionOperator,
    HistoryMethod,
    OffHoursPolicy,
    RuleCreate,
    RuleOut,
    RuleUpdate,
)
from loopcrm.platform.errors import StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router
from loopcrm.platform.web.views.lookups import teams, user_names

router = web_router()

BASE = "/sales/assignment"
# The conditions editor shows this many rows; a rule rarely needs more (the API takes 20).
CONDITION_ROWS = 5
CONDITION_FIELDS = tuple(
    f"conditions.{index}.{part}" for index in range(CONDITION_ROWS) for part in ("field", "operator", "value")
)
RULE_FIELDS = (
    "record_type",
    "name",
    "is_active",
    "method",
    "user_ids",
    "team_ids",
    "fallback_user_id",
    "off_hours",
    "version",
    *CONDITION_FIELDS,
)
AVAILABILITY_FIELDS = (
    "capacity",
    "weight",
    "away_from",
    "away_until",
    "working_days",
    "work_start",
    "work_end",
    "version",
)

RECORD_TYPE_NAMES = {
    AssignedRecordType.LEAD: N_("Leads"),
    AssignedRecordType.OPPORTUNITY: N_("Opportunities"),
}
METHOD_NAMES = {
    AssignmentMethod.ROUND_ROBIN: N_("Round robin"),
    AssignmentMethod.LOAD_BALANCED: N_("Load balanced (fewest open)"),
    AssignmentMethod.WEIGHTED: N_("Weighted by capacity"),
}
HISTORY_METHOD_NAMES = {
    HistoryMethod.ROUND_ROBIN: N_("Round robin"),
    HistoryMethod.LOAD_BALANCED: N_("Load balanced (fewest open)"),
    HistoryMethod.WEIGHTED: N_("Weighted by capacity"),
    HistoryMethod.FALLBACK: N_("Fallback user"),
    HistoryMethod.MANUAL: N_("By hand"),
}
OPERATOR_NAMES = {
    ConditionOperator.EQUALS: N_("equals"),
    ConditionOperator.IN: N_("is one of"),
    ConditionOperator.NOT_IN: N_("is none of"),
    ConditionOperator.CONTAINS: N_("contains"),
    ConditionOperator.AT_LEAST: N_("≥"),
    ConditionOperator.AT_MOST: N_("≤"),
}
OFF_HOURS_NAMES = {
    OffHoursPolicy.SKIP: N_("Skip reps outside their working time"),
    OffHoursPolicy.ASSIGN: N_("Assign around the clock"),
}
# Attributes the leads and opportunities areas pass; others may be typed by hand.
ATTRIBUTE_NAMES = {
    "source": N_("Source"),
    "province": N_("Province"),
    "city": N_("City"),
    "industry": N_("Industry"),
    "amount": N_("Amount"),
    "utm_source": N_("UTM source"),
    "utm_medium": N_("UTM medium"),
    "utm_campaign": N_("UTM campaign"),
}
DAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _record_type(value: str | None) -> AssignedRecordType:
    try:
        return AssignedRecordType(value or AssignedRecordType.LEAD.value)
    except ValueError:
        return AssignedRecordType.LEAD


def _choices(page: WebPage) -> dict[str, Any]:
    translate = page.translator.gettext
    return {
        "user_choices": sorted(user_names(page).items(), key=lambda pair: pair[1]),
        "team_choices": [(team.id, team.name) for team in teams(page)],
        "method_choices": [(key.value, translate(name)) for key, name in METHOD_NAMES.items()],
        "operator_choices": [(key.value, translate(name)) for key, name in OPERATOR_NAMES.items()],
        "off_hours_choices": [(key.value, translate(name)) for key, name in OFF_HOURS_NAMES.items()],
        "attribute_choices": [(key, translate(name)) for key, name in ATTRIBUTE_NAMES.items()],
        "record_type_choices": [(key.value, translate(name)) for key, name in RECORD_TYPE_NAMES.items()],
        "condition_rows": range(CONDITION_ROWS),
    }


# ---------------------------------------------------------------- rules


@router.get(f"{BASE}/rules")
def list_rules(request: Request, page: Viewer) -> Response:
    record_type = _record_type(request.query_params.get("record_type"))
    rules = assignment.list_rules(page.uow(), page.actor, record_type=record_type.value)
    names = user_names(page)
    translate = page.translator.gettext
    return render(
        request,
        "sales/assignment/rules.html",
        {
            "rules": rules,
            "record_type": record_type.value,
            "record_type_choices": [(key.value, translate(name)) for key, name in RECORD_TYPE_NAMES.items()],
            "method_names": {key.value: translate(name) for key, name in METHOD_NAMES.items()},
            "operator_names": {key.value: translate(name) for key, name in OPERATOR_NAMES.items()},
            "attribute_names": {key: translate(name) for key, name in ATTRIBUTE_NAMES.items()},
            "team_names": {team.id: team.name for team in teams(page)},
            "user_names": names,
            "may_change": page.actor.can("assignment_rule", Action.UPDATE),
            "may_create": page.actor.can("assignment_rule", Action.CREATE),
        },
    )


def _rule_form(
    request: Request, page: WebPage, form: FormState, rule: RuleOut | None, status_code: int = 200
) -> Response:
    return render(
        request,
        "sales/assignment/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "may_update": page.actor.can("assignment_rule", Action.UPDATE if rule else Action.CREATE),
            **_choices(page),
        },
        status_code=status_code,
    )


def _initial(rule: RuleOut) -> FormState:
    values: dict[str, Any] = rule.model_dump(
        include={"record_type", "name", "is_active", "method", "user_ids", "team_ids", "fallback_user_id"}
    )
    values["off_hours"] = rule.off_hours.value
    values["version"] = rule.version
    for index, condition in enumerate(rule.conditions[:CONDITION_ROWS]):
        values[f"conditions.{index}.field"] = condition.field
        values[f"conditions.{index}.operator"] = condition.operator.value
        shown = condition.value
        values[f"conditions.{index}.value"] = ", ".join(shown) if isinstance(shown, list) else str(shown)
    return FormState.initial(values, RULE_FIELDS)


def _rule_values(state: FormState) -> dict[str, Any]:
    """The form as the rule schemas take it; empty condition rows are left out (their positions
    keep the row numbers, so an error names the row the reader typed in)."""
    conditions = []
    for index in range(CONDITION_ROWS):
        field = state.text(f"conditions.{index}.field")
        value = state.text(f"conditions.{index}.value")
        if not field and not value:
            continue
        conditions.append(
            {
                "field": field,
                "operator": state.text(f"conditions.{index}.operator") or "equals",
                "value": value,
            }
        )
    return {
        "name": state.text("name"),
        "is_active": state.checked("is_active"),
        "method": state.text("method") or AssignmentMethod.ROUND_ROBIN.value,
        "user_ids": state.values_of("user_ids"),
        "team_ids": state.values_of("team_ids"),
        "fallback_user_id": state.optional("fallback_user_id"),
        "off_hours": state.text("off_hours") or OffHoursPolicy.SKIP.value,
        "conditions": conditions,
    }


def _condition_rows_compacted(state: FormState) -> FormState:
    """Move the filled condition rows up, so their numbers match what the service reports."""
    rows = [
        tuple(state.value(f"conditions.{index}.{part}") for part in ("field", "operator", "value"))
        for index in range(CONDITION_ROWS)
    ]
    filled = [row for row in rows if row[0].strip() or row[2].strip()]
    for index in range(CONDITION_ROWS):
        row = filled[index] if index < len(filled) else ("", "", "")
        for part, value in zip(("field", "operator", "value"), row, strict=True):
            state.values[f"conditions.{index}.{part}"] = [value] if value else []
    return state


@router.get(f"{BASE}/rules/new")
def new_rule(request: Request, page: Viewer) -> Response:
    require(page.actor, "assignment_rule", Action.CREATE)
    record_type = _record_type(request.query_params.get("record_type"))
    form = FormState.initial(
        {"record_type": record_type.value, "is_active": True, "method": "round_robin", "off_hours": "skip"},
        RULE_FIELDS,
    )
    return _rule_form(request, page, form, None)


@router.post(f"{BASE}/rules")
def create_rule(request: Request, page: Viewer, form: Form) -> Response:
    state = _condition_rows_compacted(FormState.submitted(form, RULE_FIELDS))
    try:
        data = RuleCreate.model_validate({"record_type": state.text("record_type"), **_rule_values(state)})
        created = assignment.create_rule(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _rule_form(request, page, state, None, status_code=422)
    page.flash(N_("The rule {name} has been created."), name=created.name)
    return redirect(request, f"{BASE}/rules?record_type={created.record_type.value}")


@router.get(f"{BASE}/rules/{{rule_id}}")
def edit_rule(request: Request, page: Viewer, rule_id: str) -> Response:
    rule = assignment.get_rule(page.uow(), page.actor, rule_id)
    return _rule_form(request, page, _initial(rule), rule)


@router.post(f"{BASE}/rules/{{rule_id}}")
def update_rule(request: Request, page: Viewer, rule_id: str, form: Form) -> Response:
    rule = assignment.get_rule(page.uow(), page.actor, rule_id)
    state = _condition_rows_compacted(FormState.submitted(form, RULE_FIELDS))
    try:
        version = int(state.value("version"))
    except ValueError:
        version = rule.version
    try:
        data = RuleUpdate.model_validate(_rule_values(state))
        updated = assignment.update_rule(page.uow(), page.actor, rule_id, data, expected_version=version)
    except (ValidationError, ValidationFailed, StaleVersion) as error:
        state.add_refusal(error, page.translator)
        return _rule_form(
            request, page, state, rule, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The changes to {name} have been saved."), name=updated.name)
    return redirect(request, f"{BASE}/rules?record_type={updated.record_type.value}")


@router.post(f"{BASE}/rules/{{rule_id}}/move")
def move_rule(request: Request, page: Viewer, rule_id: str, form: Form) -> Response:
    """The up / down buttons (without JavaScript, or from the keyboard)."""
    offset = -1 if form.get("direction") == "up" else 1
    moved = assignment.move_rule(page.uow(), page.actor, rule_id, offset)
    record_type = moved[0].record_type.value if moved else AssignedRecordType.LEAD.value
    return redirect(request, f"{BASE}/rules?record_type={record_type}")


@router.post(f"{BASE}/rules/{{rule_id}}/delete")
def delete_rule(request: Request, page: Viewer, rule_id: str) -> Response:
    rule = assignment.get_rule(page.uow(), page.actor, rule_id)
    assignment.delete_rule(page.uow(), page.actor, rule_id)
    page.flash(N_("The rule {name} has been deleted."), name=rule.name)
    return redirect(request, f"{BASE}/rules?record_type={rule.record_type.value}")


@router.post(f"{BASE}/order")
def reorder_rules(request: Request, page: Viewer, form: Form) -> Response:
    """The order after a drag and drop: every rule id of the record type, first first."""
    record_type = _record_type(str(form.get("record_type") or ""))
    rule_ids = [value for value in form.getlist("rule_ids") if isinstance(value, str)]
    assignment.reorder_rules(page.uow(), page.actor, record_type.value, rule_ids)
    return redirect(request, f"{BASE}/rules?record_type={record_type.value}")


# Drag and drop of the rules list (SortableJS); the page works without it through the up / down
# buttons. Served from here because the content security policy allows only our own scripts.


# ---------------------------------------------------------------- availability


@router.get(f"{BASE}/availability")
def list_availability(request: Request, page: Viewer) -> Response:
    found = assignment.list_availability(
        page.uow(), page.actor, company_time_zone=page.settings.default_timezone
    )
    return render(
        request,
        "sales/assignment/availability.html",
        {"reps": found, "day_names": [page.translator.gettext(day) for day in DAY_NAMES]},
    )


def _local_text(value: datetime | None, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""


def _availability_form(
    request: Request, page: WebPage, form: FormState, rep: AvailabilityOut, status_code: int = 200
) -> Response:
    may_manage = page.actor.can("rep_availability", Action.UPDATE) and (
        page.actor.scope("rep_availability", Action.UPDATE).value != "own"
    )
    return render(
        request,
        "sales/assignment/availability_form.html",
        {
            "form": form,
            "rep": rep,
            "may_manage": may_manage,
            "day_choices": [
                (str(index), page.translator.gettext(day)) for index, day in enumerate(DAY_NAMES)
            ],
        },
        status_code=status_code,
    )


@router.get(f"{BASE}/availability/{{user_id}}")
def edit_availability(request: Request, page: Viewer, user_id: str) -> Response:
    rep = assignment.get_availability(
        page.uow(), page.actor, user_id, company_time_zone=page.settings.default_timezone
    )
    form = FormState.initial(
        {
            "capacity": rep.capacity,
            "weight": rep.weight,
            "away_from": _local_text(rep.away_from, rep.time_zone),
            "away_until": _local_text(rep.away_until, rep.time_zone),
            "working_days": [str(day) for day in rep.working_days],
            "work_start": rep.work_start.strftime("%H:%M") if rep.work_start else "",
            "work_end": rep.work_end.strftime("%H:%M") if rep.work_end else "",
            "version": rep.version,
        },
        AVAILABILITY_FIELDS,
    )
    return _availability_form(request, page, form, rep)


def _local_time(text: str, zone: str, field: str, state: FormState, page: WebPage) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        state.add_error(field, page.translator.gettext(N_("Enter a date and time")))
        return None


def _time_of_day(text: str, field: str, state: FormState, page: WebPage) -> time | None:
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        state.add_error(field, page.translator.gettext(N_("Enter a time such as 09:00")))
        return None


@router.post(f"{BASE}/availability/{{user_id}}")
def update_availability(request: Request, page: Viewer, user_id: str, form: Form) -> Response:
    zone = page.settings.default_timezone
    rep = assignment.get_availability(page.uow(), page.actor, user_id, company_time_zone=zone)
    state = FormState.submitted(form, AVAILABILITY_FIELDS)
    changes: dict[str, Any] = {
        "away_from": _local_time(state.text("away_from"), zone, "away_from", state, page),
        "away_until": _local_time(state.text("away_until"), zone, "away_until", state, page),
    }
    if "capacity" in form:  # the manager's fields; a rep's form has only the time away
        changes["capacity"] = state.optional("capacity")
        changes["weight"] = state.optional("weight")
        changes["working_days"] = [int(day) for day in state.values_of("working_days") if day.isdigit()]
        changes["work_start"] = _time_of_day(state.text("work_start"), "work_start", state, page)
        changes["work_end"] = _time_of_day(state.text("work_end"), "work_end", state, page)
    if state.has_errors:
        return _availability_form(request, page, state, rep, status_code=422)
    try:
        version = int(state.value("version"))
    except ValueError:
        version = rep.version
    try:
        data = AvailabilityUpdate.model_validate(changes)
        updated = assignment.update_availability(
            page.uow(), page.actor, user_id, data, company_time_zone=zone, expected_version=version or None
        )
    except (ValidationError, ValidationFailed, StaleVersion) as error:
        state.add_refusal(error, page.translator)
        return _availability_form(
            request, page, state, rep, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The availability of {name} has been saved."), name=updated.user_name)
    return redirect(request, f"{BASE}/availability")


# ---------------------------------------------------------------- history


@router.get(f"{BASE}/history")
def history(request: Request, page: Viewer) -> Response:
    params = request.query_params
    record_type = params.get("record_type") or None
    try:
        found = assignment.list_assignments(
            page.uow(),
            page.actor,
            record_type=_record_type(record_type).value if record_type else None,
            record_id=params.get("record_id") or None,
            limit=50,
            cursor=params.get("cursor") or None,
        )
    except ValidationFailed:  # a cursor edited by hand
        found = assignment.list_assignments(page.uow(), page.actor, limit=50)
    translate = page.translator.gettext
    return render(
        request,
        "sales/assignment/history.html",
        {
            "entries": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": not params.get("cursor"),
            "filter_query": {"record_type": record_type} if record_type else {},
            "user_names": user_names(page),
            "method_names": {key.value: translate(name) for key, name in HISTORY_METHOD_NAMES.items()},
            "record_type_names": {key.value: translate(name) for key, name in RECORD_TYPE_NAMES.items()},
        },
    )
