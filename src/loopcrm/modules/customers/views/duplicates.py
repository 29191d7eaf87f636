"""Pages of duplicates and merges: the list of possible duplicates, the merge screen (both records
side by side, one choice per differing field, what moves), the merge's page with its undo, and
the history of merges.

Routes only translate: every rule (who may merge, which values a reader may choose, when an undo
is safe) lives in ``customers.service``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import MergeIn, MergePreview
from loopcrm.modules.customers.views.labels import (
    ACCOUNT_FIELD_NAMES,
    CONTACT_FIELD_NAMES,
    DUPLICATE_REASON_NAMES,
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    SOURCE_NAMES,
)
from loopcrm.modules.customers.views.record_pages import (
    PAGES_OF_KIND,
    CustomFieldView,
    choices,
    custom_field_views,
    readable_phone,
)
from loopcrm.platform.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

PAGE_SIZE = 50
KINDS = ("contact", "account")
CHOICE_PREFIX = "choice."
_VALUE_NAMES = {
    "industry": INDUSTRY_NAMES,
    "operating_status": OPERATING_STATUS_NAMES,
    "source": SOURCE_NAMES,
    "gender": GENDER_NAMES,
}
MOVE_NAMES = {
    "phones": N_("Phone numbers"),
    "emails": N_("Email addresses"),
    "tags": N_("Tags"),
    "employments": N_("Employments"),
    "relationships": N_("Relationships"),
    "children": N_("Subsidiaries"),
    "activities": N_("Activities"),
}


def _kind(value: str | None) -> str:
    if value not in KINDS:
        raise NotFound("Not found")
    return value


def _field_label(page: WebPage, kind: str, custom: dict[str, CustomFieldView], name: str) -> str:
    """A merged field's name: a custom field by its admin's label, a standard one translated."""
    key = name.removeprefix("custom_fields.")
    if name.startswith("custom_fields.") and key in custom:
        return custom[key].label
    labels = ACCOUNT_FIELD_NAMES if kind == "account" else CONTACT_FIELD_NAMES
    return page.gettext(labels.get(name, name))


def _merges_path(kind: str) -> str:
    return "/customers/merges?" + urlencode({"kind": kind})


# ---------------------------------------------------------------- possible duplicates


@router.get("/customers/duplicates")
def list_duplicates(request: Request, page: Viewer) -> Response:
    kind = _kind(request.query_params.get("kind", "contact"))
    before = request.query_params.get("before") or None
    scan = customers.scan_duplicates(page.uow(), page.actor, kind, before=before)
    return render(
        request,
        "customers/duplicates/list.html",
        {
            "kind": kind,
            "pairs": scan.pairs,
            "next_before": scan.next_before,
            "is_first_page": before is None,
            "reason_names": DUPLICATE_REASON_NAMES,
            "record_path": PAGES_OF_KIND[kind].record_path,
            "may_merge": page.actor.can(kind, Action.UPDATE) and page.actor.can(kind, Action.DELETE),
        },
    )


# ---------------------------------------------------------------- the merge screen


def _display(
    page: WebPage, name: str, value: Any, custom: dict[str, CustomFieldView], names: dict[str, str]
) -> str:
    """A field's value as the reader reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return page.gettext(N_("Yes")) if value else page.gettext(N_("No"))
    if name in _VALUE_NAMES:
        return page.gettext(_VALUE_NAMES[name].get(str(value), str(value)))
    if name in ("owner_id", "team_id", "parent_id"):
        return names.get(str(value), str(value))
    if name.startswith("custom_fields.") and name.removeprefix("custom_fields.") in custom:
        field = custom[name.removeprefix("custom_fields.")]
        if field.kind == "user":
            return names.get(str(value), str(value))
        if isinstance(value, list):
            return ", ".join(field.option_label(item) for item in value)
        if field.options:
            return field.option_label(value)
    if isinstance(value, date | datetime) or (isinstance(value, str) and name == "birthday"):
        parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
        return format_date(parsed, "medium", locale=page.translator.babel_locale)
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return format_decimal(value, locale=page.translator.babel_locale)
    return str(value)


