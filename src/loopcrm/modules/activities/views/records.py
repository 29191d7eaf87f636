"""Logging an activity, a timeline's fragments, and one activity's page (detail, edit, complete, delete)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.models import ActivityKind
from loopcrm.modules.activities.schemas import ActivityOut, EmailSend
from loopcrm.modules.activities.views import router
from loopcrm.modules.activities.views.forms import (
    EDIT_FIELDS,
    FormProblems,
    change,
    creation,
    edit_values,
    read_links,
)
from loopcrm.platform.errors import StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, is_htmx, redirect, render, safe_next
from loopcrm.platform.web.views.lookups import user_names

DELIVERY_NAMES = {
    "logged": N_("Logged"),
    "queued": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Not sent"),
}
LOGGED_MESSAGES = {
    ActivityKind.NOTE.value: N_("The note has been saved."),
    ActivityKind.CALL.value: N_("The call has been logged."),
    ActivityKind.MEETING.value: N_("The meeting has been saved."),
    ActivityKind.EMAIL.value: N_("The email has been logged."),
    ActivityKind.TASK.value: N_("The task has been created."),
}


def _names() -> dict[str, Any]:
    """The names (msgids) of every state set, for the templates."""
    return {"names": {**activities.STATE_NAMES, "delivery": DELIVERY_NAMES}}


def _subjects(request: Request) -> list[tuple[str, str]]:
    params = request.query_params
    return list(zip(params.getlist("subject_type"), params.getlist("subject_id"), strict=False))


def _panel_page(
    request: Request, page: WebPage, panel: activities.LogPanel, *, status_code: int = 200
) -> Response:
    context = {"activity_panel": panel, **_names()}
    if request.query_params.get("fragment") == "panel" and is_htmx(request):
        return render(request, "activities/log_panel.html", context, status_code=status_code)
    return render(request, "activities/new.html", context, status_code=status_code)


@router.get("/activities/new")
def new_activity(request: Request, page: Viewer) -> Response:
    """The log form for one kind: the panel's tab (htmx fragment) or a page of its own."""
    kind = request.query_params.get("kind") or ActivityKind.NOTE.value
    next_path = safe_next(request.query_params.get("next"), "/activities")
    panel = activities.log_panel(page.uow(), page.actor, _subjects(request), next_path=next_path, kind=kind)
    return _panel_page(request, page, panel)


@router.post("/activities")
def create_activity(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, activities.LOG_FIELDS)
    next_path = safe_next(state.value("next"), "/activities")
    subjects = [(link["subject_type"], link["subject_id"]) for link in read_links(state)]
    try:
        data = creation(state, page.timezone, page.translator)
        if isinstance(data, EmailSend):
            activities.send_email(page.uow(), page.actor, data)
            page.flash(N_("The email is on its way."))
        else:
            created = activities.log_activity(page.uow(), page.actor, data)
            page.flash(LOGGED_MESSAGES[created.kind.value])
    except FormProblems:
        pass
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
    if not state.has_errors:
        return redirect(request, next_path)
    kind = state.text("kind") or ActivityKind.NOTE.value
    panel = activities.log_panel(page.uow(), page.actor, subjects, next_path=next_path, kind=kind, form=state)
    return render(request, "activities/new.html", {"activity_panel": panel, **_names()}, status_code=422)


@router.get("/activities/timeline")
def timeline_fragment(request: Request, page: Viewer) -> Response:
    """More of a timeline for htmx: the whole section (``fragment=section``, after a filter chip)
    or the next entries (``fragment=entries``, "load more"). Each record must be readable."""
    params = request.query_params
    subjects = [activities.parse_subject(text) for text in params.getlist("subject")]
    section = activities.timeline_section(
        page.uow(),
        page.actor,
        subjects,
        kinds=params.getlist("kind"),
        cursor=params.get("cursor") or None,
        check_access=True,
    )
    fragment = params.get("fragment")
    if fragment == "entries" and is_htmx(request):
        template = "activities/timeline_entries.html"
    elif fragment == "section" and is_htmx(request):
        template = "activities/timeline.html"
    else:  # a chip or "load more" followed without script: the timeline as a page of its own
        template = "activities/timeline_page.html"
    return render(
        request,
        template,
        {"timeline": section, "refs": activities.subject_refs(page.uow(), page.actor, subjects)},
    )


