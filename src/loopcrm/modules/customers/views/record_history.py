"""The field history page of an account or a contact: who changed which field, when, from what
to what (read from the audit log by ``customers.field_history``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import FieldChange
from loopcrm.modules.customers.views.labels import (
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    SOURCE_NAMES,
)
from loopcrm.modules.customers.views.record_pages import (
    CUSTOM_FIELD_PREFIX,
    RecordKindPages,
    custom_field_views,
    history_value,
    readable_phone,
)
from loopcrm.platform.i18n import N_
from loopcrm.platform.web.pages import WebPage, render

# Own msgids: "Created" and "Deleted" elsewhere name date columns (创建时间, 删除时间); here
# they name what an action did (创建, 删除).
ACTION_NAMES = {
    "create": N_("Created (history action)"),
    "update": N_("Changed (history action)"),
    "delete": N_("Deleted (history action)"),
    "restore": N_("Restored (history action)"),
    "merge": N_("Merged (history action)"),
}
# Fields only the history shows: what a merge wrote on both records.
HISTORY_FIELD_NAMES = {
    "merged_from": N_("Merged from"),
    "merged_into": N_("Merged into"),
}


@dataclass
class ChangeGroup:
    """The changes one action made at once (a create lists every field it set)."""

    at: datetime
    actor: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)


def _groups(changes: list[FieldChange]) -> list[ChangeGroup]:
    groups: list[ChangeGroup] = []
    for change in changes:
        last = groups[-1] if groups else None
        if last is None or (last.at, last.actor, last.action) != (change.at, change.actor, change.action):
            last = ChangeGroup(change.at, change.actor, change.action)
            groups.append(last)
        last.changes.append(change)
    return groups


def history_page(request: Request, page: WebPage, kind: RecordKindPages, record: Any, title: str) -> Response:
    changes = customers.field_history(page.uow(), page.actor, kind.kind, record.id)
    custom = {CUSTOM_FIELD_PREFIX + field.key: field for field in custom_field_views(page, kind.kind)}
    named_values = {
        "industry": INDUSTRY_NAMES,
        "operating_status": OPERATING_STATUS_NAMES,
        "source": SOURCE_NAMES,
        "gender": GENDER_NAMES,
    }

    def shown_one(name: str, value: Any) -> Any:
        if name in custom and isinstance(value, str):
            custom_field = custom[name]
            return custom_field.option_label(value) if custom_field.options else value
        if isinstance(value, str) and name == "phones":
            return readable_phone(value)
        if isinstance(value, str) and value in named_values.get(name, {}):
            return page.gettext(named_values[name][value])
        if isinstance(value, bool):
            return page.gettext(N_("Yes") if value else N_("No"))
        return value

    def shown(change: FieldChange, side: str) -> str:
        """A value as the reader knows it: a user, team or account by name (the service names
        them), a vocabulary value by its label."""
        label = change.old_label if side == "old" else change.new_label
        if label:
            return label
        value = change.old if side == "old" else change.new
        if isinstance(value, list):
            return history_value([shown_one(change.field, item) for item in value])
        return history_value(shown_one(change.field, value))

    def field_label(name: str) -> str:
        if name in custom:
            return custom[name].label
        known = kind.field_names.get(name) or HISTORY_FIELD_NAMES.get(name)
        return page.gettext(known) if known else name

    return render(
        request,
        "customers/records/history.html",
        {
            "kind": kind,
            "record": record,
            "title": title,
            "groups": _groups(changes),
            "field_label": field_label,
            "action_names": ACTION_NAMES,
            "shown": shown,
        },
    )