def _merge_context(page: WebPage, preview: MergePreview, form: FormState) -> dict[str, Any]:
    kind = preview.record_kind.value
    custom = {field.key: field for field in custom_field_views(page, kind)}
    offered = choices(page)
    names = {**offered.user_names, **offered.team_names}
    for record in (preview.survivor, preview.merged):
        parent_id, parent_name = getattr(record, "parent_id", None), getattr(record, "parent_name", None)
        if parent_id and parent_name:
            names[parent_id] = parent_name
    rows = []
    for field in preview.fields:
        rows.append(
            {
                "name": field.field,
                "input": CHOICE_PREFIX + field.field,
                "label": _field_label(page, kind, custom, field.field),
                "survivor": _display(page, field.field, field.survivor_value, custom, names),
                "merged": _display(page, field.field, field.merged_value, custom, names),
                "side": form.value(CHOICE_PREFIX + field.field, field.default),
                "is_hidden": field.is_hidden,
            }
        )
    return {
        "kind": kind,
        "pages": PAGES_OF_KIND[kind],
        "preview": preview,
        "combined": _combined_rows(page, preview),
        "survivor": preview.survivor,
        "merged": preview.merged,
        "label": lambda record: record.name if kind == "account" else record.full_name,
        "rows": rows,
        # Activities are named even when none move: the reader asks about them first.
        "moves": [
            (page.gettext(MOVE_NAMES[key]), count)
            for key, count in preview.moves.items()
            if count or key == "activities"
        ],
        "form": form,
        "swap_url": "/customers/merge?"
        + urlencode({"kind": kind, "survivor": preview.merged.id, "merged": preview.survivor.id}),
    }


def _combined_rows(page: WebPage, preview: MergePreview) -> list[dict[str, Any]]:
    """Phones, emails, tags (and a contact's jobs): not chosen but kept from both records."""

    def texts(record: Any, name: str) -> list[str] | None:
        values = getattr(record, name)
        if values is None:
            return None  # above the reader's clearance
        if name in ("phones", "emails"):
            return [readable_phone(point.value) if name == "phones" else point.value for point in values]
        if name == "tags":
            return [tag.name for tag in values]
        return [job.account_name + (f" · {job.title}" if job.title else "") for job in values]

    wanted = ["phones", "emails", "tags"] + (
        ["employments"] if preview.record_kind.value == "contact" else []
    )
    return [
        {
            "label": page.gettext(MOVE_NAMES[name]),
            "survivor": texts(preview.survivor, name),
            "merged": texts(preview.merged, name),
        }
        for name in wanted
    ]


def _pick_page(request: Request, page: Viewer, kind: str, survivor_id: str) -> Response:
    """Without a second record: the possible duplicates of the first, to choose one."""
    matches = customers.duplicates_of(page.uow(), page.actor, kind, survivor_id)
    record = (customers.get_account if kind == "account" else customers.get_contact)(
        page.uow(), page.actor, survivor_id
    )
    return render(
        request,
        "customers/duplicates/pick.html",
        {
            "kind": kind,
            "record": record,
            "label": record.name if kind == "account" else record.full_name,  # type: ignore[union-attr]
            "matches": matches,
            "reason_names": DUPLICATE_REASON_NAMES,
            "pages": PAGES_OF_KIND[kind],
        },
    )


@router.get("/customers/merge")
def merge_screen(request: Request, page: Viewer) -> Response:
    kind = _kind(request.query_params.get("kind"))
    survivor_id = request.query_params.get("survivor") or ""
    merged_id = request.query_params.get("merged") or ""
    if not survivor_id:
        raise NotFound("Not found")
    if not merged_id:
        return _pick_page(request, page, kind, survivor_id)
    preview = customers.merge_preview(page.uow(), page.actor, kind, survivor_id, merged_id)
    form = FormState(fields=frozenset(CHOICE_PREFIX + field.field for field in preview.fields))
    return render(request, "customers/duplicates/merge.html", _merge_context(page, preview, form))


