"""Saved list views: a name for a search, its filters, sort and columns; private to their owner
or shared with everyone who may read the records (sharing a view never widens what a reader sees:
each reader gets only the columns their clearance shows)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.models import SavedView
from loopcrm.modules.customers.schemas import SavedViewCreate, SavedViewOut
from loopcrm.modules.customers.service import list_columns
from loopcrm.platform.errors import NotFound, PermissionDenied, ValidationFailed
from loopcrm.platform.listing import parse_condition, parse_sort
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork


def _out(view: SavedView, columns: list[str]) -> SavedViewOut:
    definition = view.definition or {}
    return SavedViewOut(
        id=view.id,
        record_kind=view.record_kind,  # type: ignore[arg-type]
        name=view.name,
        owner_id=view.owner_id,
        is_shared=view.is_shared,
        filters=list(definition.get("filters", [])),
        sort=definition.get("sort"),
        columns=columns,
        q=definition.get("q"),
        version=view.version,
    )


def load_view(session: Session, actor: Actor, view_id: str, record_kind: str) -> SavedView:
    """A view the actor owns or that is shared, of the given kind of record."""
    view = session.get(SavedView, view_id)
    if (
        view is None
        or view.record_kind != record_kind
        or not (view.is_shared or view.owner_id == actor.user_id)
    ):
        raise ValidationFailed.single("view_id", "No saved view has this id", "unknown_view")
    return view


def save_view(uow: UnitOfWork, actor: Actor, data: SavedViewCreate) -> SavedViewOut:
    """Save the current filters, sort and columns as a named view; they are checked now, not when
    first used (columns as :func:`list_columns.check_columns` does: known and within clearance)."""
    if actor.user_id is None:
        raise PermissionDenied()
    for index, text in enumerate(data.filters):
        parse_condition(text, parameter=f"filters.{index}")
    parse_sort(data.sort)
    with uow:
        columns = list_columns.check_columns(uow.session, actor, data.record_kind.value, data.columns)
        taken = uow.session.scalar(
            select(SavedView.id).where(
                SavedView.owner_id == actor.user_id,
                SavedView.record_kind == data.record_kind.value,
                SavedView.name == data.name,
            )
        )
        if taken:
            raise ValidationFailed.single("name", "You already have a view with this name", "duplicate")
        view = SavedView(
            record_kind=data.record_kind.value,
            name=data.name,
            owner_id=actor.user_id,
            is_shared=data.is_shared,
            definition={"filters": data.filters, "sort": data.sort, "columns": columns, "q": data.q},
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(view)
        uow.session.flush()
        result = _out(view, columns)
        uow.commit()
        return result


def list_views(uow: UnitOfWork, actor: Actor, record_kind: str) -> list[SavedViewOut]:
    """The actor's own views and the shared ones, by name, each with the columns this actor may see."""
    with uow:
        readable = set(list_columns.readable_columns(uow.session, actor, record_kind))
        views = uow.session.scalars(
            select(SavedView)
            .where(
                SavedView.record_kind == record_kind,
                or_(SavedView.owner_id == actor.user_id, SavedView.is_shared.is_(True)),
            )
            .order_by(SavedView.name)
        )
        return [_out(view, _shown(view, record_kind, readable)) for view in views]


def _shown(view: SavedView, record_kind: str, readable: set[str]) -> list[str]:
    """A view's columns without those above the reader's clearance or of custom fields archived
    since it was saved: opening a shared view never fails for a reader cleared lower."""
    columns = [column for column in (view.definition or {}).get("columns", []) if column in readable]
    return list_columns.ordered(record_kind, columns) if columns else []


def delete_view(uow: UnitOfWork, actor: Actor, view_id: str) -> None:
    """Only the owner deletes a view (an admin too, for shared views left behind)."""
    with uow:
        view = uow.session.get(SavedView, view_id)
        if view is None or not (view.is_shared or view.owner_id == actor.user_id):
            raise NotFound("Saved view not found")
        if view.owner_id != actor.user_id and actor.role_key != "admin":
            raise PermissionDenied()
        uow.session.delete(view)
        uow.commit()
