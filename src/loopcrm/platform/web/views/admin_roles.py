"""Admin pages of roles: list, create, edit (clearance and the grants matrix: object type × action →
scope), delete."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import RoleCreate, RoleOut, RoleUpdate
from loopcrm.platform.errors import Conflict, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import CLEARANCE_NAMES, N_, SCOPE_NAMES
from loopcrm.platform.permissions import Action, Scope, SecurityLevel, object_types, require
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router
from loopcrm.platform.web.views.lookups import role_description, role_label

router = web_router()

ROLE_FIELDS = ("key", "name", "description", "clearance")
# Column headings of the grants matrix: capitalised action names, not the verbs used inside sentences.
ACTION_HEADINGS = {
    Action.CREATE.value: N_("Create"),
    Action.READ.value: N_("Read"),
    Action.UPDATE.value: N_("Update"),
    Action.DELETE.value: N_("Delete"),
}


def grant_input(object_type: str, action: str) -> str:
    """The name of one cell of the matrix; the same dotted path the service names in its errors."""
    return f"grants.{object_type}.{action}"


def _fields() -> tuple[str, ...]:
    return ROLE_FIELDS + tuple(
        grant_input(object_type.key, action.value) for object_type in object_types() for action in Action
    )


def _submitted_grants(state: FormState) -> dict[str, dict[str, str]]:
    """The whole matrix as submitted; a cell missing from the form counts as no access."""
    return {
        object_type.key: {
            action.value: state.value(grant_input(object_type.key, action.value), Scope.NONE.value)
            for action in Action
        }
        for object_type in object_types()
    }


def _matrix(page: WebPage) -> list[dict[str, Any]]:
    return [
        {"key": object_type.key, "label": page.gettext(object_type.label)} for object_type in object_types()
    ]


def _form_page(
    request: Request, page: WebPage, form: FormState, role: RoleOut | None, status_code: int = 200
) -> Response:
    return render(
        request,
        "admin/roles/form.html",
        {
            "form": form,
            "role": role,
            "role_name": role_label(page.translator, role.key, role.name, is_builtin=role.is_builtin)
            if role
            else "",
            "may_update": page.actor.can("role", Action.UPDATE) if role else True,
            "may_delete": role is not None and not role.is_builtin and page.actor.can("role", Action.DELETE),
            "object_types": _matrix(page),
            "actions": [(action.value, page.gettext(ACTION_HEADINGS[action.value])) for action in Action],
            "scope_choices": page.translator.choices(SCOPE_NAMES),
            "clearance_choices": page.translator.choices(CLEARANCE_NAMES),
            "grant_input": grant_input,
        },
        status_code=status_code,
    )


@router.get("/admin/roles")
def list_roles(request: Request, page: Viewer) -> Response:
    listed = auth.list_roles(page.uow(), page.actor)
    return render(
        request,
        "admin/roles/list.html",
        {
            "roles": [
                {
                    "role": role,
                    "name": role_label(page.translator, role.key, role.name, is_builtin=role.is_builtin),
                    "description": role_description(page.translator, role),
                    "clearance": page.gettext(CLEARANCE_NAMES.get(role.clearance, role.clearance)),
                }
                for role in listed
            ],
            "may_create": page.actor.can("role", Action.CREATE),
        },
    )


def _initial(role: RoleOut | None) -> FormState:
    values: dict[str, Any] = {"clearance": SecurityLevel.INTERNAL.label}
    if role is not None:
        values = {
            "key": role.key,
            "name": role.name,
            "description": role.description,
            "clearance": role.clearance,
            "version": role.version,
        }
    for object_type in object_types():
        for action in Action:
            scope = role.grants.get(object_type.key, {}).get(action.value) if role else None
            values[grant_input(object_type.key, action.value)] = scope or Scope.NONE.value
    return FormState.initial(values, _fields())


@router.get("/admin/roles/new")
def new_role(request: Request, page: Viewer) -> Response:
    require(page.actor, "role", Action.CREATE)
    return _form_page(request, page, _initial(None), None)


@router.post("/admin/roles")
def create_role(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, _fields())
    grants = {
        object_type: actions
        for object_type, actions in _submitted_grants(state).items()
        if any(scope != Scope.NONE.value for scope in actions.values())
    }
    try:
        data = RoleCreate(
            key=state.text("key"),
            name=state.text("name"),
            description=state.text("description"),
            clearance=state.text("clearance"),
            grants=grants,
        )
        created = auth.create_role(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _form_page(request, page, state, None, status_code=422)
    page.flash(N_("The role {name} has been created."), name=created.name)
    return redirect(request, f"/admin/roles/{created.id}")


@router.get("/admin/roles/{role_id}")
def edit_role(request: Request, page: Viewer, role_id: str) -> Response:
    role = auth.get_role(page.uow(), page.actor, role_id)
    return _form_page(request, page, _initial(role), role)


@router.post("/admin/roles/{role_id}")
def update_role(request: Request, page: Viewer, role_id: str, form: Form) -> Response:
    role = auth.get_role(page.uow(), page.actor, role_id)
    state = FormState.submitted(form, _fields())
    # Send only the object types whose row changed: untouched rows keep following the defaults
    # that the object type declares for a built-in role.
    changed = {
        object_type: actions
        for object_type, actions in _submitted_grants(state).items()
        if actions != role.grants.get(object_type)
    }
    try:
        version = int(state.value("version"))
    except ValueError:
        version = role.version
    try:
        data = RoleUpdate(
            name=state.text("name"),
            description=state.text("description"),
            clearance=state.text("clearance"),
            grants=changed or None,
        )
        updated = auth.update_role(page.uow(), page.actor, role_id, data, expected_version=version)
    except ValidationError as error:
        state.add_validation_error(error, page.translator)
        return _form_page(request, page, state, role, status_code=422)
    except (ValidationFailed, StaleVersion) as error:
        state.add_domain_error(error, page.translator)
        return _form_page(
            request, page, state, role, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(
        N_("The changes to {name} have been saved."),
        name=role_label(page.translator, updated.key, updated.name, is_builtin=updated.is_builtin),
    )
    return redirect(request, f"/admin/roles/{updated.id}")


@router.post("/admin/roles/{role_id}/delete")
def delete_role(request: Request, page: Viewer, role_id: str) -> Response:
    role = auth.get_role(page.uow(), page.actor, role_id)
    try:
        auth.delete_role(page.uow(), page.actor, role_id)
    except Conflict as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
        return redirect(request, f"/admin/roles/{role_id}")
    page.flash(N_("The role {name} has been deleted."), name=role.name)
    return redirect(request, "/admin/roles")
