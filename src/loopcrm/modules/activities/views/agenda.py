"""The reader's own work: "My tasks" and the calendar of their meetings and tasks."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from babel import dates
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import CalendarItem
from loopcrm.modules.activities.views import router
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.timestamps import time_zone
from loopcrm.platform.web.pages import Viewer, WebPage, render
from loopcrm.platform.web.views.lookups import end_of_day, parse_day, start_of_day

TASKS_PAGE_SIZE = 50
WEEK = 7


@router.get("/activities")
def my_tasks(request: Request, page: Viewer) -> Response:
    """Open tasks assigned to the reader, soonest due first; overdue ones are marked."""
    cursor = request.query_params.get("cursor") or None
    try:
        found = activities.my_tasks(page.uow(), page.actor, limit=TASKS_PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        cursor = None
        found = activities.my_tasks(page.uow(), page.actor, limit=TASKS_PAGE_SIZE, cursor=None)
    overdue = activities.overdue_tasks(page.uow(), page.actor, limit=1).items
    now = utc_now()
    return render(
        request,
        "activities/tasks.html",
        {
            "tasks": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "now": now,
            "has_overdue": bool(overdue),
            "names": activities.STATE_NAMES,
            "section": "tasks",
        },
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _window(view: str, day: date) -> tuple[date, date]:
    """First and last day (inclusive) the grid shows: a Monday-to-Sunday week, or the whole weeks
    covering the month of ``day``."""
    if view == "week":
        first = _monday(day)
        return first, first + timedelta(days=WEEK - 1)
    month_start = day.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    first = _monday(month_start)
    last = _monday(next_month - timedelta(days=1)) + timedelta(days=WEEK - 1)
    return first, last


def _shifted(view: str, day: date, steps: int) -> date:
    if view == "week":
        return day + timedelta(days=WEEK * steps)
    month = day.month - 1 + steps
    return date(day.year + month // 12, month % 12 + 1, 1)


@router.get("/activities/calendar")
def calendar(request: Request, page: Viewer) -> Response:
    """A week or month grid of the reader's meetings and tasks, in the reader's time zone."""
    view = "week" if request.query_params.get("view") == "week" else "month"
    tz = time_zone(page.timezone)
    today = utc_now().astimezone(tz).date()
    day = parse_day(request.query_params.get("day")) or today
    first, last = _window(view, day)
    start, end = start_of_day(first, page.timezone), end_of_day(last, page.timezone)
    items = activities.calendar(page.uow(), page.actor, start=start, end=end)
    by_day: dict[date, list[CalendarItem]] = defaultdict(list)
    for item in items:
        by_day[item.day].append(item)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    weeks = [days[index : index + WEEK] for index in range(0, len(days), WEEK)]
    return render(
        request,
        "activities/calendar.html",
        {
            "view": view,
            "day": day,
            "today": today,
            "weeks": weeks,
            "by_day": by_day,
            "item_count": len(items),
            "title": _calendar_title(page, view, day, first, last),
            "weekday_names": _weekday_names(page),
            "times": {
                item.activity_id: dates.format_time(
                    item.starts_at, "short", tzinfo=tz, locale=page.translator.babel_locale
                )
                for item in items
            },
            "names": activities.STATE_NAMES,
            "previous_day": _shifted(view, day, -1).isoformat(),
            "next_day": _shifted(view, day, 1).isoformat(),
            "section": "calendar",
        },
    )


def _calendar_title(page: WebPage, view: str, day: date, first: date, last: date) -> str:
    locale = page.translator.babel_locale
    if view == "month":
        return dates.format_skeleton("yMMMM", day, locale=locale)
    return dates.format_interval(first, last, "yMMMd", locale=locale)


def _weekday_names(page: WebPage) -> list[dict[str, Any]]:
    locale = page.translator.babel_locale
    names = dates.get_day_names("abbreviated", locale=locale)
    return [{"short": names[index]} for index in range(WEEK)]
