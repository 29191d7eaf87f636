"""REST routes of saved list views: named filters, sort and columns, private or shared.

Use a view by passing its id as ``view_id`` to ``GET /accounts`` or ``GET /contacts``; its
``columns`` are the ones ``GET /saved-views/columns`` offers (the export of a view uses them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import ListColumnsOut, SavedViewCreate, SavedViewOut
from loopcrm.modules.customers.service import list_columns
from loopcrm.platform.http.concurrency import with_etag
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


@router.get("/saved-views/columns", response_model=ListColumnsOut)
def list_view_columns(
    actor: CurrentActor,
    uow: Uow,
    record_kind: Annotated[RecordKind, Query(description="columns of account or contact lists")],
) -> ListColumnsOut:
    """The columns you may choose for a view (never a field above your clearance), and the
    default ones a view without ``columns`` shows."""
    return list_columns.list_column_choices(uow, actor, record_kind)


@router.post("/saved-views", response_model=SavedViewOut, status_code=status.HTTP_201_CREATED)
def create_saved_view(
    data: SavedViewCreate, actor: CurrentActor, uow: Uow, response: Response
) -> SavedViewOut:
    """Save filters, sort and columns under a name; ``is_shared`` offers it to everyone. An unknown
    column, or one above your clearance, is refused (422, one entry of ``errors`` per column)."""
    return with_etag(response, customers.save_view(uow, actor, data), created_in="/api/v1/saved-views")


@router.delete("/saved-views/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved_view(view_id: str, actor: CurrentActor, uow: Uow) -> None:
    """Only the owner deletes a view (an admin may delete a shared one)."""
    customers.delete_view(uow, actor, view_id)
