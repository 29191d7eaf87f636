"""The notification centre's pages: the list at ``/notifications`` and the bell of the top bar.

``base.html`` shows a plain link to ``/notifications`` that htmx replaces, once the page has
loaded, with :func:`bell` (the link with the unread count), and refreshes every minute. Without
script the link still works; the page itself never waits for the count.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE
from loopcrm.platform.web.pages import Viewer, redirect, render, safe_next, web_router
from loopcrm.platform.web.templating import add_template_directory

router = web_router()
add_template_directory(Path(__file__).resolve().parent / "templates")

# The bell shows exact counts up to this; beyond, "99+" says enough.
BELL_COUNT_LIMIT = 99


@router.get("/notifications")
def list_notifications(request: Request, page: Viewer) -> Response:
    unread_only = request.query_params.get("unread") == "1"
    cursor = request.query_params.get("cursor") or None
    try:
        found = notifications.list_notifications(
            page.uow(), page.actor, unread_only=unread_only, limit=DEFAULT_PAGE_SIZE, cursor=cursor
        )
    except ValidationFailed:  # a mangled cursor in the address: start from the first page
        cursor = None
        found = notifications.list_notifications(
            page.uow(), page.actor, unread_only=unread_only, limit=DEFAULT_PAGE_SIZE, cursor=None
        )
    return render(
        request,
        "notifications/list.html",
        {
            "notifications": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "unread_only": unread_only,
            "unread_count": notifications.unread_count(page.uow(), page.actor),
        },
    )


@router.get("/notifications/bell")
def bell(request: Request, page: Viewer) -> Response:
    """The top bar's bell with the unread count (an htmx fragment)."""
    count = notifications.unread_count(page.uow(), page.actor)
    return render(request, "notifications/bell.html", {"unread_count": count, "limit": BELL_COUNT_LIMIT})


@router.post("/notifications/{notification_id}/open")
def open_notification(request: Request, page: Viewer, notification_id: str) -> Response:
    """Mark the notification read and go to the page it is about."""
    opened = notifications.mark_read(page.uow(), page.actor, notification_id)
    return redirect(request, safe_next(opened.path, "/notifications"))


@router.post("/notifications/read-all")
def mark_all_read(request: Request, page: Viewer) -> Response:
    marked = notifications.mark_all_read(page.uow(), page.actor)
    if marked:
        page.flash(N_("All notifications are marked as read."))
    return redirect(request, "/notifications")
