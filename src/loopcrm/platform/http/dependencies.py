"""FastAPI dependencies shared by every API router: the unit of work and the acting user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from loopcrm.platform.auth import service as auth
from loopcrm.platform.errors import NotAuthenticated
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_uow(request: Request) -> UnitOfWork:
    """A fresh unit of work; the service called by the route opens and commits it."""
    return UnitOfWork(request.app.state.session_factory)


def request_origin(request: Request) -> auth.RequestOrigin:
    return auth.RequestOrigin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
    )


def current_api_actor(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Actor:
    """The user behind ``Authorization: Bearer <token>``; anything else is 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise NotAuthenticated("Send a personal API token as Authorization: Bearer <token>")
    token = authorization[7:].strip()
    return auth.authenticate_token(get_uow(request), token, request_origin(request))


Uow = Annotated[UnitOfWork, Depends(get_uow)]
CurrentActor = Annotated[Actor, Depends(current_api_actor)]
Origin = Annotated[auth.RequestOrigin, Depends(request_origin)]
AppSettings = Annotated[Settings, Depends(get_settings)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
IfMatch = Annotated[str | None, Header(description='ETag of the version being changed, e.g. "3"')]

__all__ = ["DEFAULT_PAGE_SIZE", "AppSettings", "CurrentActor", "Cursor", "IfMatch", "Limit", "Origin", "Uow"]
