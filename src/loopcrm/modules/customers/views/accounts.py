"""Pages of one account: the detail page (fields, hierarchy, relationships, contacts, timeline),
its field history, the create and edit forms, delete and restore.

The form routes (create, edit, save, delete, restore) are the ones contacts have too, from
:class:`record_forms.RecordEditing`; this module says what is an account's own: its form's
inputs, schemas and service calls, its parent picker, its messages. A refused form comes back
with the reader's input and each error under its field (422, 409 for a stale version).
"""

from __future__ import annotations

from uuid import UUID

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
from loopcrm.modules.customers.views.labels import (
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    RELATIONSHIP_INVERSE_NAMES,
    RELATIONSHIP_NAMES,
)
from loopcrm.modules.customers.views.record_forms import ACCOUNT_INPUTS
from loopcrm.modules.customers.views.record_history import history_page
from loopcrm.modules.customers.views.record_pages import (
    ACCOUNT_PAGES,
    CONTACT_PAGES,
    account_choices,
    detail_context,
)
from loopcrm.modules.customers.views.record_timeline import timeline_context
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.pages import Viewer, WebPage, render, web_router

router = web_router()

GROUPS = ("phones", "emails")
# The contacts an account page lists; the rest are one link away, in the contact list.
CONTACTS_SHOWN = 20


def _parent_picks(page: WebPage, account: AccountOut | None) -> list[tuple[str, str]]:
    """The accounts the parent picker offers: never the account itself, always its parent."""
    parents = account_choices(
        page,
        include=[(account.parent_id, account.parent_name or "")] if account and account.parent_id else (),
    )
    return [(account_id, name) for account_id, name in parents if not account or account_id != account.id]


ACCOUNT_EDITING = record_forms.RecordEditing(
    pages=ACCOUNT_PAGES,
    template="customers/records/account_form.html",
    inputs=ACCOUNT_INPUTS,
    groups=GROUPS,
    name_field="name",
    phone_label="work",
    form_input=record_forms.account_input,
    account_picks=_parent_picks,
    create_schema=AccountCreate,
    update_schema=AccountUpdate,
    read=customers.get_account,
    create=customers.create_account,
    update=customers.update_account,
    delete=customers.delete_account,
    restore=customers.restore_account,
    display_name=lambda account: account.name,
    created=N_("The account {name} has been created."),
    changed_meanwhile=N_("Someone changed this account meanwhile; look at it again before deleting."),
    deleted=N_("The account has been deleted. It can be restored from the deleted records."),
    restored=N_("The account {name} has been restored."),
)


@router.get("/customers/accounts/new")
def new_account(request: Request, page: Viewer) -> Response:
    preset = {"owner_id": page.actor.user_id, "operating_status": "active"}
    return ACCOUNT_EDITING.new_form(request, page, preset)


@router.get("/customers/accounts/{account_id:uuid}")
def show_account(request: Request, page: Viewer, account_id: UUID) -> Response:
    record_id = str(account_id)
    actor = page.actor
    account = customers.get_account(page.uow(), actor, record_id)
    contacts = customers.list_contacts(
        page.uow(),
        actor,
        ListQuery(filters=[f"account_id:eq:{record_id}"], sort="name_pinyin"),
        limit=CONTACTS_SHOWN,
        cursor=None,
    )
    return render(
        request,
        "customers/records/account_detail.html",
        {
            **detail_context(request, page, ACCOUNT_PAGES, account),
            "children": customers.child_accounts(page.uow(), actor, record_id),
            "relationships": customers.list_relationships(page.uow(), actor, record_id),
            "relationship_names": RELATIONSHIP_NAMES,
            "inverse_names": RELATIONSHIP_INVERSE_NAMES,
            "contacts": contacts.items,
            "more_contacts": contacts.next_cursor is not None,
            "contacts_url": f"{CONTACT_PAGES.path}?filter=account_id:eq:{record_id}",
            "industry_names": INDUSTRY_NAMES,
            "status_names": OPERATING_STATUS_NAMES,
            "may_create_contact": actor.can("contact", Action.CREATE),
            **timeline_context(request, page, ACCOUNT_PAGES, record_id),
        },
    )


@router.get("/customers/accounts/{account_id:uuid}/history")
def account_history(request: Request, page: Viewer, account_id: UUID) -> Response:
    account = customers.get_account(page.uow(), page.actor, str(account_id))
    return history_page(request, page, ACCOUNT_PAGES, account, account.name)


# create, edit, save, delete and restore
ACCOUNT_EDITING.add_routes(router)
