"""The lists of accounts and contacts: filter bar, search, sortable columns the reader chooses,
saved views, bulk actions, deleted records and their restore, and the link to the export.

Both lists are one implementation over :class:`RecordKindPages`; the record pages themselves
(detail, forms) live in ``accounts.py`` and ``contacts.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import BulkAction, ListQuery, SavedViewCreate
from loopcrm.modules.customers.service import list_columns as columns_service
from loopcrm.modules.customers.service.imports import IMPORT
from loopcrm.modules.customers.views.labels import (
    BULK_ACTION_NAMES,
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    SOURCE_NAMES,
)
from loopcrm.modules.customers.views.list_columns import chooser_columns, list_columns, moved
from loopcrm.modules.customers.views.list_filters import (
    ListRequest,
    filter_fields,
    operator_choices,
)
from loopcrm.modules.customers.views.record_pages import (
    ACCOUNT_PAGES,
    CONTACT_PAGES,
    RecordKindPages,
    choices,
    custom_field_views,
    is_masked,
    may,
    readable_phone,
)
from loopcrm.platform.errors import DomainError, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, safe_next, web_router

router = web_router()

PAGE_SIZE = 50


@router.get("/customers")
def customers_home(request: Request, page: Viewer) -> Response:
    """The module's entry in the navigation opens the account list."""
    return redirect(request, ACCOUNT_PAGES.path)


# Column names of the vocabularies a list shows by name, stored value → msgid.
_VALUE_NAMES = {
    "industry": INDUSTRY_NAMES,
    "operating_status": OPERATING_STATUS_NAMES,
    "source": SOURCE_NAMES,
    "gender": GENDER_NAMES,
}


def _list_page(request: Request, page: WebPage, kind: RecordKindPages) -> Response:
    actor = page.actor
    offered = choices(page)
    custom = custom_field_views(page, kind.kind)
    fields = filter_fields(kind, page.translator, offered, custom)
    views = customers.list_views(page.uow(), actor, kind.kind)
    wanted = ListRequest.read(request.query_params, fields, views)
    errors = FormState(fields=frozenset({"q"}))
    offered_columns = columns_service.list_column_choices(page.uow(), actor, RecordKind(kind.kind))
    shown_keys = offered_columns.default
    try:
        if wanted.columns:  # the links of the page carry them as checked: the name first, each once
            shown_keys = columns_service.choose_columns(
                page.uow(), actor, RecordKind(kind.kind), wanted.columns
            )
            wanted.columns = shown_keys
    except ValidationFailed as error:  # a link with unknown or hidden columns: the default ones
        errors.add_refusal(error, page.translator)
        wanted.columns = []
    shown = list_columns(shown_keys, kind, page.translator, custom)
    column_choices = chooser_columns(
        shown, list_columns(offered_columns.columns, kind, page.translator, custom)
    )
    for parameter, step in (("column_up", -1), ("column_down", 1)):
        if parameter in request.query_params:  # a move button of the chooser: its columns, one moved
            ticked = [column.key for column, is_shown in column_choices if is_shown]
            order = moved(ticked, request.query_params[parameter], step)
            return redirect(request, replace(wanted, columns=order).url(kind.path, choosing=True))
    items: list[Any] = []
    next_cursor = None
    try:
        query = ListQuery(
            q=wanted.q or None,
            filters=wanted.conditions,
            sort=wanted.sort or None,
            include_deleted=wanted.include_deleted,
        )
        lister = customers.list_accounts if kind is ACCOUNT_PAGES else customers.list_contacts
        found = lister(page.uow(), actor, query, limit=PAGE_SIZE, cursor=wanted.cursor or None)
        items, next_cursor = found.items, found.next_cursor
    except (ValidationError, ValidationFailed) as error:
        errors.add_refusal(error, page.translator)
    shown_custom = [field for field in custom if field.is_active]
    return render(
        request,
        "customers/records/list.html",
        {
            "kind": kind,
            "items": items,
            "wanted": wanted,
            "errors": errors,
            "fields": fields,
            "operators": operator_choices(page.translator),
            "choices": offered,
            "custom_fields": shown_custom,
            "columns": shown,
            "column_choices": column_choices,
            "default_columns_url": wanted.url(kind.path, columns=False, choosing=True),
            "value_names": _VALUE_NAMES,
            "user_names": offered.user_names,
            "views": views,
            "selected_view": next((view for view in views if view.id == wanted.view_id), None),
            "next_url": wanted.url(kind.path, cursor=next_cursor) if next_cursor else None,
            "first_url": wanted.url(kind.path) if wanted.cursor else None,
            "export_urls": {
                format_name: f"{kind.path}/export?"
                + urlencode([*wanted.query(view=False), ("format", format_name)])
                for format_name in ("csv", "xlsx")
            },
            "industry_names": INDUSTRY_NAMES,
            "bulk_actions": page.translator.choices(BULK_ACTION_NAMES),
            "may_create": actor.can(kind.kind, Action.CREATE),
            # Importing creates records of this kind: it needs both rights, as the import page checks.
            "may_import": actor.can(kind.kind, Action.CREATE) and actor.can(IMPORT.key, Action.CREATE),
            "may_read_imports": actor.can(IMPORT.key, Action.READ),
            "may_update": actor.can(kind.kind, Action.UPDATE),
            "may_delete": actor.can(kind.kind, Action.DELETE),
            "may_tag": bool(offered.tags),
            "may_restore": lambda record: may(actor, record, kind.kind, Action.DELETE),
            "is_masked": is_masked,
            "phone_text": readable_phone,
        },
    )


