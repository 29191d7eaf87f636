"""REST routes of saved list views: named filters, sort and columns, private or shared.

Use a view by passing its id as ``view_id`` to ``GET /accounts`` or ``GET /contacts``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import SavedViewCreate, SavedViewOut
from loopcrm.platform.http.concurrency import set_etag
from loopcrm.platform.http.dependencies import CurrentActor, Uow

router = APIRouter(tags=["saved views"])


@router.get("/saved-views", response_model=list[SavedViewOut])
def list_saved_views(
    actor: CurrentActor,
    uow: Uow,
    record_kind: Annotated[RecordKind, Query(description="views of account or contact lists")],
) -> list[SavedViewOut]:
    """Your own views and those others share, by name."""
    return customers.list_views(uow, actor, record_kind.value)


@router.post("/saved-views", response_model=SavedViewOut, status_code=status.HTTP_201_CREATED)
def create_saved_view(
    data: SavedViewCreate, actor: CurrentActor, uow: Uow, response: Response
) -> SavedViewOut:
    """Save filters, sort and columns under a name; ``is_shared`` offers it to everyone."""
    view = customers.save_view(uow, actor, data)
    set_etag(response, view.version)
    response.headers["Location"] = f"/api/v1/saved-views/{view.id}"
    return view


@router.delete("/saved-views/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved_view(view_id: str, actor: CurrentActor, uow: Uow) -> None:
    """Only the owner deletes a view (an admin may delete a shared one)."""
    customers.delete_view(uow, actor, view_id)
