"""Admin page of every API token: who owns it, what it may do, when it was used; revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.auth import service as auth
from loopcrm.platform.errors import PermissionDenied, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Scope
from loopcrm.platform.web.pages import Viewer, redirect, render, web_router
from loopcrm.platform.web.views.account import TOKEN_SCOPE_NAMES
from loopcrm.platform.web.views.lookups import user_names

router = web_router()

PAGE_SIZE = 50


@router.get("/admin/tokens")
def list_all_tokens(request: Request, page: Viewer) -> Response:
    if page.actor.scope("api_token", Action.READ) is not Scope.ALL:
        raise PermissionDenied()  # everyone's own tokens are on /tokens; this list is for those who see all
    params = request.query_params
    user_id = params.get("user_id") or None
    cursor = params.get("cursor") or None
    try:
        found = auth.list_tokens(page.uow(), page.actor, limit=PAGE_SIZE, cursor=cursor, user_id=user_id)
    except ValidationFailed:
        found = auth.list_tokens(page.uow(), page.actor, limit=PAGE_SIZE, cursor=None, user_id=user_id)
    names = user_names(page)
    return render(
        request,
        "admin/tokens.html",
        {
            "tokens": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "user_names": names,
            "user_choices": sorted(names.items(), key=lambda item: item[1].lower()),
            "selected_user": user_id or "",
            "scope_names": TOKEN_SCOPE_NAMES,
        },
    )


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_any_token(request: Request, page: Viewer, token_id: str) -> Response:
    revoked = auth.revoke_token(page.uow(), page.actor, token_id)
    page.flash(N_("The token {name} has been revoked."), name=revoked.name)
    return redirect(request, "/admin/tokens")
