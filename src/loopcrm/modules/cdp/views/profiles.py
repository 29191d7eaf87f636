"""Pages of the 360° profile: find a profile by any identifier, and one profile's page (identities,
traits, consent, CRM links, merges with undo and a manual merge form, and the timeline)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.activities import service as activities
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity.models import MergeReason
from loopcrm.modules.cdp.identity.schemas import MergeIn
from loopcrm.modules.cdp.schemas import ProfileDetail
from loopcrm.platform.errors import Conflict, NotFound, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, is_htmx, redirect, render, web_router

router = web_router()

# Profiles a search page lists at once (newest first), and timeline entries per page.
PROFILE_PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 20
MERGE_FIELDS = ("other", "note")
MERGE_REASON_NAMES: dict[str, str] = {
    MergeReason.RULE.value: N_("Identity rule"),
    MergeReason.MANUAL.value: N_("By hand"),
    MergeReason.PROBABILISTIC.value: N_("Probabilistic match"),
}


@router.get("/cdp/profiles")
def search_profiles(request: Request, page: Viewer) -> Response:
    """One box: whatever identifier one knows (email, phone, user id, anonymous id, WeChat id…)."""
    query = (request.query_params.get("q") or "").strip()
    cursor = request.query_params.get("cursor") or None
    form = FormState.initial({"q": query}, ("q",))
    status_code = 200
    profiles: list[ProfileDetail] = []
    next_cursor = None
    try:
        if query:
            profiles = cdp.find_profiles(page.uow(), page.actor, query)
        else:
            found = cdp.list_profiles(page.uow(), page.actor, limit=PROFILE_PAGE_SIZE, cursor=cursor)
            profiles, next_cursor = found.items, found.next_cursor
    except ValidationFailed as error:
        form.add_refusal(error, page.translator)
        status_code = 422
    return render(
        request,
        "cdp/profile_search.html",
        {
            "form": form,
            "query": query,
            "profiles": profiles,
            "next_cursor": next_cursor,
            "is_first_page": cursor is None,
        },
        status_code=status_code,
    )


def _timeline_section(request: Request, page: WebPage, profile_id: str) -> activities.TimelineSection:
    params = request.query_params
    known = {kind for kind, _ in cdp.profile_timeline_kinds()}
    selected = frozenset(kind for kind in params.getlist("kind") if kind in known)
    found = cdp.profile_timeline(
        page.uow(),
        page.actor,
        profile_id,
        kinds=selected or None,
        limit=TIMELINE_PAGE_SIZE,
        cursor=params.get("cursor") or None,
    )
    return activities.TimelineSection(
        entries=list(found.items),
        next_cursor=found.next_cursor,
        kinds=cdp.profile_timeline_kinds(),
        selected_kinds=selected,
        base_path=f"/cdp/profiles/{profile_id}/timeline",
    )


def _profile_page(
    request: Request,
    page: WebPage,
    profile_id: str,
    *,
    merge_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    profile = cdp.profile_detail(page.uow(), page.actor, profile_id)
    context: dict[str, Any] = {
        "profile": profile,
        "survivor_id": None,
        "linked": cdp.linked_records(page.uow(), page.actor, profile),
        "merges": cdp.list_profile_merges(page.uow(), page.actor, profile_id),
        "may_merge": cdp.may_merge(page.actor),
        "merge_form": merge_form or FormState(fields=frozenset(MERGE_FIELDS)),
        "timeline": _timeline_section(request, page, profile_id),
        "event_kind_names": cdp.EVENT_KIND_NAMES,
        "merge_reason_names": MERGE_REASON_NAMES,
    }
    if profile.merged_into is not None:
        context["survivor_id"] = cdp.survivor_of(page.uow(), page.actor, profile_id)
    return render(request, "cdp/profile.html", context, status_code=status_code)


@router.get("/cdp/profiles/{profile_id:uuid}")
def show_profile(request: Request, page: Viewer, profile_id: UUID) -> Response:
    return _profile_page(request, page, str(profile_id))


@router.get("/cdp/profiles/{profile_id:uuid}/timeline")
def profile_timeline(request: Request, page: Viewer, profile_id: UUID) -> Response:
    """The timeline after a filter chip (``fragment=section``), its next entries for "load more"
    (``fragment=entries``), or, followed without script, a page of its own."""
    section = _timeline_section(request, page, str(profile_id))
    fragment = request.query_params.get("fragment")
    if fragment == "entries" and is_htmx(request):
        template = "cdp/profile_timeline_entries.html"
    elif fragment == "section" and is_htmx(request):
        template = "cdp/profile_timeline.html"
    else:
        template = "cdp/profile_timeline_page.html"
    return render(
        request,
        template,
        {"timeline": section, "profile_id": str(profile_id), "event_kind_names": cdp.EVENT_KIND_NAMES},
    )


def _other_profile_id(page: WebPage, text: str) -> str:
    """The profile a merge form names: by its id, or by an identifier only one profile holds."""
    try:
        return cdp.profile_detail(page.uow(), page.actor, str(UUID(text))).id
    except (ValueError, NotFound):
        pass
    found = cdp.find_profiles(page.uow(), page.actor, text)
    if len(found) != 1:
        raise ValidationFailed.single(
            "other",
            "No single profile has this id or identifier",
            "not_found" if not found else "ambiguous",
        )
    return found[0].id


@router.post("/cdp/profiles/{profile_id:uuid}/merges")
def merge_into_profile(request: Request, page: Viewer, profile_id: UUID, form: Form) -> Response:
    """Merge another profile (named by id or identifier) into this one, with a note."""
    survivor_id = str(profile_id)
    state = FormState.submitted(form, MERGE_FIELDS)
    try:
        other = state.text("other")
        if not other:
            raise ValidationFailed.single("other", "Name the profile to merge into this one", "required")
        merged_id = _other_profile_id(page, other)
        merge = MergeIn.model_validate(
            {"survivor_id": survivor_id, "merged_id": merged_id, "note": state.text("note")}
        )
        cdp.merge_profiles(page.uow(), page.actor, merge)
    except Conflict as error:
        state.add_error("other", page.message(error.message, error.params))
        return _profile_page(request, page, survivor_id, merge_form=state, status_code=409)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _profile_page(request, page, survivor_id, merge_form=state, status_code=422)
    page.flash(N_("The profiles were merged."))
    return redirect(request, f"/cdp/profiles/{survivor_id}")


@router.post("/cdp/merges/{merge_id:uuid}/undo")
def undo_merge(request: Request, page: Viewer, merge_id: UUID, form: Form) -> Response:
    state = FormState.submitted(form, ("profile_id",))
    back = state.value("profile_id")
    try:
        undone = cdp.undo_merge(page.uow(), page.actor, str(merge_id))
    except Conflict as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
        return redirect(request, f"/cdp/profiles/{back}" if back else "/cdp/profiles")
    page.flash(N_("The merge was undone: both profiles are back as they were."))
    return redirect(request, f"/cdp/profiles/{back or undone.survivor_id}")
