"""Admin pages of teams: list, create, edit (parent, manager, members), delete."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate, TeamOut, TeamUpdate
from loopcrm.platform.errors import Conflict, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router
from loopcrm.platform.web.views.lookups import teams, user_names

router = web_router()

PAGE_SIZE = 50
TEAM_FIELDS = ("name", "description", "parent_id", "manager_id", "member_ids")


@router.get("/admin/teams")
def list_teams(request: Request, page: Viewer) -> Response:
    cursor = request.query_params.get("cursor") or None
    try:
        found = auth.list_teams(page.uow(), page.actor, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        found = auth.list_teams(page.uow(), page.actor, limit=PAGE_SIZE, cursor=None)
    names = user_names(page)
    team_names = {team.id: team.name for team in teams(page)}
    return render(
        request,
        "admin/teams/list.html",
        {
            "teams": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "user_names": names,
            "team_names": team_names,
            "may_create": page.actor.can("team", Action.CREATE),
        },
    )


def _form_page(
    request: Request, page: WebPage, form: FormState, team: TeamOut | None, status_code: int = 200
) -> Response:
    names = user_names(page)
    every_team = teams(page)
    # A team cannot sit inside itself; the service also refuses deeper cycles.
    parent_choices = [(other.id, other.name) for other in every_team if team is None or other.id != team.id]
    context: dict[str, Any] = {
        "form": form,
        "team": team,
        "may_update": page.actor.can("team", Action.UPDATE) if team else True,
        "may_delete": team is not None and page.actor.can("team", Action.DELETE),
        "parent_choices": parent_choices,
        "user_choices": sorted(names.items(), key=lambda item: item[1].lower()),
    }
    return render(request, "admin/teams/form.html", context, status_code=status_code)


@router.get("/admin/teams/new")
def new_team(request: Request, page: Viewer) -> Response:
    require(page.actor, "team", Action.CREATE)
    return _form_page(request, page, FormState(fields=frozenset(TEAM_FIELDS)), None)


@router.post("/admin/teams")
def create_team(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, TEAM_FIELDS)
    try:
        data = TeamCreate(
            name=state.text("name"),
            description=state.text("description"),
            parent_id=state.optional("parent_id"),
            manager_id=state.optional("manager_id"),
            member_ids=state.values_of("member_ids"),
        )
        created = auth.create_team(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _form_page(request, page, state, None, status_code=422)
    page.flash(N_("The team {name} has been created."), name=created.name)
    return redirect(request, f"/admin/teams/{created.id}")


@router.get("/admin/teams/{team_id}")
def edit_team(request: Request, page: Viewer, team_id: str) -> Response:
    team = auth.get_team(page.uow(), page.actor, team_id)
    values = team.model_dump(include=set(TEAM_FIELDS))
    values["version"] = team.version
    return _form_page(request, page, FormState.initial(values, TEAM_FIELDS), team)


def _version(state: FormState, fallback: int) -> int:
    try:
        return int(state.value("version"))
    except ValueError:
        return fallback


@router.post("/admin/teams/{team_id}")
def update_team(request: Request, page: Viewer, team_id: str, form: Form) -> Response:
    team = auth.get_team(page.uow(), page.actor, team_id)
    state = FormState.submitted(form, TEAM_FIELDS)
    try:
        data = TeamUpdate(
            name=state.text("name"),
            description=state.text("description"),
            parent_id=state.optional("parent_id"),
            manager_id=state.optional("manager_id"),
            member_ids=state.values_of("member_ids"),
        )
        updated = auth.update_team(
            page.uow(), page.actor, team_id, data, expected_version=_version(state, team.version)
        )
    except ValidationError as error:
        state.add_validation_error(error, page.translator)
        return _form_page(request, page, state, team, status_code=422)
    except (ValidationFailed, StaleVersion) as error:
        state.add_domain_error(error, page.translator)
        return _form_page(
            request, page, state, team, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The changes to {name} have been saved."), name=updated.name)
    return redirect(request, f"/admin/teams/{updated.id}")


@router.post("/admin/teams/{team_id}/delete")
def delete_team(request: Request, page: Viewer, team_id: str, form: Form) -> Response:
    team = auth.get_team(page.uow(), page.actor, team_id)
    state = FormState.submitted(form, ())
    try:
        auth.delete_team(page.uow(), page.actor, team_id, expected_version=_version(state, team.version))
    except (Conflict, StaleVersion) as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
        return redirect(request, f"/admin/teams/{team_id}")
    page.flash(N_("The team {name} has been deleted."), name=team.name)
    return redirect(request, "/admin/teams")
