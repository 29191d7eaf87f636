"""REST routes of users, teams, roles, API tokens and the signed-in user's own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import (
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfileUpdate,
    RoleCreate,
    RoleOut,
    RoleUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserFilter,
    UserOut,
    UserUpdate,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import (
    DEFAULT_PAGE_SIZE,
    AppSettings,
    CurrentActor,
    Cursor,
    IfMatch,
    Limit,
    Origin,
    Uow,
)
from loopcrm.platform.mail import Mailer
from loopcrm.platform.pagination import Page

router = APIRouter()


@router.get("/me", response_model=UserOut, tags=["profile"])
def read_me(actor: CurrentActor, uow: Uow, response: Response) -> UserOut:
    """The user behind the token."""
    return with_etag(response, auth.get_profile(uow, actor))


@router.patch("/me", response_model=UserOut, tags=["profile"])
def update_me(data: ProfileUpdate, actor: CurrentActor, uow: Uow, response: Response) -> UserOut:
    return with_etag(response, auth.update_profile(uow, actor, data))


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, tags=["profile"])
def change_my_password(data: PasswordChange, actor: CurrentActor, uow: Uow) -> None:
    auth.change_password(uow, actor, data)


@router.post("/password-resets", status_code=status.HTTP_202_ACCEPTED, tags=["profile"])
def request_password_reset(
    data: PasswordResetRequest, uow: Uow, settings: AppSettings, origin: Origin
) -> dict[str, str]:
    """Email a reset link. The answer is the same whether or not the address has an account."""
    auth.request_password_reset(uow, settings, Mailer(settings), data.email, origin)
    return {"detail": "If the address belongs to an account, a reset link is on its way."}


@router.post("/password-resets/confirm", status_code=status.HTTP_204_NO_CONTENT, tags=["profile"])
def confirm_password_reset(data: PasswordResetConfirm, uow: Uow, origin: Origin) -> None:
    auth.reset_password(uow, data, origin)


@router.get("/users", response_model=Page[UserOut], tags=["users"])
def list_users(
    actor: CurrentActor,
    uow: Uow,
    filters: Annotated[UserFilter, Depends()],
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[UserOut]:
    return auth.list_users(uow, actor, filters, limit=limit, cursor=cursor)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, tags=["users"])
def create_user(data: UserCreate, actor: CurrentActor, uow: Uow, response: Response) -> UserOut:
    return with_etag(response, auth.create_user(uow, actor, data), created_in="/api/v1/users")


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
def read_user(user_id: str, actor: CurrentActor, uow: Uow, response: Response) -> UserOut:
    return with_etag(response, auth.get_user(uow, actor, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, tags=["users"])
def update_user(
    user_id: str,
    data: UserUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> UserOut:
    user = auth.update_user(uow, actor, user_id, data, expected_version=expected_version(if_match))
    return with_etag(response, user)


@router.get("/teams", response_model=Page[TeamOut], tags=["teams"])
def list_teams(
    actor: CurrentActor, uow: Uow, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[TeamOut]:
    return auth.list_teams(uow, actor, limit=limit, cursor=cursor)


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, tags=["teams"])
def create_team(data: TeamCreate, actor: CurrentActor, uow: Uow, response: Response) -> TeamOut:
    return with_etag(response, auth.create_team(uow, actor, data), created_in="/api/v1/teams")


@router.get("/teams/{team_id}", response_model=TeamOut, tags=["teams"])
def read_team(team_id: str, actor: CurrentActor, uow: Uow, response: Response) -> TeamOut:
    return with_etag(response, auth.get_team(uow, actor, team_id))


@router.patch("/teams/{team_id}", response_model=TeamOut, tags=["teams"])
def update_team(
    team_id: str,
    data: TeamUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> TeamOut:
    team = auth.update_team(uow, actor, team_id, data, expected_version=expected_version(if_match))
    return with_etag(response, team)


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["teams"])
def delete_team(team_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> None:
    auth.delete_team(uow, actor, team_id, expected_version=expected_version(if_match))


@router.get("/roles", response_model=list[RoleOut], tags=["roles"])
def list_roles(actor: CurrentActor, uow: Uow) -> list[RoleOut]:
    return auth.list_roles(uow, actor)


@router.post("/roles", response_model=RoleOut, status_code=status.HTTP_201_CREATED, tags=["roles"])
def create_role(data: RoleCreate, actor: CurrentActor, uow: Uow, response: Response) -> RoleOut:
    return with_etag(response, auth.create_role(uow, actor, data), created_in="/api/v1/roles")


@router.get("/roles/{role_id}", response_model=RoleOut, tags=["roles"])
def read_role(role_id: str, actor: CurrentActor, uow: Uow, response: Response) -> RoleOut:
    return with_etag(response, auth.get_role(uow, actor, role_id))


@router.patch("/roles/{role_id}", response_model=RoleOut, tags=["roles"])
def update_role(
    role_id: str,
    data: RoleUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> RoleOut:
    role = auth.update_role(uow, actor, role_id, data, expected_version=expected_version(if_match))
    return with_etag(response, role)


@router.delete("/roles/{role_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["roles"])
def delete_role(role_id: str, actor: CurrentActor, uow: Uow) -> None:
    auth.delete_role(uow, actor, role_id)


@router.get("/tokens", response_model=Page[TokenOut], tags=["tokens"])
def list_tokens(
    actor: CurrentActor,
    uow: Uow,
    user_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[TokenOut]:
    """Your tokens; an admin sees everyone's."""
    return auth.list_tokens(uow, actor, limit=limit, cursor=cursor, user_id=user_id)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["tokens"])
def create_token(data: TokenCreate, actor: CurrentActor, uow: Uow) -> TokenCreated:
    """Create a token for yourself. The ``token`` value is shown in this answer only."""
    return auth.create_token(uow, actor, data)


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["tokens"])
def revoke_token(token_id: str, actor: CurrentActor, uow: Uow) -> TokenOut:
    return auth.revoke_token(uow, actor, token_id)
