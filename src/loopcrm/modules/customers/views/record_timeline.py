"""The interaction timeline and the "log an activity" panel on account and contact pages.

The activities module draws both; this module decides which records make up a record's
timeline (an account's includes the activities of its contacts, see
``customers.timeline_subjects``) and answers the timeline's filter chips and "load more" on a
route of its own, ``/customers/{accounts|contacts}/{id}/timeline``. The activities module's
generic route would need every contact in its query string and would check each of them again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.activities import service as activities
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.views.record_pages import ACCOUNT_PAGES, CONTACT_PAGES, RecordKindPages
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.pages import Viewer, WebPage, is_htmx, render, web_router

router = web_router()


def _section(
    request: Request, page: WebPage, pages: RecordKindPages, record_id: str
) -> activities.TimelineSection:
    subjects = customers.timeline_subjects(page.uow(), page.actor, pages.kind, record_id)
    params = request.query_params
    return activities.timeline_section(
        page.uow(),
        page.actor,
        subjects,
        kinds=params.getlist("kind") or None,
        cursor=params.get("cursor") or None,
        base_path=f"{pages.path}/{record_id}/timeline",
    )


def timeline_context(
    request: Request, page: WebPage, pages: RecordKindPages, record_id: str
) -> dict[str, Any]:
    """What a detail page needs to show its timeline and, for readers who may log activities,
    the panel to log one about the record. The reader's access to the record is checked by
    ``timeline_subjects`` (NotFound otherwise)."""
    context: dict[str, Any] = {"timeline": _section(request, page, pages, record_id)}
    if page.actor.can("activity", Action.CREATE):
        context["activity_panel"] = activities.log_panel(
            page.uow(), page.actor, [(pages.kind, record_id)], next_path=f"{pages.path}/{record_id}"
        )
    return context


def _timeline_fragment(request: Request, page: WebPage, pages: RecordKindPages, record_id: str) -> Response:
    """The whole section after a filter chip (``fragment=section``), the next entries for
    "load more" (``fragment=entries``), or, followed without script, a page of its own."""
    section = _section(request, page, pages, record_id)
    fragment = request.query_params.get("fragment")
    if fragment == "entries" and is_htmx(request):
        template = "activities/timeline_entries.html"
    elif fragment == "section" and is_htmx(request):
        template = "activities/timeline.html"
    else:
        template = "activities/timeline_page.html"
    refs = activities.subject_refs(page.uow(), page.actor, [(pages.kind, record_id)])
    return render(request, template, {"timeline": section, "refs": refs})


@router.get("/customers/accounts/{account_id:uuid}/timeline")
def account_timeline(request: Request, page: Viewer, account_id: UUID) -> Response:
    return _timeline_fragment(request, page, ACCOUNT_PAGES, str(account_id))


@router.get("/customers/contacts/{contact_id:uuid}/timeline")
def contact_timeline(request: Request, page: Viewer, contact_id: UUID) -> Response:
    return _timeline_fragment(request, page, CONTACT_PAGES, str(contact_id))
