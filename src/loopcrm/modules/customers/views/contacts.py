"""Pages of one contact: the detail page (fields, where they work and worked, consent, timeline),
its field history, the create and edit forms, delete and restore."""

from __future__ import annotations

from uuid import UUID

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, ContactOut, ContactUpdate
from loopcrm.modules.customers.views import record_forms
from loopcrm.modules.customers.views.duplicate_notice import duplicates_query, possible_duplicates
from loopcrm.modules.customers.views.labels import DUPLICATE_REASON_NAMES, GENDER_NAMES, SOURCE_NAMES
from loopcrm.modules.customers.views.record_forms import CONTACT_INPUTS
from loopcrm.modules.customers.views.record_history import history_page
from loopcrm.modules.customers.views.record_pages import (
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

GROUPS = ("phones", "emails", "employments")


def _form_page(
    request: Request,
    page: WebPage,
    form: FormState,
    rows: record_forms.Rows,
    contact: ContactOut | None,
    *,
    status_code: int = 200,
) -> Response:
    record_forms.preset_labels(form, rows, phone="mobile")
    offered = choices(page)
    users = offered.users
    teams = offered.teams
    employers: list[tuple[str, str]] = []
    if contact is not None:
        if contact.owner_id and contact.owner_id not in offered.user_names:
            users = [*users, (contact.owner_id, contact.owner_name or contact.owner_id)]
        if contact.team_id and contact.team_id not in offered.team_names:
            teams = [*teams, (contact.team_id, page.gettext(N_("Current team")))]
        employers = [(job.account_id, job.account_name) for job in contact.employments]
    return render(
        request,
        "customers/records/contact_form.html",
        {
            "form": form,
            "rows": rows,
            "contact": contact,
            "masked": set(contact.masked_fields) if contact else set(),
            "choices": offered,
            "users": users,
            "teams": teams,
            "accounts": account_choices(page, include=employers),
            "custom_fields": [field for field in custom_field_views(page, "contact") if field.is_active],
        },
        status_code=status_code,
    )


@router.get("/customers/contacts/new")
def new_contact(request: Request, page: Viewer) -> Response:
    require(page.actor, CONTACT_PAGES.kind, Action.CREATE)
    custom = custom_field_views(page, "contact")
    preset = {"owner_id": page.actor.user_id, "gender": "unknown"}
    employer = request.query_params.get("account_id", "")
    if employer:  # "New contact here" on an account's page
        preset["employments.0.account_id"] = employer
    form, rows = record_forms.blank_form(CONTACT_INPUTS, GROUPS, custom, preset)
    return _form_page(request, page, form, rows, None)


@router.post("/customers/contacts")
def create_contact(request: Request, page: Viewer, form: Form) -> Response:
    custom = custom_field_views(page, "contact")
    state, rows = record_forms.submitted(form, CONTACT_INPUTS, GROUPS, custom)
    if record_forms.is_adding_a_row(form):
        return _form_page(request, page, state, rows, None)
    try:
        data = ContactCreate.model_validate(record_forms.contact_input(state, rows, custom))
        created = customers.create_contact(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        record_forms.add_refusal(state, error, page.translator, name_field="family_name")
        return _form_page(request, page, state, rows, None, status_code=422)
    page.flash(N_("The contact {name} has been created."), name=created.full_name)
    return redirect(request, CONTACT_PAGES.record_path(created.id) + duplicates_query(request, created))


@router.get("/customers/contacts/{contact_id:uuid}")
def show_contact(request: Request, page: Viewer, contact_id: UUID) -> Response:
    actor = page.actor
    contact = customers.get_contact(page.uow(), actor, str(contact_id))
    custom = custom_field_views(page, "contact")
    offered = choices(page)
    return render(
        request,
        "customers/records/contact_detail.html",
        {
            "kind": CONTACT_PAGES,
            "record_kind": "contact",
            "record": contact,
            "contact": contact,
            "custom_fields": [
                field for field in custom if field.is_active or field.key in contact.custom_fields
            ],
            "gender_names": GENDER_NAMES,
            "source_names": SOURCE_NAMES,
            "point_labels": dict(offered.point_labels),
            "choices": offered,
            "team_name": offered.team_names.get(contact.team_id or "", ""),
            "may_update": may(actor, contact, "contact", Action.UPDATE),
            "may_delete": may(actor, contact, "contact", Action.DELETE),
            "is_masked": is_masked,
            "phone_text": readable_phone,
            "duplicates": possible_duplicates(request),
            "reason_names": DUPLICATE_REASON_NAMES,
            **timeline_context(request, page, CONTACT_PAGES, contact.id),
        },
    )


@router.get("/customers/contacts/{contact_id:uuid}/history")
def contact_history(request: Request, page: Viewer, contact_id: UUID) -> Response:
    contact = customers.get_contact(page.uow(), page.actor, str(contact_id))
    return history_page(request, page, CONTACT_PAGES, contact, contact.full_name)


@router.get("/customers/contacts/{contact_id:uuid}/edit")
def edit_contact(request: Request, page: Viewer, contact_id: UUID) -> Response:
    contact = customers.get_contact(page.uow(), page.actor, str(contact_id))
    require(page.actor, "contact", Action.UPDATE)
    form, rows = record_forms.initial(contact, CONTACT_INPUTS, GROUPS, custom_field_views(page, "contact"))
    return _form_page(request, page, form, rows, contact)


@router.post("/customers/contacts/{contact_id:uuid}")
def update_contact(request: Request, page: Viewer, contact_id: UUID, form: Form) -> Response:
    record_id = str(contact_id)
    contact = customers.get_contact(page.uow(), page.actor, record_id)
    custom = custom_field_views(page, "contact")
    state, rows = record_forms.submitted(form, CONTACT_INPUTS, GROUPS, custom)
    if record_forms.is_adding_a_row(form):
        return _form_page(request, page, state, rows, contact)
    try:
        version = int(state.value("version"))
    except ValueError:
        version = contact.version
    try:
        data = ContactUpdate.model_validate(
            record_forms.contact_input(state, rows, custom, contact.masked_fields)
        )
        updated = customers.update_contact(page.uow(), page.actor, record_id, data, expected_version=version)
    except (ValidationError, ValidationFailed, StaleVersion) as error:
        record_forms.add_refusal(state, error, page.translator, name_field="family_name")
        status_code = 409 if isinstance(error, StaleVersion) else 422
        return _form_page(request, page, state, rows, contact, status_code=status_code)
    page.flash(N_("The changes to {name} have been saved."), name=updated.full_name)
    return redirect(request, CONTACT_PAGES.record_path(record_id))


@router.post("/customers/contacts/{contact_id:uuid}/delete")
def delete_contact(request: Request, page: Viewer, contact_id: UUID, form: Form) -> Response:
    record_id = str(contact_id)
    try:
        version: int | None = int(str(form.get("version") or ""))
    except ValueError:
        version = None
    try:
        customers.delete_contact(page.uow(), page.actor, record_id, expected_version=version)
    except StaleVersion:
        page.flash(
            N_("Someone changed this contact meanwhile; look at it again before deleting."), FlashLevel.ERROR
        )
        return redirect(request, CONTACT_PAGES.record_path(record_id))
    page.flash(N_("The contact has been deleted. It can be restored from the deleted records."))
    return redirect(request, CONTACT_PAGES.path)


@router.post("/customers/contacts/{contact_id:uuid}/restore")
def restore_contact(request: Request, page: Viewer, contact_id: UUID) -> Response:
    record_id = str(contact_id)
    try:
        restored = customers.restore_contact(page.uow(), page.actor, record_id)
    except ValidationFailed as error:
        for item in error.errors:
            page.flash(item.message, FlashLevel.ERROR, **item.params)
        return redirect(request, CONTACT_PAGES.path + "?deleted=1")
    page.flash(N_("The contact {name} has been restored."), name=restored.full_name)
    return redirect(request, CONTACT_PAGES.record_path(record_id))