@router.post("/customers/merges")
def merge_records(request: Request, page: Viewer, form: Form) -> Response:
    kind = _kind(str(form.get("kind", "")))
    state = FormState.submitted(form, ())
    survivor_id, merged_id = state.text("survivor_id"), state.text("merged_id")
    chosen = {
        name.removeprefix(CHOICE_PREFIX): value
        for name, value in ((name, state.value(name)) for name in state.values)
        if name.startswith(CHOICE_PREFIX)
    }
    try:
        data = MergeIn.model_validate(
            {
                "survivor_id": survivor_id,
                "merged_id": merged_id,
                "chosen": chosen,
                "survivor_version": state.optional("survivor_version"),
                "merged_version": state.optional("merged_version"),
            }
        )
        done = customers.merge_records(page.uow(), page.actor, kind, data)
    except (ValidationError, ValidationFailed, StaleVersion) as error:
        preview = customers.merge_preview(page.uow(), page.actor, kind, survivor_id, merged_id)
        state.fields = frozenset(CHOICE_PREFIX + field.field for field in preview.fields)
        state.add_refusal(error, page.translator)
        status_code = 409 if isinstance(error, StaleVersion) else 422
        return render(
            request,
            "customers/duplicates/merge.html",
            _merge_context(page, preview, state),
            status_code=status_code,
        )
    page.flash(
        N_("{merged} was merged into {survivor}."), merged=done.merged_label, survivor=done.survivor_label
    )
    return redirect(request, f"/customers/merges/{done.id}")


# ---------------------------------------------------------------- merges and their undo


@router.get("/customers/merges")
def list_merges(request: Request, page: Viewer) -> Response:
    kind = _kind(request.query_params.get("kind", "contact"))
    cursor = request.query_params.get("cursor") or None
    try:
        found = customers.list_merges(page.uow(), page.actor, kind, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        cursor = None
        found = customers.list_merges(page.uow(), page.actor, kind, limit=PAGE_SIZE, cursor=None)
    return render(
        request,
        "customers/duplicates/history.html",
        {
            "kind": kind,
            "merges": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "record_path": PAGES_OF_KIND[kind].record_path,
        },
    )


@router.get("/customers/merges/{merge_id}")
def show_merge(request: Request, page: Viewer, merge_id: str) -> Response:
    merge = customers.get_merge(page.uow(), page.actor, merge_id)
    kind = merge.record_kind.value
    custom = {field.key: field for field in custom_field_views(page, kind)}
    return render(
        request,
        "customers/duplicates/merge_done.html",
        {
            "merge": merge,
            "kind": kind,
            "record_path": PAGES_OF_KIND[kind].record_path,
            "taken": [
                _field_label(page, kind, custom, name)
                for name, side in merge.chosen.items()
                if side == "merged"
            ],
            "moves": [(page.gettext(MOVE_NAMES[key]), count) for key, count in merge.moved.items() if count],
            "history_path": _merges_path(kind),
        },
    )


@router.post("/customers/merges/{merge_id}/undo")
def undo_merge(request: Request, page: Viewer, merge_id: str, form: Form) -> Response:
    try:
        merge = customers.undo_merge(page.uow(), page.actor, merge_id)
    except (Conflict, ValidationFailed) as error:
        message = (
            error.message if isinstance(error, Conflict) else N_("The merge could not be undone: {reason}")
        )
        params: dict[str, Any] = dict(error.params)
        if isinstance(error, ValidationFailed):
            params = {"reason": "; ".join(page.message(item.message, item.params) for item in error.errors)}
        page.flash(message, FlashLevel.ERROR, **params)
        return redirect(request, f"/customers/merges/{merge_id}")
    page.flash(
        N_("The merge was undone: {survivor} and {merged} are back as they were."),
        survivor=merge.survivor_label,
        merged=merge.merged_label,
    )
    return redirect(request, f"/customers/merges/{merge.id}")
