"""How an account relates to others (客户的客户): the form that adds a relationship, and removing one.

The list itself is on the account's page; adding one is its own small page, so the account page
does not load an account picker for every reader who merely looks.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountOut, RelationshipIn
from loopcrm.modules.customers.views.labels import RELATIONSHIP_NAMES
from loopcrm.modules.customers.views.record_pages import ACCOUNT_PAGES, account_choices
from loopcrm.platform.errors import DomainError, NotFound, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, require_record_access
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

FIELDS = ("kind", "to_account_id", "note")
# Relationship ids are database integers; a larger number can only be "not found", and saying so
# before the query keeps both SQLite and PostgreSQL from overflowing.
MAX_INTEGER_ID = 2_147_483_647


def _form_page(
    request: Request, page: WebPage, account: AccountOut, form: FormState, *, status_code: int = 200
) -> Response:
    targets = [(account_id, name) for account_id, name in account_choices(page) if account_id != account.id]
    return render(
        request,
        "customers/records/relationship_form.html",
        {
            "account": account,
            "form": form,
            "kinds": page.translator.choices(RELATIONSHIP_NAMES),
            "targets": targets,
        },
        status_code=status_code,
    )


@router.get("/customers/accounts/{account_id:uuid}/relationships/new")
def new_relationship(request: Request, page: Viewer, account_id: UUID) -> Response:
    account = customers.get_account(page.uow(), page.actor, str(account_id))
    require_record_access(
        page.actor, "account", Action.UPDATE, owner_id=account.owner_id, team_id=account.team_id
    )
    return _form_page(request, page, account, FormState.initial({"kind": "customer_of"}, FIELDS))


@router.post("/customers/accounts/{account_id:uuid}/relationships")
def add_relationship(request: Request, page: Viewer, account_id: UUID, form: Form) -> Response:
    record_id = str(account_id)
    state = FormState.submitted(form, FIELDS)
    try:
        data = RelationshipIn.model_validate(
            {
                "to_account_id": state.text("to_account_id"),
                "kind": state.text("kind"),
                "note": state.optional("note"),
            }
        )
        customers.add_relationship(page.uow(), page.actor, record_id, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        account = customers.get_account(page.uow(), page.actor, record_id)
        return _form_page(request, page, account, state, status_code=422)
    page.flash(N_("The relationship has been added."))
    return redirect(request, ACCOUNT_PAGES.record_path(record_id) + "#relationships")


@router.post("/customers/accounts/{account_id:uuid}/relationships/{relationship_id:int}/delete")
def remove_relationship(request: Request, page: Viewer, account_id: UUID, relationship_id: int) -> Response:
    record_id = str(account_id)
    try:
        if relationship_id > MAX_INTEGER_ID:
            raise NotFound("Relationship not found")
        customers.remove_relationship(page.uow(), page.actor, record_id, relationship_id)
    except DomainError as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
    else:
        page.flash(N_("The relationship has been removed."))
    return redirect(request, ACCOUNT_PAGES.record_path(record_id) + "#relationships")
