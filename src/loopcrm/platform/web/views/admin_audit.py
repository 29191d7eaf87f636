"""Admin page of the audit log: filters by record, actor, action and dates; each change as old → new."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.audit import service as audit
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.schemas import AuditEntryOut, AuditFilter
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.pagination import Page
from loopcrm.platform.permissions import object_types
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Viewer, WebPage, render, web_router
from loopcrm.platform.web.views.lookups import end_of_day, parse_day, start_of_day, teams, user_names

router = web_router()

PAGE_SIZE = 50
FILTER_FIELDS = ("object_type", "object_id", "actor_id", "action", "since", "until")
# A long value (a whole grants matrix) is cut in the table; the API returns it whole.
MAX_SHOWN_VALUE_LENGTH = 300

ACTION_NAMES = {
    AuditAction.CREATE.value: N_("Create"),
    AuditAction.UPDATE.value: N_("Update"),
    AuditAction.DELETE.value: N_("Delete"),
    AuditAction.RESTORE.value: N_("Restore"),
    AuditAction.READ.value: N_("Sensitive read"),
    AuditAction.LOGIN.value: N_("Sign-in"),
    AuditAction.LOGIN_FAILED.value: N_("Failed sign-in"),
    AuditAction.LOGOUT.value: N_("Sign-out"),
    AuditAction.PASSWORD_RESET.value: N_("Password reset"),
}
# Fields whose values are ids of users or teams: shown by name.
USER_ID_FIELDS = frozenset({"manager_id", "user_id", "member_ids", "owner_id", "actor_id"})
TEAM_ID_FIELDS = frozenset({"team_ids", "parent_id", "team_id"})
# Where the record of an object type is edited, to link an entry to its record.
RECORD_PAGES = {"user": "/admin/users/{id}", "team": "/admin/teams/{id}", "role": "/admin/roles/{id}"}


def _shown(page: WebPage, name: str, value: Any, users: dict[str, str], team_names: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return page.gettext(N_("Yes")) if value else page.gettext(N_("No"))
    if name in USER_ID_FIELDS or name in TEAM_ID_FIELDS:
        names = users if name in USER_ID_FIELDS else team_names
        items = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(item), str(item)) for item in items)
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        text = ", ".join(str(item) for item in value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= MAX_SHOWN_VALUE_LENGTH else text[: MAX_SHOWN_VALUE_LENGTH - 1] + "…"


def _changes(
    page: WebPage, entry: AuditEntryOut, users: dict[str, str], team_names: dict[str, str]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, change in sorted(entry.changes.items()):
        if entry.action is AuditAction.READ or not isinstance(change, list) or len(change) != 2:
            rows.append(
                {
                    "field": name,
                    "old": None,
                    "new": _shown(page, name, change, users, team_names) if change is not None else None,
                }
            )
            continue
        old, new = change
        rows.append(
            {
                "field": name,
                "old": None
                if entry.action is AuditAction.CREATE
                else _shown(page, name, old, users, team_names),
                "new": None
                if entry.action is AuditAction.DELETE
                else _shown(page, name, new, users, team_names),
                "deleted": entry.action is AuditAction.DELETE,
            }
        )
    return rows


@router.get("/admin/audit")
def audit_log(request: Request, page: Viewer) -> Response:
    params = request.query_params
    form = FormState.initial({name: params.get(name, "") for name in FILTER_FIELDS}, FILTER_FIELDS)
    since_day, until_day = parse_day(params.get("since")), parse_day(params.get("until"))
    for name, day in (("since", since_day), ("until", until_day)):
        if params.get(name) and day is None:
            form.add_error(name, page.gettext(N_("Enter a valid date")))
    try:
        filters = AuditFilter.model_validate(
            {
                "object_type": params.get("object_type") or None,
                "object_id": (params.get("object_id") or "").strip() or None,
                "actor_id": params.get("actor_id") or None,
                "action": params.get("action") or None,
                "since": start_of_day(since_day, page.timezone) if since_day else None,
                "until": end_of_day(until_day, page.timezone) if until_day else None,
            }
        )
    except ValidationError as error:
        form.add_validation_error(error, page.translator)
        filters = AuditFilter()
    cursor = params.get("cursor") or None
    entries: Page[AuditEntryOut]
    try:
        entries = audit.list_entries(page.uow(), page.actor, filters, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed as error:
        form.add_domain_error(error, page.translator)
        entries = audit.list_entries(page.uow(), page.actor, filters, limit=PAGE_SIZE, cursor=None)
    users = user_names(page)
    team_names = {team.id: team.name for team in teams(page)}
    return render(
        request,
        "admin/audit.html",
        {
            "form": form,
            "entries": [
                {
                    "entry": entry,
                    "action": page.gettext(ACTION_NAMES.get(entry.action.value, entry.action.value)),
                    "object_type": page.translator.object_type_label(entry.object_type),
                    "record_path": RECORD_PAGES[entry.object_type].format(id=entry.object_id)
                    if entry.object_type in RECORD_PAGES
                    and entry.object_id
                    and entry.action is not AuditAction.DELETE
                    else None,
                    "changes": _changes(page, entry, users, team_names),
                }
                for entry in entries.items
            ],
            "next_cursor": entries.next_cursor,
            "is_first_page": cursor is None,
            "filter_query": {name: params.get(name, "") for name in FILTER_FIELDS if params.get(name)},
            "object_type_choices": [
                (object_type.key, page.gettext(object_type.label)) for object_type in object_types()
            ],
            "action_choices": page.translator.choices(ACTION_NAMES),
            "actor_choices": sorted(users.items(), key=lambda item: item[1].lower()),
        },
    )