def _detail_page(
    request: Request,
    page: WebPage,
    activity: ActivityOut,
    form: FormState | None = None,
    *,
    status_code: int = 200,
) -> Response:
    refs = activities.subject_refs(
        page.uow(),
        page.actor,
        [(link.subject_type, link.subject_id) for link in activity.links if link.subject_id is not None],
    )
    attendees = activity.meeting.attendee_records if activity.meeting else []
    attendee_keys = {link.key for link in attendees}
    hidden_attendees = sum(link.hidden for link in attendees)
    names = user_names(page)
    context: dict[str, Any] = {
        "activity": activity,
        "form": form or FormState.initial(edit_values(activity, page.timezone), EDIT_FIELDS),
        "subjects": [ref for ref in refs if (ref.subject_type, ref.subject_id) not in attendee_keys],
        "attendee_records": [ref for ref in refs if (ref.subject_type, ref.subject_id) in attendee_keys],
        # records the reader may not read: counted, never named (see activities.LinkOut)
        "hidden_subjects": sum(link.hidden for link in activity.links) - hidden_attendees,
        "hidden_attendee_records": hidden_attendees,
        "user_names": names,
        "user_choices": sorted(names.items(), key=lambda item: item[1].lower()),
        "may_change": activities.may_change(page.actor, activity),
        "may_complete": activities.may_complete(page.actor, activity),
        "next_path": safe_next(request.query_params.get("next"), ""),
        **_names(),
    }
    return render(request, "activities/detail.html", context, status_code=status_code)


@router.get("/activities/{activity_id}")
def activity_detail(request: Request, page: Viewer, activity_id: str) -> Response:
    return _detail_page(request, page, activities.get_activity(page.uow(), page.actor, activity_id))


def _version(state: FormState, fallback: int) -> int:
    try:
        return int(state.value("version"))
    except ValueError:
        return fallback


@router.post("/activities/{activity_id}")
def update_activity(request: Request, page: Viewer, activity_id: str, form: Form) -> Response:
    activity = activities.get_activity(page.uow(), page.actor, activity_id)
    state = FormState.submitted(form, EDIT_FIELDS)
    try:
        data = change(activity, state, page.timezone, page.translator)
        activities.update_activity(
            page.uow(), page.actor, activity_id, data, expected_version=_version(state, activity.version)
        )
    except FormProblems:
        return _detail_page(request, page, activity, state, status_code=422)
    except (ValidationError, ValidationFailed, StaleVersion) as error:
        state.add_refusal(error, page.translator)
        return _detail_page(
            request, page, activity, state, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The changes have been saved."))
    return redirect(request, f"/activities/{activity_id}")


@router.post("/activities/{activity_id}/complete")
def complete_task(request: Request, page: Viewer, activity_id: str, form: Form) -> Response:
    state = FormState.submitted(form, ())
    next_path = safe_next(state.value("next"), f"/activities/{activity_id}")
    try:
        done = activities.complete_task(page.uow(), page.actor, activity_id)
    except (ValidationFailed, StaleVersion) as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
        return redirect(request, next_path)
    page.flash(N_("The task {subject} is done."), subject=done.subject)
    return redirect(request, next_path)


@router.post("/activities/{activity_id}/delete")
def delete_activity(request: Request, page: Viewer, activity_id: str, form: Form) -> Response:
    activity = activities.get_activity(page.uow(), page.actor, activity_id)
    state = FormState.submitted(form, ())
    try:
        activities.delete_activity(
            page.uow(), page.actor, activity_id, expected_version=_version(state, activity.version)
        )
    except StaleVersion as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
        return redirect(request, f"/activities/{activity_id}")
    page.flash(N_("The activity {subject} has been deleted."), subject=activity.subject)
    return redirect(request, safe_next(state.value("next"), "/activities"))
