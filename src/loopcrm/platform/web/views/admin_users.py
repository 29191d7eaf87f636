"""Admin pages of users: list with search, filters and cursor pagination; create; edit."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import UserCreate, UserFilter, UserOut, UserUpdate
from loopcrm.platform.errors import StaleVersion, ValidationFailed
from loopcrm.platform.i18n import LOCALE_NAMES, N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router
from loopcrm.platform.web.views.lookups import role_names, roles, teams, timezone_choices

router = web_router()

PAGE_SIZE = 50
FILTER_FIELDS = ("q", "role", "team_id", "status")
USER_FIELDS = ("email", "name", "role", "password", "phone", "locale", "timezone", "team_ids", "is_active")
STATUS_CHOICES = {"": N_("Any status"), "active": N_("Active"), "inactive": N_("Inactive")}


def _choices(page: WebPage) -> dict[str, Any]:
    """Roles, teams, languages and time zones the user form offers."""
    listed = roles(page)
    names = role_names(page, listed)
    return {
        "role_choices": list(names.items()),
        "role_names": names,
        "team_choices": [(team.id, team.name) for team in teams(page)],
        "locale_choices": list(LOCALE_NAMES.items()),
        "timezone_groups": timezone_choices(page.locale),
    }


@router.get("/admin/users")
def list_users(request: Request, page: Viewer) -> Response:
    params = request.query_params
    filters_form = FormState.initial({name: params.get(name, "") for name in FILTER_FIELDS}, FILTER_FIELDS)
    status = params.get("status", "")
    try:
        filters = UserFilter(
            q=params.get("q") or None,
            role=params.get("role") or None,
            team_id=params.get("team_id") or None,
            is_active={"active": True, "inactive": False}.get(status),
        )
    except ValidationError as error:
        filters_form.add_validation_error(error, page.translator)
        filters = UserFilter()
    try:
        found = auth.list_users(
            page.uow(), page.actor, filters, limit=PAGE_SIZE, cursor=params.get("cursor") or None
        )
    except ValidationFailed as error:  # a cursor from another list, edited by hand
        filters_form.add_domain_error(error, page.translator)
        found = auth.list_users(page.uow(), page.actor, filters, limit=PAGE_SIZE, cursor=None)
    choices = _choices(page)
    return render(
        request,
        "admin/users/list.html",
        {
            "users": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": not params.get("cursor"),
            "filters": filters_form,
            "filter_query": {name: params.get(name, "") for name in FILTER_FIELDS if params.get(name)},
            "status_choices": page.translator.choices(STATUS_CHOICES),
            "team_names": dict(choices["team_choices"]),
            "may_create": page.actor.can("user", Action.CREATE),
            **choices,
        },
    )


def _form_page(
    request: Request, page: WebPage, form: FormState, user: UserOut | None, status_code: int = 200
) -> Response:
    may_update = page.actor.can("user", Action.UPDATE) if user else True
    return render(
        request,
        "admin/users/form.html",
        {
            "form": form,
            "user": user,
            "may_update": may_update,
            "is_self": user is not None and user.id == page.actor.user_id,
            **_choices(page),
        },
        status_code=status_code,
    )


@router.get("/admin/users/new")
def new_user(request: Request, page: Viewer) -> Response:
    require(page.actor, "user", Action.CREATE)
    settings = page.settings
    form = FormState.initial(
        {"role": "sales_rep", "locale": settings.default_locale, "timezone": settings.default_timezone},
        USER_FIELDS,
    )
    return _form_page(request, page, form, None)


@router.post("/admin/users")
def create_user(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, USER_FIELDS)
    password = form.get("password")
    try:
        data = UserCreate.model_validate(
            {
                "email": state.text("email"),
                "name": state.text("name"),
                "role": state.text("role"),
                "password": password if isinstance(password, str) and password else None,
                "phone": state.optional("phone"),
                "locale": state.text("locale") or page.settings.default_locale,
                "timezone": state.text("timezone") or page.settings.default_timezone,
                "team_ids": state.values_of("team_ids"),
            }
        )
        created = auth.create_user(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _form_page(request, page, state, None, status_code=422)
    page.flash(N_("The user {name} has been created."), name=created.name)
    return redirect(request, f"/admin/users/{created.id}")


def _initial(user: UserOut) -> FormState:
    values = user.model_dump(
        include={"email", "name", "role", "phone", "locale", "timezone", "team_ids", "is_active"}
    )
    values["version"] = user.version
    return FormState.initial(values, USER_FIELDS)


@router.get("/admin/users/{user_id}")
def edit_user(request: Request, page: Viewer, user_id: str) -> Response:
    user = auth.get_user(page.uow(), page.actor, user_id)
    return _form_page(request, page, _initial(user), user)


@router.post("/admin/users/{user_id}")
def update_user(request: Request, page: Viewer, user_id: str, form: Form) -> Response:
    user = auth.get_user(page.uow(), page.actor, user_id)
    state = FormState.submitted(form, USER_FIELDS)
    changes: dict[str, Any] = {
        "name": state.text("name"),
        "role": state.text("role"),
        "locale": state.text("locale"),
        "timezone": state.text("timezone"),
        "is_active": state.checked("is_active"),
        "team_ids": state.values_of("team_ids"),
    }
    # Fields the reader cannot see arrive empty; leaving them out keeps their stored values.
    if "email" not in user.masked_fields:
        changes["email"] = state.text("email")
    if "phone" not in user.masked_fields:
        changes["phone"] = state.optional("phone")
    password = form.get("password")
    if isinstance(password, str) and password:
        changes["password"] = password
    try:
        version = int(state.value("version"))
    except ValueError:
        version = user.version
    try:
        data = UserUpdate(**changes)
        updated = auth.update_user(page.uow(), page.actor, user_id, data, expected_version=version)
    except ValidationError as error:
        state.add_validation_error(error, page.translator)
        return _form_page(request, page, state, user, status_code=422)
    except (ValidationFailed, StaleVersion) as error:
        state.add_domain_error(error, page.translator)
        return _form_page(
            request, page, state, user, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The changes to {name} have been saved."), name=updated.name)
    return redirect(request, f"/admin/users/{updated.id}")
