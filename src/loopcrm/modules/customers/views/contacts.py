"""Pages of one contact: the detail page (fields, where they work and worked, consent, timeline),
its field history, the create and edit forms, delete and restore (the form routes from
:class:`record_forms.RecordEditing`, as for accounts)."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, ContactOut, ContactUpdate
from loopcrm.modules.customers.views import record_forms
from loopcrm.modules.customers.views.labels import GENDER_NAMES
from loopcrm.modules.customers.views.record_forms import CONTACT_INPUTS
from loopcrm.modules.customers.views.record_history import history_page
from loopcrm.modules.customers.views.record_pages import (
    CONTACT_PAGES,
    account_choices,
    detail_context,
)
from loopcrm.modules.customers.views.record_timeline import timeline_context
from loopcrm.platform.i18n import N_
from loopcrm.platform.web.pages import Viewer, WebPage, render, web_router

router = web_router()

GROUPS = ("phones", "emails", "employments")


def _employer_picks(page: WebPage, contact: ContactOut | None) -> list[tuple[str, str]]:
    """The accounts the employment pickers offer, with every account the contact works at."""
    employers = [(job.account_id, job.account_name) for job in contact.employments] if contact else []
    return account_choices(page, include=employers)


CONTACT_EDITING = record_forms.RecordEditing(
    pages=CONTACT_PAGES,
    template="customers/records/contact_form.html",
    inputs=CONTACT_INPUTS,
    groups=GROUPS,
    name_field="family_name",
    phone_label="mobile",
    form_input=record_forms.contact_input,
    account_picks=_employer_picks,
    create_schema=ContactCreate,
    update_schema=ContactUpdate,
    read=customers.get_contact,
    create=customers.create_contact,
    update=customers.update_contact,
    delete=customers.delete_contact,
    restore=customers.restore_contact,
    display_name=lambda contact: contact.full_name,
    created=N_("The contact {name} has been created."),
    changed_meanwhile=N_("Someone changed this contact meanwhile; look at it again before deleting."),
    deleted=N_("The contact has been deleted. It can be restored from the deleted records."),
    restored=N_("The contact {name} has been restored."),
)


@router.get("/customers/contacts/new")
def new_contact(request: Request, page: Viewer) -> Response:
    preset = {"owner_id": page.actor.user_id, "gender": "unknown"}
    employer = request.query_params.get("account_id", "")
    if employer:  # "New contact here" on an account's page
        preset["employments.0.account_id"] = employer
    return CONTACT_EDITING.new_form(request, page, preset)


@router.get("/customers/contacts/{contact_id:uuid}")
def show_contact(request: Request, page: Viewer, contact_id: UUID) -> Response:
    contact = customers.get_contact(page.uow(), page.actor, str(contact_id))
    return render(
        request,
        "customers/records/contact_detail.html",
        {
            **detail_context(request, page, CONTACT_PAGES, contact),
            "gender_names": GENDER_NAMES,
            **timeline_context(request, page, CONTACT_PAGES, contact.id),
        },
    )


@router.get("/customers/contacts/{contact_id:uuid}/history")
def contact_history(request: Request, page: Viewer, contact_id: UUID) -> Response:
    contact = customers.get_contact(page.uow(), page.actor, str(contact_id))
    return history_page(request, page, CONTACT_PAGES, contact, contact.full_name)


# create, edit, save, delete and restore
CONTACT_EDITING.add_routes(router)
