"""Pages of one account: the detail page (fields, hierarchy, relationships, contacts, timeline),
its field history, the create and edit forms, delete and restore.

A route reads the form, calls one service, and answers with a page or a redirect; a refused
form comes back with the reader's input and each error under its field (422, 409 for a stale
version).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    ListQuery,
)
from loopcrm.modules.customers.views import record_forms
from loopcrm.modules.customers.views.duplicate_notice import duplicates_query, possible_duplicates
from loopcrm.modules.customers.views.labels import (
    DUPLICATE_REASON_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    RELATIONSHIP_INVERSE_NAMES,
    RELATIONSHIP_NAMES,
    SOURCE_NAMES,
)
from loopcrm.modules.customers.views.record_forms import ACCOUNT_INPUTS
from loopcrm.modules.customers.views.record_history import history_page
from loopcrm.modules.customers.views.record_pages import (
    ACCOUNT_PAGES,
    CONTACT_PAGES,
    account_choices,
    choices,
    custom_field_views,
    is_masked,
    may,
    readable_phone,
)
from loopcrm.modules.customers.views.record_timeline import timeline_context
from loopcrm.platform.errors import StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

GROUPS = ("phones", "emails")
# The contacts an account page lists; the rest are one link away, in the contact list.
CONTACTS_SHOWN = 20


def _form_page(
    request: Request,
    page: WebPage,
    form: FormState,
    rows: record_forms.Rows,
    account: AccountOut | None,
    *,
    status_code: int = 200,
) -> Response:
    record_forms.preset_labels(form, rows, phone="work")
    offered = choices(page)
    custom = custom_field_views(page, "account")
    users = offered.users
    teams = offered.teams
    if account is not None:
        if account.owner_id and account.owner_id not in offered.user_names:
            users = [*users, (account.owner_id, account.owner_name or account.owner_id)]
        if account.team_id and account.team_id not in offered.team_names:
            teams = [*teams, (account.team_id, page.gettext(N_("Current team")))]
    parents = account_choices(
        page,
        include=[(account.parent_id, account.parent_name or "")] if account and account.parent_id else (),
    )
    return render(
        request,
        "customers/records/account_form.html",
        {
            "form": form,
            "rows": rows,
            "account": account,
            "masked": set(account.masked_fields) if account else set(),
            "choices": offered,
            "users": users,
            "teams": teams,
            "parents": [
                (account_id, name) for account_id, name in parents if not account or account_id != account.id
            ],
            "custom_fields": [field for field in custom if field.is_active],
        },
        status_code=status_code,
    )


@router.get("/customers/accounts/new")
def new_account(request: Request, page: Viewer) -> Response:
    require(page.actor, ACCOUNT_PAGES.kind, Action.CREATE)
    custom = custom_field_views(page, "account")
    form, rows = record_forms.blank_form(
        ACCOUNT_INPUTS, GROUPS, custom, {"owner_id": page.actor.user_id, "operating_status": "active"}
    )
    return _form_page(request, page, form, rows, None)


@router.post("/customers/accounts")
def create_account(request: Request, page: Viewer, form: Form) -> Response:
    custom = custom_field_views(page, "account")
    state, rows = record_forms.submitted(form, ACCOUNT_INPUTS, GROUPS, custom)
    if record_forms.is_adding_a_row(form):
        return _form_page(request, page, state, rows, None)
    try:
        data = AccountCreate.model_validate(record_forms.account_input(state, rows, custom))
        created = customers.create_account(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        record_forms.add_refusal(state, error, page.translator, name_field="name")
        return _form_page(request, page, state, rows, None, status_code=422)
    page.flash(N_("The account {name} has been created."), name=created.name)
    return redirect(request, ACCOUNT_PAGES.record_path(created.id) + duplicates_query(request, created))


@router.get("/customers/accounts/{account_id:uuid}")
def show_account(request: Request, page: Viewer, account_id: UUID) -> Response:
    record_id = str(account_id)
    actor = page.actor
    account = customers.get_account(page.uow(), actor, record_id)
    custom = custom_field_views(page, "account")
    contacts = customers.list_contacts(
        page.uow(),
        actor,
        ListQuery(filters=[f"account_id:eq:{record_id}"], sort="name_pinyin"),
        limit=CONTACTS_SHOWN,
        cursor=None,
    )
    may_update = may(actor, account, "account", Action.UPDATE)
    offered = choices(page)
    return render(
        request,
        "customers/records/account_detail.html",
        {
            "kind": ACCOUNT_PAGES,
            "record_kind": "account",
            "record": account,
            "account": account,
            "custom_fields": [
                field for field in custom if field.is_active or field.key in account.custom_fields
            ],
            "children": customers.child_accounts(page.uow(), actor, record_id),
            "relationships": customers.list_relationships(page.uow(), actor, record_id),
            "relationship_names": RELATIONSHIP_NAMES,
            "inverse_names": RELATIONSHIP_INVERSE_NAMES,
            "contacts": contacts.items,
            "more_contacts": contacts.next_cursor is not None,
            "contacts_url": f"{CONTACT_PAGES.path}?filter=account_id:eq:{record_id}",
            "industry_names": INDUSTRY_NAMES,
            "status_names": OPERATING_STATUS_NAMES,
            "source_names": SOURCE_NAMES,
            "point_labels": dict(offered.point_labels),
            "choices": offered,
            "team_name": offered.team_names.get(account.team_id or "", ""),
            "may_update": may_update,
            "may_delete": may(actor, account, "account", Action.DELETE),
            "may_create_contact": actor.can("contact", Action.CREATE),
            "is_masked": is_masked,
            "phone_text": readable_phone,
            "duplicates": possible_duplicates(request),
            "reason_names": DUPLICATE_REASON_NAMES,
            **timeline_context(request, page, ACCOUNT_PAGES, record_id),
        },
    )


@router.get("/customers/accounts/{account_id:uuid}/history")
def account_history(request: Request, page: Viewer, account_id: UUID) -> Response:
    account = customers.get_account(page.uow(), page.actor, str(account_id))
    return history_page(request, page, ACCOUNT_PAGES, account, account.name)


@router.get("/customers/accounts/{account_id:uuid}/edit")
def edit_account(request: Request, page: Viewer, account_id: UUID) -> Response:
    account = customers.get_account(page.uow(), page.actor, str(account_id))
    require(page.actor, "account", Action.UPDATE)
    form, rows = record_forms.initial(account, ACCOUNT_INPUTS, GROUPS, custom_field_views(page, "account"))
    return _form_page(request, page, form, rows, account)


@router.post("/customers/accounts/{account_id:uuid}")
def update_account(request: Request, page: Viewer, account_id: UUID, form: Form) -> Response:
    record_id = str(account_id)
    account = customers.get_account(page.uow(), page.actor, record_id)
    custom = custom_field_views(page, "account")
    state, rows = record_forms.submitted(form, ACCOUNT_INPUTS, GROUPS, custom)
    if record_forms.is_adding_a_row(form):
        return _form_page(request, page, state, rows, account)
    try:
        version = int(state.value("version"))
    except ValueError:
        version = account.version
    try:
        data = AccountUpdate.model_validate(
            record_forms.account_input(state, rows, custom, account.masked_fields)
        )
        updated = customers.update_account(page.uow(), page.actor, record_id, data, expected_version=version)
    except (ValidationError, ValidationFailed, StaleVersion) as error:
        record_forms.add_refusal(state, error, page.translator, name_field="name")
        status_code = 409 if isinstance(error, StaleVersion) else 422
        return _form_page(request, page, state, rows, account, status_code=status_code)
    page.flash(N_("The changes to {name} have been saved."), name=updated.name)
    return redirect(request, ACCOUNT_PAGES.record_path(record_id))


@router.post("/customers/accounts/{account_id:uuid}/delete")
def delete_account(request: Request, page: Viewer, account_id: UUID, form: Form) -> Response:
    record_id = str(account_id)
    try:
        version: int | None = int(str(form.get("version") or ""))
    except ValueError:
        version = None
    try:
        customers.delete_account(page.uow(), page.actor, record_id, expected_version=version)
    except StaleVersion:
        page.flash(
            N_("Someone changed this account meanwhile; look at it again before deleting."), FlashLevel.ERROR
        )
        return redirect(request, ACCOUNT_PAGES.record_path(record_id))
    page.flash(N_("The account has been deleted. It can be restored from the deleted records."))
    return redirect(request, ACCOUNT_PAGES.path)


@router.post("/customers/accounts/{account_id:uuid}/restore")
def restore_account(request: Request, page: Viewer, account_id: UUID) -> Response:
    record_id = str(account_id)
    try:
        restored = customers.restore_account(page.uow(), page.actor, record_id)
    except ValidationFailed as error:
        for item in error.errors:
            page.flash(item.message, FlashLevel.ERROR, **item.params)
        return redirect(request, ACCOUNT_PAGES.path + "?deleted=1")
    page.flash(N_("The account {name} has been restored."), name=restored.name)
    return redirect(request, ACCOUNT_PAGES.record_path(record_id))