# ---------------------------------------------------------------- bulk actions


def _flash_refusal(page: WebPage, error: DomainError) -> None:
    """A service's refusal of a bulk action or a saved view, as flash messages on the list it
    came from (msgids travel with their parameters and are translated there)."""
    if isinstance(error, ValidationFailed) and error.errors:
        shown: set[str] = set()
        for item in error.errors:
            if item.message not in shown:  # one message for many records refused alike
                shown.add(item.message)
                page.flash(item.message, FlashLevel.ERROR, **item.params)
        return
    page.flash(error.message, FlashLevel.ERROR, **error.params)


def _bulk(request: Request, page: WebPage, form: Any, kind: RecordKindPages) -> Response:
    back = safe_next(str(form.get("back") or ""), kind.path)
    if not back.startswith(kind.path):
        back = kind.path
    record_ids = [str(value) for value in form.getlist("record_ids") if str(value)]
    action = str(form.get("bulk_action") or "")
    if not record_ids:
        page.flash(N_("Select at least one record first."), FlashLevel.WARNING)
        return redirect(request, back)
    tag_id = str(form.get("tag_id") or "")
    try:
        data = BulkAction(
            record_ids=record_ids,
            action=action,  # type: ignore[arg-type]
            owner_id=str(form.get("owner_id") or "") or None,
            tag_ids=[tag_id] if tag_id and action in ("add_tags", "remove_tags") else [],
        )
    except ValidationError:
        messages = {
            "assign_owner": N_("Choose the new owner."),
            "add_tags": N_("Choose the tag to add."),
            "remove_tags": N_("Choose the tag to remove."),
        }
        page.flash(messages.get(action, N_("Choose an action.")), FlashLevel.ERROR)
        return redirect(request, back)
    if data.action == "delete" and form.get("confirmed") != "yes":
        return render(
            request,
            "customers/records/bulk_confirm.html",
            {"kind": kind, "record_ids": record_ids, "back": back, "count": len(record_ids)},
        )
    try:
        result = customers.run_bulk_action(page.uow(), page.actor, kind.kind, data)
    except DomainError as error:
        _flash_refusal(page, error)
        return redirect(request, back)
    page.flash(N_("Records changed: {count}."), count=result.changed)
    return redirect(request, back)


# ---------------------------------------------------------------- saved views


def _save_view(request: Request, page: WebPage, form: Any, kind: RecordKindPages) -> Response:
    try:
        data = SavedViewCreate(
            record_kind=kind.kind,  # type: ignore[arg-type]
            name=str(form.get("view_name") or ""),
            is_shared=form.get("is_shared") == "on",
            filters=[str(value) for value in form.getlist("filter") if str(value)],
            sort=str(form.get("sort") or "") or None,
            columns=[str(value) for value in form.getlist("column") if str(value)],
            q=str(form.get("q") or "") or None,
        )
        saved = customers.save_view(page.uow(), page.actor, data)
    except ValidationError:
        page.flash(N_("Give the view a name."), FlashLevel.ERROR)
        return redirect(request, safe_next(str(form.get("back") or ""), kind.path))
    except DomainError as error:
        _flash_refusal(page, error)
        return redirect(request, safe_next(str(form.get("back") or ""), kind.path))
    page.flash(N_("The view {name} has been saved."), name=saved.name)
    return redirect(request, f"{kind.path}?view_id={saved.id}")


def _delete_view(request: Request, page: WebPage, view_id: UUID, kind: RecordKindPages) -> Response:
    customers.delete_view(page.uow(), page.actor, str(view_id))
    page.flash(N_("The view has been deleted."))
    return redirect(request, kind.path)


# ---------------------------------------------------------------- routes


def _add_routes(kind: RecordKindPages) -> None:
    """The list, bulk action and saved view routes of ``kind``: one implementation for accounts
    and contacts, each route named as a route per kind would be (``list_accounts``,
    ``bulk_contacts``, ``save_account_view``, ``delete_contact_view``)."""

    @router.get(kind.path, name=f"list_{kind.segment}")
    def list_records(request: Request, page: Viewer) -> Response:
        return _list_page(request, page, kind)

    @router.post(f"{kind.path}/bulk", name=f"bulk_{kind.segment}")
    def bulk_records(request: Request, page: Viewer, form: Form) -> Response:
        return _bulk(request, page, form, kind)

    @router.post(f"{kind.path}/views", name=f"save_{kind.kind}_view")
    def save_view(request: Request, page: Viewer, form: Form) -> Response:
        return _save_view(request, page, form, kind)

    @router.post(f"{kind.path}/views/{{view_id:uuid}}/delete", name=f"delete_{kind.kind}_view")
    def delete_view(request: Request, page: Viewer, view_id: UUID) -> Response:
        return _delete_view(request, page, view_id, kind)


_add_routes(ACCOUNT_PAGES)
_add_routes(CONTACT_PAGES)
