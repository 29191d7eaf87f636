"""Who may import, see and undo imports, and how a run is shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from loopcrm.modules.customers.models import ImportRun
from loopcrm.modules.customers.service.imports.contracts import ImportRunOut
from loopcrm.platform.errors import NotFound
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import (
    Action,
    Actor,
    ObjectType,
    Scope,
    can_reach_record,
    register_object_type,
    require,
)

# An import belongs to whoever ran it: reps, marketers and service agents see and undo their
# own, managers their team's, admins everyone's. Running one also needs the right to create
# the records it imports (checked per kind).
_OWN = {Action.CREATE: Scope.OWN, Action.READ: Scope.OWN, Action.UPDATE: Scope.OWN}
IMPORT = register_object_type(
    ObjectType(
        key="customer_import",
        label=N_("Customer imports"),
        default_grants={
            "admin": {action: Scope.ALL for action in Action},
            "sales_manager": {Action.CREATE: Scope.OWN, Action.READ: Scope.TEAM, Action.UPDATE: Scope.TEAM},
            "sales_rep": _OWN,
            "marketer": _OWN,
            "service_agent": _OWN,
        },
    )
)


def load_run(
    session: Any, actor: Actor, run_id: str, action: Action, *, for_update: bool = False
) -> ImportRun:
    """The run if the actor may reach it for ``action``; another's run is "not found"."""
    require(actor, IMPORT.key, action)
    statement = select(ImportRun).where(ImportRun.id == run_id)
    if for_update:
        statement = statement.with_for_update()
    run = session.scalar(statement)
    if run is None or not can_reach_record(actor, IMPORT.key, action, owner_id=run.created_by):
        raise NotFound("Import not found")
    return run


def run_out(run: ImportRun) -> ImportRunOut:
    error = run.error
    message = None
    if error:
        try:
            message = str(error["message"]).format(**error.get("params", {}))
        except (KeyError, IndexError, ValueError):
            message = str(error.get("message"))
    return ImportRunOut(
        id=run.id,
        record_kind=run.record_kind,  # type: ignore[arg-type]
        file_name=run.file_name,
        file_format=run.file_format,
        encoding=run.encoding,
        file_size=run.file_size,
        headers=list(run.headers),
        mapping=list(run.mapping),
        upsert_key=run.upsert_key,  # type: ignore[arg-type]
        status=run.status,  # type: ignore[arg-type]
        total_rows=run.total_rows,
        processed_rows=run.processed_rows,
        created_count=run.created_count,
        updated_count=run.updated_count,
        unchanged_count=run.unchanged_count,
        rejected_count=run.rejected_count,
        warning_count=run.warning_count,
        reversed_count=run.reversed_count,
        undo_skipped_count=run.undo_skipped_count,
        error=message,
        error_message_id=error["message"] if error else None,
        error_params=dict(error.get("params", {})) if error else {},
        created_by=run.created_by,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        undone_by=run.undone_by,
        undone_at=run.undone_at,
    )
